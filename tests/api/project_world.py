"""Projects for the tests: certified apps written straight to the database (certification
itself is tested in tests/api/test_certification.py) and a project of alpha's."""

from sqlalchemy.orm import Session

from icity.db.models import App, ProjectApp
from icity.services import audit, projects
from tests.people import Person


def certified_app(session: Session, owner: Person, name: str, entity_types: list[str]) -> App:
    app = App(
        organisation_id=owner.user.organisation_id, created_by=owner.user.id, name=name,
        description=f"{name} for tests", entity_types=entity_types, certification="certified",
    )  # fmt: skip
    session.add(app)
    session.flush()
    return app


def matrix_project(session: Session, developer_app_id: int) -> dict[str, int | str]:
    """alpha's project 'clean-air' with one of the developer's certified apps attached, and a
    second certified app of theirs not attached yet: the ids the authorisation matrix needs."""
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
    session.flush()
    return {"project": "clean-air", "attached_app": attached.id, "certified_app": free.id}
