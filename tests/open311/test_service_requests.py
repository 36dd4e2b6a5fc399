"""The city's queue and status changes (services/service_requests.py), for the /manage page built on them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from icity.db.engine import transaction
from icity.db.models import AuditEvent, Observation
from icity.errors import ICityError
from icity.services import authentication, service_requests
from icity.services.access import CLI

pytestmark = pytest.mark.postgres_ok


def principal(session, person):
    return authentication.principal_for(session, person.token)


def test_the_queue_lists_open_requests_oldest_first_for_the_city_admins(db_url, world):
    with transaction(db_url) as session:
        admin = principal(session, world.admin)
        assert [r["service_request_id"] for r in service_requests.queue(session, admin, "alpha")] == ["R-1"]
        assert [r["service_request_id"] for r in service_requests.queue(session, admin, "alpha", status=None)] == ["R-3", "R-2", "R-1"]
        assert [r["service_request_id"] for r in service_requests.queue(session, CLI, "beta", status="closed")] == ["R-3", "R-2"]


@pytest.mark.parametrize("who", ["other_admin", "developer"])
def test_others_see_no_queue_and_change_nothing(db_url, world, who):
    with transaction(db_url) as session:
        caller = principal(session, getattr(world, who))
        with pytest.raises(ICityError) as refused:
            service_requests.queue(session, caller, "alpha")
        assert refused.value.status == 403
        with pytest.raises(ICityError) as refused:
            service_requests.update_status(session, caller, "alpha", "R-1", "closed", "Fixed")
        assert refused.value.status == 403
    with transaction(db_url) as session:
        from icity.db.models import InformationSystem

        system = session.get(InformationSystem, "alpha/incidents")
        assert service_requests.get_request(session, system, "R-1")["status"] == "open"


def test_a_status_change_is_stored_historised_logged_and_audited(db_url, world):
    with transaction(db_url) as session:
        admin = principal(session, world.admin)
        changed = service_requests.update_status(
            session, admin, "alpha", "R-1", "closed", "Filled with asphalt", "Roads department", "2026-12-24T09:00:00+01:00"
        )
    assert changed["status"] == "closed" and changed["status_notes"] == "Filled with asphalt"
    assert changed["agency_responsible"] == "Roads department"
    assert changed["expected_datetime"] == "2026-12-24T08:00:00Z"
    assert changed["updated_datetime"] > changed["requested_datetime"]
    with transaction(db_url) as session:
        entity_id = "urn:ngsi-ld:service_requests:alpha:r1"
        statuses = session.scalars(select(Observation.value).where(Observation.entity_id == entity_id, Observation.attribute == "status"))
        assert "closed" in list(statuses)
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "service_request.status_changed")).one()
        assert event.actor == "admin@alpha.example" and event.target_id == "R-1"
        assert event.details["status_notes"] == "Filled with asphalt"


def test_bad_status_changes_are_refused(db_url, world):
    with transaction(db_url) as session:
        admin = principal(session, world.admin)
        for args, status in ((("R-1", "pending"), 400), (("R-404", "closed"), 404)):
            with pytest.raises(ICityError) as refused:
                service_requests.update_status(session, admin, "alpha", *args)
            assert refused.value.status == status
        with pytest.raises(ICityError) as refused:
            service_requests.update_status(session, admin, "alpha", "R-1", "closed", expected_datetime="soon")
        assert refused.value.status == 400
