"""An IS's devices as its operators manage them: the list with each device's status, one device
with its latest values and recent history, and adding or editing one (its commands too).

For the IS's publisher admins and the platform admin only (access.administered_system); what a
device may declare is checked by services/command_declarations.py, as the API checks it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.db.models import Device, Entity, utcnow
from icity.errors import FieldProblem, conflict, invalid, not_found
from icity.services import audit, catalogue, entity_store, history
from icity.services.access import Principal, administered_system
from icity.services.command_declarations import declaration_problems
from icity.services.data_arrival import device_status
from icity.services.entity_writes import EntityWrite, raise_first, write_entities

CHART_POINTS = 200  # the last observations of each numeric attribute a device's page charts
ENTITY_CHOICES = 500  # entities offered to report into: more than an IS's devices usually feed
NEW_ENTITY = "new:"  # an entity choice "new:<Type>": a new entity of that type for the device


@dataclass
class DeviceForm:
    """A device as the form gives it: text, checked and converted by `save_device`."""

    local_id: str = ""
    name: str = ""
    device_type: str = ""
    lon: str = ""
    lat: str = ""
    reporting_period_s: str = ""
    entity: str = ""  # an entity id of the IS, "new:<Type>", or "" (none)
    commands: str = "[]"  # JSON: [{"name", "description", "parameters": JSON Schema}]
    command_url: str = ""  # "" : over MQTT


def operator_device(device: Device, now: datetime) -> dict[str, Any]:
    """The device as the API shows it, with its status (reporting, silent, never heard)."""
    return {**catalogue.device_dict(device, now), "status": device_status(device, now)}


def list_devices(session: Session, principal: Principal, system_id: str) -> list[dict[str, Any]]:
    system = administered_system(session, principal, system_id)
    now = utcnow()
    rows = session.scalars(select(Device).where(Device.information_system_id == system.id).order_by(Device.local_id))
    return [operator_device(device, now) for device in rows]


def _device_row(session: Session, system_id: str, local_id: str) -> Device:
    device = session.scalar(select(Device).where(Device.information_system_id == system_id, Device.local_id == local_id))
    if device is None:
        raise not_found("device", f"{system_id}/{local_id}")
    return device


def managed_device(session: Session, principal: Principal, system_id: str, local_id: str) -> dict[str, Any]:
    """A device of an IS the caller manages, as the API shows it (its declared commands with it), with its status."""
    system = administered_system(session, principal, system_id)
    return operator_device(_device_row(session, system.id, local_id), utcnow())


def get_device(session: Session, principal: Principal, system_id: str, local_id: str) -> dict[str, Any]:
    """The device, the entity it reports into (latest values) and each numeric attribute's recent history."""
    system = administered_system(session, principal, system_id)
    device = _device_row(session, system.id, local_id)
    entity = session.get(Entity, device.entity_id) if device.entity_id else None
    latest = dict(entity.attributes) if entity is not None and entity.information_system_id == system.id else {}
    numeric = sorted(name for name, value in latest.items() if _is_number(value))
    charts: dict[str, list[dict[str, Any]]] = {name: [] for name in numeric}
    if numeric:
        window = history.TimeWindow(attributes=tuple(numeric))
        series = history.observations(session, [entity.id], window, last=CHART_POINTS, cap=CHART_POINTS)
        for name, items in series.values.get(entity.id, {}).items():
            charts[name] = [{"t": at.isoformat(), "v": value} for at, value in items if _is_number(value)]
    return {
        "device": operator_device(device, utcnow()),
        "entity": None if not latest else {"id": entity.id, "type": entity.type,
                                           "observedAt": entity.observed_at.isoformat() if entity.observed_at else None},
        "latest": latest,
        "charts": charts,
    }  # fmt: skip


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def form_of(session: Session, principal: Principal, system_id: str, local_id: str) -> DeviceForm:
    """The form filled with a device as it stands, to edit it."""
    system = administered_system(session, principal, system_id)
    device = _device_row(session, system.id, local_id)
    return DeviceForm(
        local_id=device.local_id, name=device.name, device_type=device.device_type,
        lon="" if device.lon is None else str(device.lon), lat="" if device.lat is None else str(device.lat),
        reporting_period_s="" if device.reporting_period_s is None else str(device.reporting_period_s),
        entity=device.entity_id or "", commands=json.dumps(device.commands or [], indent=2), command_url=device.command_url or "",
    )  # fmt: skip


def entity_choices(session: Session, principal: Principal, system_id: str) -> dict[str, list[str]]:
    """What a device may report into: the IS's entities, or a new one of a type it serves."""
    system = administered_system(session, principal, system_id)
    ids = session.scalars(
        select(Entity.id).where(Entity.information_system_id == system.id, Entity.retired_at.is_(None)).order_by(Entity.id).limit(ENTITY_CHOICES)
    )
    return {"entities": list(ids), "types": sorted(entity_store.served_types(session, system.id))}


def save_device(session: Session, principal: Principal, system_id: str, form: DeviceForm, editing: str | None = None) -> dict[str, Any]:
    """Add a device (`editing` None) or change one; every problem at once, nothing written on a refusal."""
    system = administered_system(session, principal, system_id)
    device = _device_row(session, system.id, editing) if editing else None
    values, problems = _checked(form)
    if problems:
        raise invalid(problems)
    local_id = values["local_id"]
    if (device is None or device.local_id != local_id) and session.scalar(
        select(Device.id).where(Device.information_system_id == system.id, Device.local_id == local_id)
    ) is not None:
        raise conflict(f"{system.id} already has a device '{local_id}'.", param="localId")
    entity_id = _entity_for(session, system, form.entity.strip(), local_id, values)
    commands, command_url = values.pop("commands"), values.pop("command_url")
    if device is None:
        device = catalogue.add_device(session, system.id, **values, entity_id=entity_id)
    else:
        for name, value in values.items():
            setattr(device, name, value)
        device.entity_id = entity_id
        if device.last_seen_at is not None:
            device.silent_after = Device.silent_after_seen(device.last_seen_at, device.reporting_period_s)
    device.commands = [{"parameters": {"type": "object"}, **command} for command in commands]
    device.command_url = command_url
    action = "device.updated" if editing else "device.created"
    audit.record(session, principal, action, "device", f"{system.id}/{device.local_id}", city_id=system.city_id, owner_id=system.owner_id,
                 details={"commands": [c["name"] for c in commands], "commandUrl": command_url})  # fmt: skip
    session.flush()
    return operator_device(device, utcnow())


def _checked(form: DeviceForm) -> tuple[dict[str, Any], list[FieldProblem]]:
    problems: list[FieldProblem] = []
    local_id = form.local_id.strip()
    if not local_id or len(local_id) > 100 or "/" in local_id or "#" in local_id or " " in local_id:
        problems.append(FieldProblem("localId", "a local id of 1 to 100 characters, without spaces, / or #"))
    lon, lat = _number(form.lon), _number(form.lat)
    if (form.lon.strip() and lon is None) or (form.lat.strip() and lat is None) or (lon is None) != (lat is None) or (
        lon is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90)
    ):
        problems.append(FieldProblem("location", "give both longitude in [-180, 180] and latitude in [-90, 90], or neither"))
    period = None
    if form.reporting_period_s.strip():
        period = int(form.reporting_period_s) if form.reporting_period_s.strip().isdigit() else None
        if period is None or not 1 <= period <= 31_536_000:
            problems.append(FieldProblem("reportingPeriodSeconds", "a whole number of seconds from 1 to a year, or empty"))
    try:
        commands = json.loads(form.commands or "[]")
    except json.JSONDecodeError as error:
        commands = []
        problems.append(FieldProblem("commands", f"not JSON: {error.msg} (line {error.lineno}, column {error.colno})"))
    if not isinstance(commands, list):
        problems.append(FieldProblem("commands", 'a JSON list of commands: [{"name": …, "parameters": {JSON Schema}}]'))
        commands = []
    command_url = form.command_url.strip() or None
    problems += declaration_problems(commands, command_url)
    values = {"local_id": local_id, "name": form.name.strip()[:200], "device_type": form.device_type.strip()[:100],
              "lon": lon, "lat": lat, "reporting_period_s": period, "commands": commands, "command_url": command_url}  # fmt: skip
    return values, problems


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _entity_for(session: Session, system, choice: str, local_id: str, values: dict[str, Any]) -> str | None:
    """The entity id the device reports into: one of the IS's, or a new one created now."""
    if not choice:
        return None
    if not choice.startswith(NEW_ENTITY):
        entity = session.get(Entity, choice)
        if entity is None or entity.information_system_id != system.id:
            raise invalid([FieldProblem("entity", f"{system.id} has no entity {choice}")])
        return choice
    entity_type = choice.removeprefix(NEW_ENTITY)
    entity_id = f"urn:ngsi-ld:{entity_type}:{system.city_id}:{local_id}"
    payload: dict[str, Any] = {"id": entity_id, "type": entity_type}
    if values["lon"] is not None:
        payload["location"] = {"type": "Point", "coordinates": [values["lon"], values["lat"]]}
    raise_first(write_entities(session, system, [EntityWrite(payload)], require="new"))
    return entity_id
