"""The project page's forms over HTTP (no browser): only the project's managers add cities and
only developers attach their own certified apps; a refused or forged form writes nothing."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import AuditEvent, ProjectApp, ProjectMember
from icity.services import audit, projects
from tests import people
from tests.api.project_world import certified_app

PATH = "/projects/clean-air"


@pytest.fixture
def site(network_copy):
    with transaction(network_copy) as session:
        projects.create_project(
            session, audit.actor_named("tests"), slug="clean-air", name="Clean air", entity_types=["AirQualityObserved"], city="alpha"
        )
        tokens = {
            "alpha": people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",)).token,
            "beta": people.person(session, "admin@beta.example", role="city_admin", cities=("beta",)).token,
        }
        developer = people.person(session, "dev@air.example")
        tokens["developer"] = developer.token
        app_id = certified_app(session, developer, "Breathe", ["AirQualityObserved"]).id
    return network_copy, tokens, app_id


def client(url: str, token: str | None = None) -> TestClient:
    c = TestClient(create_app(url))
    if token:
        c.cookies.set("icity_session", token)
    return c


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def written(url: str) -> tuple[int, ...]:
    with new_session(url) as session:
        return tuple(session.scalar(select(func.count()).select_from(t)) for t in (ProjectMember, ProjectApp, AuditEvent))


def test_forms_show_to_who_may_use_them(site):
    url, tokens, app_id = site
    assert 'data-testid="member-form"' not in client(url).get(PATH).text
    assert 'data-testid="member-form"' not in client(url, tokens["beta"]).get(PATH).text  # beta is not a member
    alpha = client(url, tokens["alpha"]).get(PATH).text
    assert 'data-testid="member-form"' in alpha and 'data-testid="app-form"' not in alpha
    assert f'<option value="{app_id}">Breathe</option>' in client(url, tokens["developer"]).get(PATH).text


def test_a_city_admin_of_no_member_city_is_refused_and_nothing_is_written(site):
    url, tokens, _ = site
    beta = client(url, tokens["beta"])
    before = written(url)
    refused = beta.post(f"{PATH}/members", data={"csrf_token": csrf(beta.get(PATH).text), "city": "beta"})
    assert refused.status_code == 403
    assert "none of your cities is a member" in refused.text
    assert written(url) == before


def test_a_forged_form_and_an_unknown_city_write_nothing(site):
    url, tokens, _ = site
    alpha = client(url, tokens["alpha"])
    before = written(url)
    assert alpha.post(f"{PATH}/members", data={"csrf_token": "forged", "city": "beta"}).status_code == 403
    unknown = alpha.post(f"{PATH}/members", data={"csrf_token": csrf(alpha.get(PATH).text), "city": "atlantis"})
    assert unknown.status_code == 422 and "No city &#39;atlantis&#39;" in unknown.text
    assert written(url) == before
    added = alpha.post(f"{PATH}/members", data={"csrf_token": csrf(alpha.get(PATH).text), "city": "beta"}, follow_redirects=False)
    assert (added.status_code, added.headers["location"]) == (303, f"{PATH}?done=member#members-heading")


def test_a_developer_attaches_their_app_and_a_city_admin_cannot(site):
    url, tokens, app_id = site
    alpha = client(url, tokens["alpha"])
    before = written(url)
    refused = alpha.post(f"{PATH}/apps", data={"csrf_token": csrf(alpha.get(PATH).text), "app": str(app_id)})
    assert refused.status_code == 403 and written(url) == before
    dev = client(url, tokens["developer"])
    attached = dev.post(f"{PATH}/apps", data={"csrf_token": csrf(dev.get(PATH).text), "app": str(app_id)}, follow_redirects=False)
    assert attached.status_code == 303
    assert 'data-app="Breathe"' in dev.get(PATH).text
