"""Temporal provision (CIM 009 5.6.11–5.6.16): create an entity with its history or add history,
delete an entity's or an attribute's history, correct or delete one instance — by the same writers
and through the same write path as part 1 (services/entity_writes.py).

An entity's current state follows the newest instance given of each attribute (when it is newer than
the stored one); every instance given is kept as history, text as well as numbers. History keeps
the default dataset of each attribute (no datasetId) and no sub-properties per instance.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from icity.api.deps import PrincipalDep, WriteTransactionDep
from icity.ngsi_ld.contexts import Context, stored_name
from icity.ngsi_ld.errors import bad_request_data, resource_not_found
from icity.ngsi_ld.http import Body, LinkContext, Tenant, body_context
from icity.ngsi_ld.query import _check_uri
from icity.ngsi_ld.representation import ENTITY_MEMBERS, parse_attribute, parse_entity
from icity.ngsi_ld.temporal_representation import instance_time
from icity.services import entities, entity_store, entity_writes
from icity.services.access import Principal
from icity.services.entity_writes import EntityWrite
from icity.services.filters import parse_time

router = APIRouter(tags=["NGSI-LD"])
Instance = tuple[str, datetime, Any, dict[str, Any]]  # stored attribute name, observedAt, value, details


def _instances(body: dict[str, Any], context: Context) -> tuple[list[Instance], Any]:
    """Every attribute instance of a temporal entity (or fragment), each with its observedAt, and
    the location given (a location has no history here: the newest given is the entity's)."""
    found: list[Instance] = []
    locations: list[tuple[str, Any]] = []
    for key, raw in body.items():
        if key in ENTITY_MEMBERS or key in ("@id", "@type"):
            continue
        name = stored_name(key, context)
        for index, item in enumerate(raw if isinstance(raw, list) else [raw]):
            path = f"{key}[{index}]"
            value, detail = parse_attribute(item, context, path)
            detail = detail or {}
            if detail.get("datasetId") is not None:
                raise bad_request_data(f"{path}: history keeps each attribute's default dataset only (no datasetId)", param=key)
            if name == "location":
                locations.append((detail.get("observedAt") or "", value))
            elif not isinstance(detail.get("observedAt"), str):
                raise bad_request_data(f"{path}: each instance of a temporal entity has its observedAt", param=key)
            else:
                found.append((name, parse_time("observedAt", detail["observedAt"]), value, detail))
    if not found and not locations:
        raise bad_request_data("Give at least one attribute instance, each with its observedAt")
    return found, max(locations, key=lambda item: item[0])[1] if locations else None


def _store(session: Session, system: Any, entity_id: str, entity_type: str, given: tuple[list[Instance], Any], current: Any) -> bool:
    """Write the newest instance of each attribute as the entity's state (when newer than what it holds)
    and every instance as history; True if the entity was created."""
    instances, location = given
    newest: dict[str, Instance] = {}
    for instance in instances:
        if instance[0] not in newest or instance[1] >= newest[instance[0]][1]:
            newest[instance[0]] = instance
    stale = _stored_times(current)
    fresh = [i for i in newest.values() if i[0] not in stale or stale[i[0]] is None or i[1] >= stale[i[0]]]
    by_time: dict[datetime | None, list[Instance]] = {}
    for instance in fresh:  # one write per observation time, so each value's history has its own time
        by_time.setdefault(instance[1], []).append(instance)
    if location is not None or (current is None and not by_time):
        by_time.setdefault(None, [])
    for at in sorted(by_time, key=lambda time: (time is not None, time)):
        group = by_time[at]
        payload: dict[str, Any] = {"id": entity_id, "type": entity_type, **{n: v for n, _, v, _ in group}}
        if at is None and location is not None:
            payload["location"] = location
        if at is not None:
            payload["observedAt"] = at.isoformat()
        details = {name: {k: v for k, v in detail.items() if k != "instances"} or None for name, _, _, detail in group}
        entity_writes.raise_first(entity_writes.write_entities(session, system, [EntityWrite(payload, details)]))
    if instances:
        history = [(name, at, value) for name, at, value, _ in instances]
        entity_writes.record_history(session, system, entity_id, entity_type, history)
    return current is None


def _stored_times(row: Any) -> dict[str, datetime | None]:
    """When each attribute of a stored entity was last observed, as far as it says."""
    if row is None:
        return {}
    times: dict[str, datetime | None] = {}
    for name in row.attributes:
        observed = ((row.details or {}).get(name) or {}).get("observedAt")
        times[name] = parse_time("observedAt", observed) if observed else row.observed_at
    return times


def _current(session: Session, principal: Principal, system: Any, entity_id: str) -> Any:
    """The stored entity (None if there is none), refused if it is another IS's."""
    rows = entities.match_entities(session, principal, entities.EntityMatch(ids=(entity_id,), limit=1, with_times=True)).rows
    if rows:
        entity_writes.owned_entity(session, system, entity_id)
    return rows[0] if rows else None


@router.post("/temporal/entities", status_code=201, summary="Create or add to the temporal evolution of an entity (CIM 009 5.6.11)")
def upsert_temporal(request: Request, body: Body, session: WriteTransactionDep, principal: PrincipalDep, tenant: Tenant):
    context = body_context(request, body)
    identity = parse_entity({k: v for k, v in body.items() if k in ("id", "type", "@id", "@type")} if isinstance(body, dict) else body, context)
    _check_uri(identity.id)
    system = entity_writes.writable_system(session, principal, tenant[1])
    current = _current(session, principal, system, identity.id)
    if current is not None and current.type != identity.type:
        raise bad_request_data("An entity keeps its type: give the stored one", param="type")
    created = _store(session, system, identity.id, identity.type, _instances(body, context), current)
    session.commit()
    if created:
        return Response(status_code=201, headers={"Location": f"/ngsi-ld/v1/temporal/entities/{identity.id}"})
    return Response(status_code=204)


@router.post("/temporal/entities/{entity_id}/attrs", status_code=204, summary="Add attribute instances (CIM 009 5.6.12)")
def add_instances(entity_id: str, request: Request, body: Body, session: WriteTransactionDep, principal: PrincipalDep, tenant: Tenant):
    context = body_context(request, body)
    _check_uri(entity_id)
    if not isinstance(body, dict):
        raise bad_request_data("The body is the attributes' instances, as an object")
    system = entity_writes.writable_system(session, principal, tenant[1])
    current = _current(session, principal, system, entity_id)
    if current is None:
        raise resource_not_found(f"No entity with id {entity_id} (or you may not read it)")
    _store(session, system, entity_id, current.type, _instances(body, context), current)
    return _done(session)


@router.delete("/temporal/entities/{entity_id}", status_code=204, summary="Delete an entity and its history (CIM 009 5.6.13)")
def delete_temporal(entity_id: str, session: WriteTransactionDep, principal: PrincipalDep, tenant: Tenant):
    _check_uri(entity_id)
    system = entity_writes.writable_system(session, principal, tenant[1])
    entity_writes.delete_with_history(session, system, entity_id)
    return _done(session)


@router.delete("/temporal/entities/{entity_id}/attrs/{attribute}", status_code=204, summary="Delete an attribute's history (CIM 009 5.6.14)")
def delete_attribute_history(
    entity_id: str, attribute: str, session: WriteTransactionDep, principal: PrincipalDep, context: LinkContext,
    tenant: Tenant, datasetId: Annotated[str | None, Query()] = None, deleteAll: Annotated[bool, Query()] = False,
):  # fmt: skip
    _check_uri(entity_id)
    system = entity_writes.writable_system(session, principal, tenant[1])
    current = _current(session, principal, system, entity_id)
    if current is None:
        raise resource_not_found(f"No entity with id {entity_id} (or you may not read it)")
    if datasetId is not None and not deleteAll:
        raise resource_not_found(f"History keeps the default dataset of {attribute} only: no instances with datasetId {datasetId}")
    name = stored_name(attribute, context)
    # an attribute the entity has, even with no history yet, has its (empty) history deleted
    if not entity_store.delete_history(session, entity_id, name) and name not in current.attributes:
        raise resource_not_found(f"{entity_id} has no attribute {attribute}")
    return _done(session)


def _instance_time(entity_id: str, name: str, instance_id: str) -> datetime:
    at = instance_time(entity_id, name, instance_id)
    if at is None:
        raise resource_not_found(f"No instance {instance_id} of {name} of {entity_id}")
    return at


@router.patch("/temporal/entities/{entity_id}/attrs/{attribute}/{instance_id}", status_code=204,
              summary="Correct an attribute instance (CIM 009 5.6.15)")  # fmt: skip
def correct_instance(
    entity_id: str, attribute: str, instance_id: str, request: Request, body: Body, session: WriteTransactionDep,
    principal: PrincipalDep, tenant: Tenant,
):  # fmt: skip
    context = body_context(request, body)
    _check_uri(entity_id)
    system = entity_writes.writable_system(session, principal, tenant[1])
    current = _current(session, principal, system, entity_id)
    if current is None:
        raise resource_not_found(f"No entity with id {entity_id} (or you may not read it)")
    name = stored_name(attribute, context)
    at = _instance_time(entity_id, name, instance_id)
    if not isinstance(body, dict):
        raise bad_request_data("The body is the instance's new value: {\"type\": \"Property\", \"value\": ...}")
    value, detail = parse_attribute({k: v for k, v in body.items() if k != "@context"}, context, attribute)
    given = (detail or {}).get("observedAt")
    if given is not None and parse_time("observedAt", given) != at:
        raise bad_request_data("An instance keeps its observedAt (its instanceId is made from it): add a new instance instead", param="observedAt")
    if not entity_writes.correct_history(session, system, entity_id, current.type, name, at, value):
        raise resource_not_found(f"No instance {instance_id} of {attribute} of {entity_id}")
    return _done(session)


@router.delete("/temporal/entities/{entity_id}/attrs/{attribute}/{instance_id}", status_code=204,
               summary="Delete an attribute instance (CIM 009 5.6.16)")  # fmt: skip
def delete_instance(
    entity_id: str, attribute: str, instance_id: str, session: WriteTransactionDep, principal: PrincipalDep,
    context: LinkContext, tenant: Tenant,
):  # fmt: skip
    _check_uri(entity_id)
    system = entity_writes.writable_system(session, principal, tenant[1])
    entity_writes.owned_entity(session, system, entity_id)
    name = stored_name(attribute, context)
    if not entity_store.delete_history(session, entity_id, name, _instance_time(entity_id, name, instance_id)):
        raise resource_not_found(f"No instance {instance_id} of {attribute} of {entity_id}")
    return _done(session)


def _done(session: Session) -> Response:
    session.commit()  # in this thread: see api/routes/push.py
    return Response(status_code=204)
