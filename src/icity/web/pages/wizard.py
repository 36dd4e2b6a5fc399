"""Opening an information system, in the API's two steps: register it (a draft that only
its publisher's admins see — the city's, or an infrastructure owner's, which picks the city
where it lies), then set up its source — connector, mapping, schedule — with a
preview that reads the source and saves nothing. Saving stores the source, starts the
first harvest and, if asked, puts the IS in trial or open; the services refuse that
below level pilot, and then nothing of the save is written.

Forms are checked with the API's own schemas (SystemIn, PreviewIn, SourceIn, StatusIn)
and then by the same service calls as the API, so both accept the same things."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from icity.api.deps import SessionDep, TransactionDep, after_response
from icity.api.source_schemas import PreviewIn, SourceIn, StatusIn, SystemIn
from icity.datamodels import get_registry
from icity.errors import ICityError
from icity.services import catalogue, cities, harvest, owners, sources
from icity.services.access import Principal, require_any_admin
from icity.web import session as web_session
from icity.web import source_examples
from icity.web.forms import json_object, problems
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

PREVIEW_ROWS = 20
OPENING_STATUSES = ("draft", "trial", "open")  # what the wizard offers; retiring is on the IS's page
SYSTEM_LABELS = {
    "city": "City", "owner": "Published by", "owner_id": "Published by", "slug": "Short name", "name": "Name",
    "category": "Category", "entityTypes": "Entity type", "description": "Description", "accessPolicy": "Access policy", "licence": "Licence", "provider": "Provider",
    "documentationUrl": "Documentation URL",
}  # fmt: skip
SOURCE_LABELS = {
    "connector": "Connector settings", "connector.kind": "Connector kind", "connector.url": "Source URL",
    "settings": "Connector settings", "mapping": "Mapping", "schedule": "Schedule", "status": "Status after saving",
    "retireMissing": "Entities gone from the source",
}  # fmt: skip


# ---- step 1: register ---------------------------------------------------------------------


def _publishing_owners(session: Session, viewer: Principal) -> list[dict[str, Any]]:
    """The owners the viewer registers IS for: an owner admin's own; every owner for the platform admin
    (an applicant may register drafts; the services refuse opening them)."""
    if viewer.role == "owner_admin":
        return [o for o in owners.list_owners(session, viewer) if o["id"] in viewer.owner_ids]
    if viewer.is_admin:
        return owners.list_owners(session, viewer)
    return []


def _system_form(request: Request, session: Session, viewer: Principal, status_code: int = 200, **extra: Any):
    require_any_admin(viewer)  # as managed_cities does: developers and the unapproved are refused
    if viewer.role == "owner_admin":  # an owner's IS lies in any city of the network
        where = cities.list_cities(session, level="all", limit=1000, cursor=None).items
    else:
        where = cities.managed_cities(session, viewer)
    return render(
        request,
        "manage/new_system.html",
        status_code=status_code,
        cities=sorted(where, key=lambda c: c["name"]),
        owners=_publishing_owners(session, viewer),
        categories=catalogue.list_categories(session),
        entity_types=get_registry().names(),
        policies=catalogue.ACCESS_POLICIES,
        posted=extra.pop("posted", {}),
        **extra,
    )


@router.get("/manage/new")
def new_system(request: Request, viewer: ViewerDep, session: SessionDep, city: str = "", owner: str = ""):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _system_form(request, session, viewer, posted={"city": city, "owner": owner})


class SystemForm(BaseModel):
    """The registration form as posted; SystemIn then checks it as the API does."""

    city: str = ""
    owner: str = ""  # an infrastructure owner publishing it; blank: the city publishes it
    slug: str = ""
    name: str = ""
    description: str = ""
    category: str = ""
    entity_type: str = ""
    licence: str = ""
    provider: str = ""
    access_policy: str = "public"
    documentation_url: str = ""


@router.post("/manage/new", dependencies=[Depends(web_session.check_csrf)])
def register_system(request: Request, viewer: ViewerDep, session: TransactionDep, form: Annotated[SystemForm, Form()]):
    posted = form.model_dump()
    try:
        entity_type = form.entity_type.strip()
        body = SystemIn.model_validate(
            {
                "slug": form.slug.strip(), "name": form.name, "category": form.category, "description": form.description.strip(),
                "entityTypes": [entity_type] if entity_type else [], "accessPolicy": form.access_policy,
                "licence": form.licence.strip(), "provider": form.provider.strip(),
                "documentationUrl": form.documentation_url.strip() or None,
            }
        )  # fmt: skip
        system = catalogue.register_system(
            session, viewer, form.city, owner_id=form.owner.strip() or None, slug=body.slug, **body.model_dump(exclude={"slug"})
        )
    except (ValidationError, ICityError) as error:
        session.rollback()  # a refused registration writes nothing
        status = error.status if isinstance(error, ICityError) else 400
        return _system_form(request, session, viewer, status, errors=problems(error, SYSTEM_LABELS), posted=posted)
    return RedirectResponse(f"/manage/information-systems/{system['id']}/source?registered=1", status_code=303)


# ---- step 2: the source, its preview, saving ------------------------------------------------------


def _stored_form(source: dict[str, Any], entity_type: str) -> dict[str, str]:
    """The form as the stored source fills it, or the csv example when none is set up yet."""
    connector = dict(source["connector"] or {})
    kind = connector.pop("kind", "csv")
    url = connector.pop("url", "")
    if source["connector"] is None:
        connector = source_examples.settings_example(kind, entity_type)
        mapping = source_examples.pretty(source_examples.mapping_example(kind, entity_type))
    else:
        mapping = source_examples.pretty(source["mapping"])  # empty: the connector's standard mapping
    return {
        "kind": kind, "url": url, "settings": source_examples.pretty(connector), "mapping": mapping,
        "schedule": source["schedule"] or "", "retire_missing": "yes" if source["retireMissing"] else "no",
    }  # fmt: skip


def _source_form(
    request: Request, session: Session, viewer: Principal, system_id: str, status_code: int = 200, **extra: Any
):
    source = harvest.get_source(session, viewer, system_id)  # the owning city's admins only
    system = catalogue.get_system(session, viewer, system_id)
    entity_type = system["entityTypes"][0] if system["entityTypes"] else "Thing"
    return render(
        request,
        "manage/source.html",
        status_code=status_code,
        system=system,
        source=source,
        kinds=source_examples.KINDS,
        examples=source_examples.examples(entity_type),
        # a retired IS keeps its status unless the admin picks another (saving must not reopen it unasked)
        statuses=OPENING_STATUSES if system["status"] in OPENING_STATUSES else (system["status"], *OPENING_STATUSES),
        posted=extra.pop("posted", None) or {**_stored_form(source, entity_type), "status": system["status"]},
        **extra,
    )


@router.get("/manage/information-systems/{city_id}/{slug}/source")
def source_form(request: Request, city_id: str, slug: str, viewer: ViewerDep, session: SessionDep, registered: bool = False):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _source_form(request, session, viewer, f"{city_id}/{slug}", registered=registered)


class SourceForm(BaseModel):
    """The source form as posted, shared by its two buttons (preview and save)."""

    kind: str = ""
    url: str = ""
    settings: str = ""
    mapping: str = ""
    schedule: str = ""
    retire_missing: str = "yes"
    status: str = "draft"

    def setup(self) -> dict[str, Any]:
        """As the body PUT …/source and POST …/preview take it (connector = kind + url + settings)."""
        settings = json_object(self.settings, "settings") or {}
        return {
            "connector": {**settings, "kind": self.kind, "url": self.url.strip()},
            "mapping": json_object(self.mapping, "mapping", blank_is_none=True),  # none: the kind's standard mapping
        }


@router.post("/manage/information-systems/{city_id}/{slug}/source/preview", dependencies=[Depends(web_session.check_csrf)])
def preview(
    request: Request,
    city_id: str,
    slug: str,
    viewer: ViewerDep,
    session: SessionDep,  # read only: a preview saves nothing, and holds no write lock while the source answers
    form: Annotated[SourceForm, Form()],
):
    system_id, posted = f"{city_id}/{slug}", form.model_dump()
    try:
        body = PreviewIn.model_validate({**form.setup(), "limit": PREVIEW_ROWS})
        result = sources.preview(session, viewer, system_id, connector=body.connector, mapping=body.mapping, limit=body.limit)
    except (ValidationError, ICityError) as error:
        code = error.status if isinstance(error, ICityError) else 400
        return _source_form(request, session, viewer, system_id, code, errors=problems(error, SOURCE_LABELS), posted=posted)
    points = [{"id": e["id"], "type": e["type"], "location": e["location"]} for e in result["entities"] if e.get("location")]
    return _source_form(request, session, viewer, system_id, preview=result, points=points, posted=posted)


@router.post("/manage/information-systems/{city_id}/{slug}/source", dependencies=[Depends(web_session.check_csrf)])
def save_source(
    request: Request,
    city_id: str,
    slug: str,
    viewer: ViewerDep,
    session: TransactionDep,
    tasks: BackgroundTasks,
    form: Annotated[SourceForm, Form()],
):
    system_id, posted = f"{city_id}/{slug}", form.model_dump()
    try:
        body = SourceIn.model_validate(
            {**form.setup(), "schedule": form.schedule.strip() or None, "retireMissing": form.retire_missing != "no"}
        )
        wanted = StatusIn.model_validate({"status": form.status})
        system = sources.configure(
            session, viewer, system_id, connector=body.connector, mapping=body.mapping, schedule=body.schedule,
            retire_missing=body.retire_missing,
        )  # fmt: skip
        if wanted.status != system.status:
            catalogue.change_status(session, viewer, system_id, wanted.status)  # refused below level pilot
        run = harvest.start_run(session, viewer, system_id, trigger="manual")
    except (ValidationError, ICityError) as error:
        session.rollback()  # a refused save writes nothing: neither the source nor the status
        code = error.status if isinstance(error, ICityError) else 400
        return _source_form(request, session, viewer, system_id, code, errors=problems(error, SOURCE_LABELS), posted=posted)
    # the run reads the source once this transaction is committed, after the answer (as POST …/harvests does)
    after_response(tasks, harvest.execute_run, run["id"], request.app.state.database_url)
    return RedirectResponse(f"/manage/information-systems/{system_id}?done=saved", status_code=303)
