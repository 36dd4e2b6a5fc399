from datetime import date

import pytest
from sqlalchemy import func, select

from icity.db.models import AuditEvent, EngagementAction, LevelChange
from icity.errors import ICityError
from icity.services import audit, catalogue, cities
from icity.services.access import ANONYMOUS, CLI, Principal


@pytest.fixture
def cornella(session):
    cities.create_city(session, CLI, id="cornella", name="Cornellà de Llobregat", country="es", lon=2.07, lat=41.355, bbox=[2.05, 41.34, 2.10, 41.37])
    catalogue.create_information_system(session, city_id="cornella", slug="agenda", name="City Agenda", category="e-government", entity_types=["Event"])
    session.commit()
    return "cornella"


def move(session, city, level, kind, on=date(2014, 5, 1)):
    return cities.change_level(session, audit.actor_named("coordinator"), city, to_level=level, effective_on=on, evidence_kind=kind, evidence="signed")


def test_new_city_is_a_prospect(session, cornella):
    assert cities.get_city(session, cornella)["level"] == "prospect"


@pytest.mark.parametrize("level", ["prospect", "sig"])
@pytest.mark.parametrize("status", ["trial", "open"])
def test_city_below_pilot_cannot_open_an_is(session, cornella, level, status):
    if level == "sig":
        move(session, cornella, "sig", "letter_of_commitment")
        session.commit()
    with pytest.raises(ICityError) as refused:
        catalogue.set_status(session, "cornella/agenda", status)
    session.rollback()
    assert refused.value.status == 409 and refused.value.code == "city-level-too-low"
    assert "pilot" in refused.value.detail and "technical_trial" in refused.value.detail  # says what to do
    assert catalogue.get_system_row(session, "cornella/agenda").status == "draft"


def test_pilot_city_opens_an_is(session, cornella):
    move(session, cornella, "sig", "letter_of_commitment", date(2014, 4, 2))
    move(session, cornella, "pilot", "technical_trial", date(2014, 9, 1))
    system = catalogue.set_status(session, "cornella/agenda", "open")
    assert system.status == "open" and system.opened_at is not None


def test_level_history_is_kept_dated_and_attributed(session, cornella):
    move(session, cornella, "sig", "letter_of_commitment", date(2014, 4, 2))
    move(session, cornella, "pilot", "technical_trial", date(2014, 9, 1))
    history = cities.get_city(session, cornella)["levelHistory"]
    assert [(h["from"], h["to"], h["effectiveOn"], h["evidenceKind"], h["recordedBy"]) for h in history] == [
        ("prospect", "sig", "2014-04-02", "letter_of_commitment", "coordinator"),
        ("sig", "pilot", "2014-09-01", "technical_trial", "coordinator"),
    ]


@pytest.mark.parametrize(
    ("level", "kind", "field"),
    [
        ("mayor", "letter_of_commitment", "level"),
        ("sig", "consortium_agreement", "evidenceKind"),
        ("consortium", "technical_trial", "evidenceKind"),
    ],
)
def test_bad_level_changes_are_refused_and_write_nothing(session, cornella, level, kind, field):
    with pytest.raises(ICityError) as refused:
        move(session, cornella, level, kind)
    session.rollback()
    assert refused.value.errors[0].path == field
    assert session.scalar(select(func.count()).select_from(LevelChange)) == 0
    assert cities.get_city(session, cornella)["level"] == "prospect"


def test_empty_evidence_is_refused(session, cornella):
    with pytest.raises(ICityError) as refused:
        cities.change_level(session, audit.actor_named("x"), cornella, to_level="sig", effective_on=date(2014, 4, 2), evidence_kind="letter_of_commitment", evidence=" ")
    assert refused.value.param == "evidence"


def test_city_with_open_systems_cannot_drop_below_pilot(session, cornella):
    move(session, cornella, "pilot", "technical_trial")
    catalogue.set_status(session, "cornella/agenda", "trial")
    with pytest.raises(ICityError) as refused:
        move(session, cornella, "sig", "letter_of_commitment")
    assert refused.value.code == "city-has-open-systems" and "retire" in refused.value.detail


def test_overdue_follow_ups_list_cities_with_late_next_steps(session, cornella):
    cities.create_city(session, CLI, id="torino", name="Torino", country="it", lon=7.68, lat=45.07, bbox=[7.57, 45.0, 7.77, 45.14])
    late = cities.add_engagement_action(session, audit.actor_named("c"), "torino", kind="presentation", title="Platform presentation", happened_on=date(2014, 6, 12), outcome="interested", next_step="Send letter", next_step_due=date(2014, 7, 1))
    cities.add_engagement_action(session, audit.actor_named("c"), "cornella", kind="meeting", title="Citilab", happened_on=date(2014, 6, 1), next_step="Trial", next_step_due=date(2014, 12, 1))
    done = cities.add_engagement_action(session, audit.actor_named("c"), "cornella", kind="letter_sent", title="Letter", happened_on=date(2014, 3, 1), next_step="Get it signed", next_step_due=date(2014, 4, 1))
    cities.complete_next_step(session, audit.actor_named("c"), done.id)
    follow_ups = cities.overdue_follow_ups(session, today=date(2014, 9, 1))
    assert [(f["city"], f["daysOverdue"]) for f in follow_ups] == [("torino", 62)]
    assert follow_ups[0]["overdueActions"][0]["id"] == late.id
    assert cities.overdue_follow_ups(session, today=date(2015, 1, 1))[1]["city"] == "cornella"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "party"}, "kind"),
        ({"title": ""}, "title"),
        ({"next_step": None, "next_step_due": date(2014, 7, 1)}, "nextStep"),
        ({"next_step_due": date(2013, 1, 1)}, "nextStepDue"),
    ],
)
def test_bad_engagement_actions_are_refused(session, cornella, changes, field):
    action = dict(kind="meeting", title="Meeting", happened_on=date(2014, 6, 1), next_step="Call", next_step_due=date(2014, 7, 1))
    with pytest.raises(ICityError) as refused:
        cities.add_engagement_action(session, audit.actor_named("c"), cornella, **{**action, **changes})
    session.rollback()
    assert refused.value.errors[0].path == field
    assert session.scalar(select(func.count()).select_from(EngagementAction)) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"lon": 200.0}, "lon"), ({"bbox": [0, 0, 1, 1]}, "bbox")],
)
def test_bad_cities_are_refused(session, changes, field):
    city = dict(id="x", name="X", country="es", lon=2.0, lat=41.0, bbox=[1.9, 40.9, 2.1, 41.1])
    with pytest.raises(ICityError) as refused:
        cities.create_city(session, CLI, **{**city, **changes})
    assert refused.value.errors[0].path == field


def test_a_level_change_cannot_predate_the_last_one(session, cornella):
    move(session, cornella, "sig", "letter_of_commitment", date(2014, 4, 2))
    with pytest.raises(ICityError) as refused:
        move(session, cornella, "pilot", "technical_trial", date(2014, 1, 1))
    assert refused.value.param == "effectiveOn" and "2014-04-02" in refused.value.detail


def test_the_pipeline_puts_every_city_at_its_stage_with_the_change_that_brought_it_there(session, cornella):
    cities.create_city(session, CLI, id="torino", name="Torino", country="it", lon=7.68, lat=45.07, bbox=[7.57, 45.0, 7.77, 45.14])
    move(session, cornella, "sig", "letter_of_commitment", on=date(2014, 4, 2))
    move(session, cornella, "pilot", "technical_trial", on=date(2014, 6, 2))
    later = cities.add_engagement_action(session, audit.actor_named("c"), "torino", kind="call", title="Call", happened_on=date(2014, 6, 1), next_step="Letter", next_step_due=date(2014, 9, 1))
    sooner = cities.add_engagement_action(session, audit.actor_named("c"), "torino", kind="event", title="Forum", happened_on=date(2014, 4, 3), next_step="Pack", next_step_due=date(2014, 5, 1))
    cities.add_engagement_action(session, audit.actor_named("c"), "torino", kind="meeting", title="Undated", happened_on=date(2014, 4, 3), next_step="Some day")
    stages = cities.pipeline(session, today=date(2014, 7, 1))
    assert list(stages) == list(cities.LEVELS)
    assert [c["id"] for c in stages["pilot"]] == ["cornella"] and stages["sig"] == [] and stages["consortium"] == []
    assert stages["pilot"][0]["since"]["to"] == "pilot" and stages["pilot"][0]["since"]["effectiveOn"] == "2014-06-02"
    assert stages["pilot"][0]["nextStep"] is None
    [torino] = stages["prospect"]
    assert torino["since"] is None  # never moved: no letter yet
    assert torino["nextStep"]["id"] == sooner.id and torino["nextStep"]["overdue"]  # the earliest due first, undated last
    cities.complete_next_step(session, audit.actor_named("c"), sooner.id)
    assert cities.pipeline(session, today=date(2014, 7, 1))["prospect"][0]["nextStep"]["id"] == later.id


DEVELOPER = Principal(kind="user", email="ada@dev.example", role="developer", approved=True)
CITY_ADMIN = Principal(kind="user", email="admin@cornella.example", role="city_admin", approved=True, city_ids=frozenset({"cornella"}))


@pytest.mark.parametrize(("who", "status"), [(ANONYMOUS, 401), (DEVELOPER, 403), (CITY_ADMIN, 403)])
def test_only_the_platform_admin_changes_the_network(session, cornella, who, status):
    action = cities.add_engagement_action(session, CLI, cornella, kind="call", title="Call", happened_on=date(2014, 6, 1), next_step="Letter")
    session.commit()
    writes = [
        lambda: cities.change_level(session, who, cornella, to_level="sig", effective_on=date(2014, 6, 2), evidence_kind="letter_of_commitment", evidence="signed"),
        lambda: cities.add_engagement_action(session, who, cornella, kind="call", title="Another call", happened_on=date(2014, 6, 2)),
        lambda: cities.complete_next_step(session, who, action.id),
    ]
    for write in writes:
        with pytest.raises(ICityError) as refused:
            write()
        session.rollback()
        assert refused.value.status == status
    assert session.scalar(select(func.count()).select_from(LevelChange)) == 0
    assert session.scalar(select(func.count()).select_from(EngagementAction)) == 1
    assert session.get(EngagementAction, action.id).next_step_done is False


def test_actions_and_done_next_steps_are_audited_and_attributed(session, cornella):
    coordinator = audit.actor_named("coordinator")
    action = cities.add_engagement_action(session, coordinator, cornella, kind="meeting", title="Citilab", happened_on=date(2014, 6, 1), next_step="Trial", next_step_due=date(2014, 9, 1))
    cities.complete_next_step(session, coordinator, action.id, city_id=cornella)
    cities.complete_next_step(session, coordinator, action.id)  # again: nothing more to record
    events = session.scalars(select(AuditEvent).where(AuditEvent.target_type == "engagement_action").order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor, e.target_id, e.city_id) for e in events] == [
        ("city.engagement_action_recorded", "coordinator", str(action.id), cornella),
        ("city.next_step_done", "coordinator", str(action.id), cornella),
    ]
    assert events[0].details == {"kind": "meeting", "happenedOn": "2014-06-01", "nextStepDue": "2014-09-01"}
    assert action.recorded_by == "coordinator" and action.next_step_done


def test_a_next_step_is_found_only_in_its_own_city(session, cornella):
    cities.create_city(session, CLI, id="torino", name="Torino", country="it", lon=7.68, lat=45.07, bbox=[7.57, 45.0, 7.77, 45.14])
    action = cities.add_engagement_action(session, CLI, "torino", kind="call", title="Call", happened_on=date(2014, 6, 1), next_step="Letter")
    session.commit()
    for city_id, action_id in ((cornella, action.id), ("torino", action.id + 1)):
        with pytest.raises(ICityError) as refused:
            cities.complete_next_step(session, CLI, action_id, city_id=city_id)
        assert refused.value.status == 404 and refused.value.param == "action_id"
    assert session.get(EngagementAction, action.id).next_step_done is False


def test_an_action_without_a_next_step_has_none_to_mark_done(session, cornella):
    action = cities.add_engagement_action(session, CLI, cornella, kind="event", title="Forum", happened_on=date(2014, 4, 3))
    with pytest.raises(ICityError) as refused:
        cities.complete_next_step(session, CLI, action.id)
    assert refused.value.status == 409


def test_a_city_admin_manages_their_own_cities_and_the_platform_admin_every_one(session, cornella):
    cities.create_city(session, CLI, id="lamia", name="Lamía", country="gr", lon=22.43, lat=38.90, bbox=[22.38, 38.87, 22.47, 38.93])
    admin = Principal(kind="user", email="coordinator@icity.example", role="admin", approved=True)
    assert cities.managed_cities(session, CITY_ADMIN) == [{"id": "cornella", "name": "Cornellà de Llobregat"}]
    assert [c["id"] for c in cities.managed_cities(session, admin)] == ["cornella", "lamia"]  # by name
    for who in (DEVELOPER, ANONYMOUS):
        with pytest.raises(ICityError):
            cities.managed_cities(session, who)
