"""Provision: create, replace, update, merge and delete entities and attributes, one by one or in
batches (CIM 009 5.6 and 5.6.7–5.6.10), through services/entity_writes.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from icity.api.deps import PrincipalDep, WriteTransactionDep
from icity.api.responses import JSONResponse
from icity.errors import ICityError
from icity.ngsi_ld.contexts import Context, platform_context, shown_name, stored_name
from icity.ngsi_ld.errors import bad_request_data, resource_not_found, translate
from icity.ngsi_ld.http import Body, LinkContext, Tenant, body_context
from icity.ngsi_ld.query import _check_uri
from icity.ngsi_ld.representation import VALUE_MEMBER, Parsed, View, parse_entity, render
from icity.services import entities, entity_writes
from icity.services.access import Principal
from icity.services.entity_writes import EntityWrite

router = APIRouter(tags=["NGSI-LD"])
NULL = "urn:ngsi-ld:null"  # in a merge, the value that deletes an attribute
MAX_BATCH = 10_000


def _system(session: Session, principal: Principal, tenant: tuple[str | None, str | None]):
    return entity_writes.writable_system(session, principal, tenant[1])


def _write(parsed: Parsed, remove: tuple[str, ...] = ()) -> EntityWrite:
    return EntityWrite(parsed.payload(), dict(parsed.details), remove)


def _stored(session: Session, principal: Principal, entity_id: str) -> Any:
    _check_uri(entity_id)
    rows = entities.match_entities(session, principal, entities.EntityMatch(ids=(entity_id,), limit=1)).rows
    if not rows:
        raise resource_not_found(f"No entity with id {entity_id} (or you may not read it)")
    return rows[0]


def _done(session: Session) -> Response:
    session.commit()  # in this thread: see api/routes/push.py
    return Response(status_code=204)


@router.post("/entities", status_code=201, summary="Create an entity (CIM 009 5.6.1)")
def create_entity(request: Request, body: Body, session: WriteTransactionDep, principal: PrincipalDep, tenant: Tenant):
    context = body_context(request, body)
    parsed = parse_entity(body, context)
    system = _system(session, principal, tenant)
    entity_writes.raise_first(entity_writes.write_entities(session, system, [_write(parsed)], replace=True, require="new"))
    session.commit()
    return Response(status_code=201, headers={"Location": f"/ngsi-ld/v1/entities/{parsed.id}"})


@router.delete("/entities/{entity_id}", status_code=204, summary="Delete an entity (CIM 009 5.6.6)")
def delete_entity(entity_id: str, session: WriteTransactionDep, principal: PrincipalDep, tenant: Tenant):
    _check_uri(entity_id)
    system = _system(session, principal, tenant)
    entity_writes.raise_first(entity_writes.delete_entities(session, system, [entity_id]))
    return _done(session)


def _entity_with(row: Any, fragment: Parsed) -> Parsed:
    """The stored entity's identity with a fragment's attributes, ready to write."""
    fragment.id, fragment.type = row.id, row.type
    return fragment


@router.post("/entities/{entity_id}/attrs", summary="Append attributes (CIM 009 5.6.3)")
def append_attributes(
    entity_id: str, request: Request, body: Body, session: WriteTransactionDep, principal: PrincipalDep, tenant: Tenant,
    options: Annotated[str | None, Query()] = None,
):  # fmt: skip
    context = body_context(request, body)
    system = _system(session, principal, tenant)
    row = _stored(session, principal, entity_id)
    fragment = parse_entity(body, context, fragment=True)
    not_updated = []
    if options and "noOverwrite" in options.split(","):
        for name in [n for n in fragment.attributes if n in row.attributes]:
            fragment.attributes.pop(name)
            fragment.details.pop(name, None)
            not_updated.append({"attributeName": shown_name(name, context), "reason": "exists already (noOverwrite)"})
    entity_writes.raise_first(entity_writes.write_entities(session, system, [_write(_entity_with(row, fragment))], require="existing"))
    session.commit()
    if not_updated:
        updated = [shown_name(n, context) for n in fragment.attributes]
        return JSONResponse({"updated": updated, "notUpdated": not_updated}, status_code=207)
    return Response(status_code=204)


@router.patch("/entities/{entity_id}/attrs", summary="Update attributes (CIM 009 5.6.2)")
def update_attributes(
    entity_id: str, request: Request, body: Body, session: WriteTransactionDep, principal: PrincipalDep, tenant: Tenant
):
    context = body_context(request, body)
    system = _system(session, principal, tenant)
    row = _stored(session, principal, entity_id)
    fragment = parse_entity(body, context, fragment=True)
    not_updated = []
    for name in [n for n in fragment.attributes if n not in row.attributes and not (n == "location" and row.location)]:
        fragment.attributes.pop(name)
        fragment.details.pop(name, None)
        not_updated.append({"attributeName": shown_name(name, context), "reason": "no such attribute"})
    if fragment.location is not None and row.location is None:
        not_updated.append({"attributeName": "location", "reason": "no such attribute"})
        fragment.location = None
    if fragment.attributes or fragment.location is not None:
        entity_writes.raise_first(
            entity_writes.write_entities(session, system, [_write(_entity_with(row, fragment))], require="existing")
        )
    session.commit()
    if not_updated:
        updated = [shown_name(n, context) for n in fragment.attributes]
        return JSONResponse({"updated": updated, "notUpdated": not_updated}, status_code=207)
    return Response(status_code=204)


@router.patch("/entities/{entity_id}/attrs/{attribute}", summary="Partial attribute update (CIM 009 5.6.4)")
def patch_attribute(
    entity_id: str, attribute: str, request: Request, body: Body, session: WriteTransactionDep, principal: PrincipalDep,
    tenant: Tenant,
):  # fmt: skip
    context = body_context(request, body)
    system, row, name = _attribute_target(session, principal, tenant, entity_id, attribute, context)
    if not isinstance(body, dict):
        raise bad_request_data("The body is the attribute's members to change, as an object")
    current = _normalized_attribute(row, name)
    merged = {**current, **{k: v for k, v in body.items() if k != "@context"}}
    if "value" in body and current.get("type") == "Relationship":
        merged = {**current, "object": body["value"]}
    return _write_attribute(session, system, row, attribute, merged, context)


@router.put("/entities/{entity_id}/attrs/{attribute}", summary="Replace an attribute (CIM 009 5.6.19)")
def replace_attribute(
    entity_id: str, attribute: str, request: Request, body: Body, session: WriteTransactionDep, principal: PrincipalDep,
    tenant: Tenant,
):  # fmt: skip
    context = body_context(request, body)
    system, row, _ = _attribute_target(session, principal, tenant, entity_id, attribute, context)
    body = {k: v for k, v in body.items() if k != "@context"} if isinstance(body, dict) else body
    return _write_attribute(session, system, row, attribute, body, context)


def _attribute_target(session: Session, principal: Principal, tenant, entity_id: str, attribute: str, context: Context):
    """(the IS written into, the stored entity, the attribute's stored name); 404 if it has no such attribute."""
    system = _system(session, principal, tenant)
    row = _stored(session, principal, entity_id)
    name = stored_name(attribute, context)
    if name not in row.attributes and not (name == "location" and row.location):
        raise resource_not_found(f"{entity_id} has no attribute {attribute}")
    return system, row, name


def _write_attribute(session: Session, system: Any, row: Any, attribute: str, body: Any, context: Context) -> Response:
    fragment = parse_entity({attribute: body}, context, fragment=True)
    entity_writes.raise_first(entity_writes.write_entities(session, system, [_write(_entity_with(row, fragment))], require="existing"))
    return _done(session)


def _normalized_attribute(row: Any, name: str) -> dict[str, Any]:
    body = render(row, View(platform_context(), attributes=frozenset({name})))
    attribute = body.get(name)
    return attribute[0] if isinstance(attribute, list) else attribute


@router.delete("/entities/{entity_id}/attrs/{attribute}", status_code=204, summary="Delete an attribute (CIM 009 5.6.5)")
def delete_attribute(
    entity_id: str, attribute: str, session: WriteTransactionDep, principal: PrincipalDep, context: LinkContext,
    tenant: Tenant, datasetId: Annotated[str | None, Query()] = None, deleteAll: Annotated[bool, Query()] = False,
):  # fmt: skip
    system = _system(session, principal, tenant)
    row = _stored(session, principal, entity_id)
    name = stored_name(attribute, context)
    if name not in row.attributes:
        raise resource_not_found(f"{entity_id} has no attribute {attribute}")
    detail = (row.details or {}).get(name) or {}
    instances = detail.get("instances") or []
    if datasetId is not None and not deleteAll:
        write = _drop_instance(row, name, detail, instances, datasetId)
    else:
        write = EntityWrite({"id": row.id, "type": row.type}, {name: None}, (name,))
    entity_writes.raise_first(entity_writes.write_entities(session, system, [write], require="existing"))
    return _done(session)


def _drop_instance(row: Any, name: str, detail: dict[str, Any], instances: list[dict[str, Any]], dataset_id: str) -> EntityWrite:
    if detail.get("datasetId") == dataset_id:
        if not instances:
            return EntityWrite({"id": row.id, "type": row.type}, {name: None}, (name,))
        promoted, rest = instances[0], instances[1:]
        kind = promoted.get("type", "Property")
        member = VALUE_MEMBER.get(kind, "value")
        new_detail = {k: v for k, v in promoted.items() if k != member and not (k == "type" and v == "Property")}
        if rest:
            new_detail["instances"] = rest
        return EntityWrite({"id": row.id, "type": row.type, name: promoted.get(member)}, {name: new_detail or None})
    kept = [i for i in instances if i.get("datasetId") != dataset_id]
    if len(kept) == len(instances):
        raise resource_not_found(f"{row.id} has no instance of {name} with datasetId {dataset_id}")
    new_detail = {k: v for k, v in detail.items() if k != "instances"}
    if kept:
        new_detail["instances"] = kept
    return EntityWrite({"id": row.id, "type": row.type, name: row.attributes[name]}, {name: new_detail or None})


@router.put("/entities/{entity_id}", summary="Replace an entity (CIM 009 5.6.18)")
def replace_entity(
    entity_id: str, request: Request, body: Body, session: WriteTransactionDep, principal: PrincipalDep, tenant: Tenant
):
    context = body_context(request, body)
    system = _system(session, principal, tenant)
    row = _stored(session, principal, entity_id)
    if isinstance(body, dict):
        body = {**body, "id": body.get("id", entity_id), "type": body.get("type", shown_name(row.type, context))}
    parsed = parse_entity(body, context)
    if parsed.id != entity_id:
        raise bad_request_data("The body's id differs from the path's", param="id")
    if parsed.type != row.type:
        raise bad_request_data("An entity keeps its type: give the stored one", param="type")
    entity_writes.raise_first(entity_writes.write_entities(session, system, [_write(parsed)], replace=True, require="existing"))
    return _done(session)


@router.patch("/entities/{entity_id}", summary="Merge-patch an entity (CIM 009 5.6.17)")
def merge_entity(
    entity_id: str, request: Request, body: Body, session: WriteTransactionDep, principal: PrincipalDep, tenant: Tenant
):
    context = body_context(request, body)
    system = _system(session, principal, tenant)
    row = _stored(session, principal, entity_id)
    write = _merge_write(row, body, context)
    entity_writes.raise_first(entity_writes.write_entities(session, system, [write], require="existing"))
    return _done(session)


def _merge_write(row: Any, body: Any, context: Context) -> EntityWrite:
    """An entity merge (JSON merge patch semantics): attributes given replace or join, urn:ngsi-ld:null deletes."""
    if not isinstance(body, dict):
        raise bad_request_data("The body is an entity fragment (an object)")
    removed = tuple(stored_name(key, context) for key, value in body.items() if value == NULL or (isinstance(value, dict) and NULL in (value.get("value"), value.get("object"))))
    kept = {key: value for key, value in body.items() if stored_name(key, context) not in removed and key not in ("id", "type")}
    fragment = parse_entity(kept, context, fragment=True)
    fragment.id, fragment.type = row.id, row.type
    write = _write(fragment, removed)
    write.details.update({name: None for name in removed})
    return write


# ---- batch operations ------------------------------------------------------------------------


def _batch_entities(body: Any) -> list[Any]:
    if not isinstance(body, list):
        raise bad_request_data("A batch is a JSON array of entities")
    if not body:
        raise bad_request_data("A batch names at least one entity")
    if len(body) > MAX_BATCH:
        raise bad_request_data(f"A batch holds at most {MAX_BATCH:,} entities; send several")
    return body


def _error_of(error: ICityError) -> dict[str, Any]:
    translated = translate(error)
    return translated.problem()


def _batch_answer(outcomes: list[tuple[str, ICityError | None]], success_status: int, success_body: Any = None) -> Response:
    errors = [{"entityId": entity_id, "error": _error_of(error)} for entity_id, error in outcomes if error is not None]
    success = [entity_id for entity_id, error in outcomes if error is None]
    if errors:
        return JSONResponse({"success": success, "errors": errors}, status_code=207)
    if success_status == 204:
        return Response(status_code=204)
    return JSONResponse(success_body if success_body is not None else success, status_code=success_status)


def _parse_each(body: list[Any], context: Context) -> list[tuple[Any, Parsed | None, ICityError | None]]:
    parsed = []
    for index, item in enumerate(body):
        entity_id = item.get("id") if isinstance(item, dict) else None
        try:
            parsed.append((entity_id, parse_entity(item, context, path=f"[{index}]."), None))
        except ICityError as error:
            parsed.append((entity_id, None, error))
    return parsed


def _batch_write(session: Session, system: Any, body: list[Any], context: Context, *, replace: bool, require: str | None):
    parsed = _parse_each(body, context)
    good = [p for _, p, e in parsed if p is not None]
    outcomes = iter(entity_writes.write_entities(session, system, [_write(p) for p in good], replace=replace, require=require))
    results: list[tuple[str, ICityError | None, bool]] = []
    for entity_id, item, error in parsed:
        if item is None:
            results.append((str(entity_id), error, False))
        else:
            outcome = next(outcomes)
            results.append((outcome.entity_id, outcome.error, outcome.created))
    return results


@router.post("/entityOperations/create", summary="Batch create (CIM 009 5.6.7)")
def batch_create(request: Request, body: Body, session: WriteTransactionDep, principal: PrincipalDep, tenant: Tenant):
    items = _batch_entities(body)
    context = body_context(request, items)
    system = _system(session, principal, tenant)
    results = _batch_write(session, system, items, context, replace=True, require="new")
    session.commit()
    return _batch_answer([(i, e) for i, e, _ in results], 201)


@router.post("/entityOperations/upsert", summary="Batch upsert (CIM 009 5.6.8)")
def batch_upsert(
    request: Request, body: Body, session: WriteTransactionDep, principal: PrincipalDep, tenant: Tenant,
    options: Annotated[str | None, Query()] = None,
):  # fmt: skip
    items = _batch_entities(body)
    context = body_context(request, items)
    system = _system(session, principal, tenant)
    merge = options is not None and "update" in options.split(",")
    results = _batch_write(session, system, items, context, replace=not merge, require=None)
    session.commit()
    created = [i for i, e, new in results if e is None and new]
    if any(e is not None for _, e, _ in results):
        return _batch_answer([(i, e) for i, e, _ in results], 201)
    return JSONResponse(created, status_code=201) if created else Response(status_code=204)


@router.post("/entityOperations/update", summary="Batch update (CIM 009 5.6.9)")
def batch_update(
    request: Request, body: Body, session: WriteTransactionDep, principal: PrincipalDep, tenant: Tenant,
    options: Annotated[str | None, Query()] = None,
):  # fmt: skip
    items = _batch_entities(body)
    context = body_context(request, items)
    system = _system(session, principal, tenant)
    if options and "noOverwrite" in options.split(","):
        items = _without_existing_attributes(session, principal, items, context)
    results = _batch_write(session, system, items, context, replace=False, require="existing")
    session.commit()
    return _batch_answer([(i, e) for i, e, _ in results], 204)


def _without_existing_attributes(session: Session, principal: Principal, items: list[Any], context: Context) -> list[Any]:
    ids = tuple(item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str))
    stored = {row.id: row for row in entities.match_entities(session, principal, entities.EntityMatch(ids=ids, limit=len(ids) or 1)).rows}
    kept = []
    for item in items:
        row = stored.get(item.get("id")) if isinstance(item, dict) else None
        if row is not None:
            item = {k: v for k, v in item.items() if k in ("id", "type", "@context") or stored_name(k, context) not in row.attributes}
        kept.append(item)
    return kept


@router.post("/entityOperations/merge", summary="Batch merge (CIM 009 5.6.20)")
def batch_merge(request: Request, body: Body, session: WriteTransactionDep, principal: PrincipalDep, tenant: Tenant):
    items = _batch_entities(body)
    context = body_context(request, items)
    system = _system(session, principal, tenant)
    ids = tuple(item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str))
    stored = {row.id: row for row in entities.match_entities(session, principal, entities.EntityMatch(ids=ids, limit=len(ids) or 1)).rows}
    writes, results = [], []
    for index, item in enumerate(items):
        entity_id = item.get("id") if isinstance(item, dict) else None
        row = stored.get(entity_id)
        if row is None:
            results.append((str(entity_id), resource_not_found(f"No entity with id {entity_id}")))
            continue
        try:
            writes.append((str(entity_id), _merge_write(row, item, context)))
        except ICityError as error:
            results.append((str(entity_id), error))
    outcomes = entity_writes.write_entities(session, system, [w for _, w in writes], require="existing")
    results += [(o.entity_id, o.error) for o in outcomes]
    session.commit()
    return _batch_answer(results, 204)


@router.post("/entityOperations/delete", summary="Batch delete (CIM 009 5.6.10)")
def batch_delete(body: Body, session: WriteTransactionDep, principal: PrincipalDep, tenant: Tenant):
    ids = _batch_entities(body)
    if not all(isinstance(i, str) for i in ids):
        raise bad_request_data("A batch delete is a JSON array of entity ids")
    system = _system(session, principal, tenant)
    outcomes = entity_writes.delete_entities(session, system, ids)
    session.commit()
    return _batch_answer([(o.entity_id, o.error) for o in outcomes], 204)

