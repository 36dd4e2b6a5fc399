"""/manage/service-requests over HTTP (no browser): alpha's admin sees alpha's open requests and closes
one with a note; another city's admin and a developer change nothing; a forged form changes nothing."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from icity.app import create_app
from icity.db.engine import new_session
from icity.db.models import Entity

pytestmark = pytest.mark.postgres_ok
PAGE = "/manage/service-requests"


def browser(db_url: str, token: str | None = None) -> TestClient:
    client = TestClient(create_app(db_url), headers={"Accept": "text/html"})
    if token:
        client.cookies.set("icity_session", token)
    return client


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def status_of(db_url: str, local: str) -> dict:
    with new_session(db_url) as session:
        return session.get(Entity, f"urn:ngsi-ld:service_requests:alpha:{local}").attributes


def test_a_city_admin_closes_a_request_with_a_note(db_url, world):
    admin = browser(db_url, world.admin.token)
    page = admin.get(PAGE)
    assert page.status_code == 200 and "Service requests of alpha" in page.text
    assert re.findall(r'<article class="request" id="request-([^"]+)"', page.text) == ["R-1"]
    closed = admin.post(f"{PAGE}/alpha/R-1", data={"csrf_token": csrf(page.text), "status": "closed",
                                                    "status_notes": "Filled", "agency_responsible": "Roads"},
                        follow_redirects=False)  # fmt: skip
    assert closed.status_code == 303
    after = admin.get(closed.headers["location"])
    assert "Request R-1 is updated" in after.text and "No request is open" in after.text
    assert status_of(db_url, "r1")["status"] == "closed" and status_of(db_url, "r1")["status_notes"] == "Filled"


def test_bad_changes_and_other_people_change_nothing(db_url, world):
    admin = browser(db_url, world.admin.token)
    token = csrf(admin.get(PAGE).text)
    bad = admin.post(f"{PAGE}/alpha/R-1", data={"csrf_token": token, "status": "closed", "expected_datetime": "soon"})
    assert bad.status_code == 400 and "expected_datetime must be a W3C date-time" in bad.text and "Nothing was changed" in bad.text
    forged = admin.post(f"{PAGE}/alpha/R-1", data={"csrf_token": "forged", "status": "closed"})
    assert forged.status_code == 403
    other = browser(db_url, world.other_admin.token)
    assert "Service requests of beta" in other.get(PAGE).text
    refused = other.post(f"{PAGE}/alpha/R-1", data={"csrf_token": csrf(other.get(PAGE).text), "status": "closed"})
    assert refused.status_code == 403 and "Only the admins of alpha" in refused.text
    assert browser(db_url, world.developer.token).get(PAGE).status_code == 403
    assert browser(db_url).get(PAGE, follow_redirects=False).status_code == 303
    assert status_of(db_url, "r1")["status"] == "open"
