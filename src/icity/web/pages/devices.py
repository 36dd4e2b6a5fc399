"""An IS's devices, as its operators see them under /manage: the list with each device's status on
a map, one device's latest values and charts, adding and editing a device (its commands too).
The services decide who may (services/devices.py: the IS's publisher admins, the platform admin)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from icity.api.deps import SessionDep, TransactionDep
from icity.errors import ICityError
from icity.services import catalogue, devices
from icity.services.access import Principal
from icity.web import session as web_session
from icity.web.forms import problems
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

MANAGE = "/manage/information-systems"
DONE = {"added": "The device is added.", "saved": "The device is saved."}
LABELS = {
    "localId": "Local id", "location": "Location", "reportingPeriodSeconds": "Reporting period", "entity": "Entity",
    "commands": "Commands", "commandUrl": "Command URL", "provider": "Provider",
}  # fmt: skip


@router.get(MANAGE + "/{city_id}/{slug}/devices")
def devices_page(request: Request, city_id: str, slug: str, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    system_id = f"{city_id}/{slug}"
    listed = devices.list_devices(session, viewer, system_id)  # refuses who does not manage it
    return render(
        request,
        "manage/devices.html",
        system=catalogue.get_system(session, viewer, system_id),
        devices=listed,
        points=[{"id": d["id"], "status": d["status"], "location": d["location"]} for d in listed if d["location"]],
    )


def _form_page(request: Request, session: Session, viewer: Principal, system_id: str, form: devices.DeviceForm,
               editing: str | None, status_code: int = 200, errors: list[str] | None = None):  # fmt: skip
    return render(
        request,
        "manage/device_form.html",
        status_code=status_code,
        system=catalogue.get_system(session, viewer, system_id),
        form=form,
        editing=editing,
        choices=devices.entity_choices(session, viewer, system_id),
        new_entity=devices.NEW_ENTITY,
        errors=errors or [],
    )


async def _posted_form(request: Request) -> devices.DeviceForm:
    posted = await request.form()
    return devices.DeviceForm(**{f.name: str(posted.get(f.name, "")) for f in fields(devices.DeviceForm)})


@router.get(MANAGE + "/{city_id}/{slug}/devices/new")
def new_device_page(request: Request, city_id: str, slug: str, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _form_page(request, session, viewer, f"{city_id}/{slug}", devices.DeviceForm(), None)


@router.post(MANAGE + "/{city_id}/{slug}/devices", dependencies=[Depends(web_session.check_csrf)])
async def add_device(request: Request, city_id: str, slug: str, viewer: ViewerDep, session: TransactionDep):
    return await _save(request, session, viewer, f"{city_id}/{slug}", None)


@router.get(MANAGE + "/{city_id}/{slug}/devices/{local_id}")
def device_page(request: Request, city_id: str, slug: str, local_id: str, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    system_id = f"{city_id}/{slug}"
    shown = devices.get_device(session, viewer, system_id, local_id)
    return render(
        request,
        "manage/device.html",
        system=catalogue.get_system(session, viewer, system_id),
        done=DONE.get(request.query_params.get("done", "")),
        **shown,
    )


@router.get(MANAGE + "/{city_id}/{slug}/devices/{local_id}/edit")
def edit_device_page(request: Request, city_id: str, slug: str, local_id: str, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    system_id = f"{city_id}/{slug}"
    return _form_page(request, session, viewer, system_id, devices.form_of(session, viewer, system_id, local_id), local_id)


@router.post(MANAGE + "/{city_id}/{slug}/devices/{local_id}", dependencies=[Depends(web_session.check_csrf)])
async def edit_device(request: Request, city_id: str, slug: str, local_id: str, viewer: ViewerDep, session: TransactionDep):
    return await _save(request, session, viewer, f"{city_id}/{slug}", local_id)


async def _save(request: Request, session: Session, viewer: Principal, system_id: str, editing: str | None) -> Any:
    form = await _posted_form(request)
    try:
        saved = devices.save_device(session, viewer, system_id, form, editing)
    except ICityError as error:
        session.rollback()  # nothing of a refused device is written (nor the entity made for it)
        if error.status in (401, 403, 404) and not error.errors:
            raise
        return _form_page(request, session, viewer, system_id, form, editing, error.status, problems(error, LABELS))
    done = "saved" if editing else "added"
    return RedirectResponse(f"{MANAGE}/{system_id}/devices/{saved['id']}?done={done}", status_code=303)


