"""Projects for the tests: certified apps written straight to the database (certification
itself is tested in tests/api/test_certification.py) and a project of alpha's."""

from datetime import date

from sqlalchemy.orm import Session

from icity.db.models import App, ProjectApp
from icity.services import audit, owners, projects
from tests.people import Person


def certified_app(session: Session, owner: Person, name: str, entity_types: list[str]) -> App:
    app = App(
        organisation_id=owner.user.organisation_id, created_by=owner.user.id, name=name,
        description=f"{name} for tests", entity_types=entity_types, certification="certified",
    )  # fmt: skip
    session.add(app)
    session.flush()
    return app


def member_owner(session: Session, owner_id: str, name: str) -> str:
    """An infrastructure owner that is a member of the network."""
    admin = audit.actor_named("tests")
    owners.create_owner(session, admin, id=owner_id, name=name, kind="transport_operator", country="ES")
    owners.change_membership(
        session, admin, owner_id, to_membership="member", effective_on=date(2014, 6, 1),
        evidence_kind="letter_of_commitment", evidence=f"{name}'s letter of commitment",
    )  # fmt: skip
    return owner_id


def matrix_project(session: Session, developer_app_id: int) -> dict[str, int | str]:
    """alpha's project 'clean-air' with one of the developer's certified apps attached and one owner
    as partner; a second certified app of theirs and a second owner not in it yet: the ids the
    authorisation matrix needs."""
    template = session.get(App, developer_app_id)
    make = lambda name: App(  # noqa: E731
        organisation_id=template.organisation_id, created_by=template.created_by, name=name,
        entity_types=["AirQualityObserved"], certification="certified",
    )  # fmt: skip
    attached, free = make("Clean air map"), make("School routes")
    session.add_all([attached, free])
    session.flush()
    admin = audit.actor_named("tests")
    projects.create_project(session, admin, slug="clean-air", name="Clean air", entity_types=["AirQualityObserved"], city="alpha")
    session.add(ProjectApp(project_id=projects.get_project_row(session, "clean-air").id, app_id=attached.id))
    partner = member_owner(session, "alpha-buses", "Alpha Buses")
    projects.add_partner(session, admin, "clean-air", owner=partner)
    candidate = member_owner(session, "alpha-tram", "Alpha Tram")
    session.flush()
    return {
        "project": "clean-air", "attached_app": attached.id, "certified_app": free.id,
        "partner_owner": partner, "candidate_owner": candidate,
    }  # fmt: skip
