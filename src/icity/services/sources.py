"""An information system's source: its connector, its mapping and its schedule.

The rules for setting them up live here: who may (the owning city's admins and
the platform admin), what a valid setup is (every problem reported with its
path: ``connector.delimiter``, ``mapping.attributes.no2.unit``), and the preview
that reads the source and maps it without saving anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from icity.config import get_settings
from icity.connectors import (
    Connector,
    ConnectorConfig,
    Reading,
    Record,
    SourceError,
    SourceRequest,
    get_connector,
    validate_config,
)
from icity.db.models import InformationSystem
from icity.errors import FieldProblem, ICityError, invalid
from icity.harmonise.mapping import Mapping, RecordRejected, map_record, record_entity_id
from icity.services import entity_store, schedules
from icity.services.access import Principal, administered_system

PREVIEW_DEFAULT = 10
PREVIEW_MAX = 100
LISTED_REJECTIONS = 100  # rejections kept per run or preview; the count covers all of them
SOURCE_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Source:
    """A checked setup, ready to read: where, with which connector, mapped how, into which IS."""

    system_id: str
    city_id: str
    connector: type[Connector]
    config: ConnectorConfig
    url: str
    mapping: Mapping
    served_types: frozenset[str]


@contextmanager
def read_source(source: Source, etag: str | None = None, last_modified: str | None = None) -> Iterator[Reading]:
    """Open the source with its connector; ``etag``/``last_modified`` are the previous run's validators."""
    request = SourceRequest(
        source.url, etag=etag, last_modified=last_modified, timeout_s=get_settings().harvest_timeout_s
    )
    with source.connector.read(source.config, request) as reading:
        yield reading


@dataclass(frozen=True, slots=True)
class Outcome:
    """One record read and mapped: an entity checked against its data model, or a rejection."""

    number: int
    entity: dict[str, Any] | None = None  # as entity_store.check_entity returns it
    payload: dict[str, Any] | None = None  # the mapped entity, as the API shows it
    reason: str | None = None
    field: str | None = None
    entity_id: str | None = None  # known even for most rejections, so a rejected record does not retire its entity


def parse_source(system: InformationSystem, served: set[str], connector: Any, mapping: Any) -> Source:
    """Check a connector and mapping document for ``system``; 422 with every problem's path."""
    if not isinstance(connector, dict):
        raise invalid([FieldProblem("connector", "give the connector as an object with 'kind' and 'url'")])
    settings = dict(connector)
    kind, url = settings.pop("kind", None), settings.pop("url", None)
    problems: list[FieldProblem] = []
    connector_class = config = None
    if not isinstance(kind, str):
        problems.append(FieldProblem("connector.kind", "name the connector kind, e.g. 'csv'"))
    else:
        try:
            connector_class = get_connector(kind)
            config = validate_config(kind, settings)
        except ICityError as error:
            problems += error.errors or [FieldProblem(error.param or "connector.kind", error.detail)]
    url = platform_url(url)
    problems += _url_problems(url)
    parsed_mapping = None
    if mapping is None and connector_class is not None and config is not None:
        mapping = connector_class.default_mapping(config)
        if mapping is None:
            problems.append(FieldProblem("mapping", f"a '{kind}' source needs a mapping to a Smart Data Model"))
    if mapping is not None:
        try:
            parsed_mapping = Mapping.parse(mapping)
        except ICityError as error:
            problems += [FieldProblem(_prefixed("mapping", p.path), p.detail) for p in error.errors]
    if parsed_mapping is not None and parsed_mapping.entity_type not in served:
        problems.append(
            FieldProblem(
                "mapping.entityType",
                f"{system.id} serves {', '.join(sorted(served))}, not {parsed_mapping.entity_type}",
            )
        )
    if problems:
        raise invalid(problems)
    assert connector_class is not None and config is not None and parsed_mapping is not None
    return Source(system.id, system.city_id, connector_class, config, url, parsed_mapping, frozenset(served))


def stored_source(session: Session, system: InformationSystem) -> Source:
    if not system.connector:
        raise ICityError(
            detail=f"{system.id} has no connector yet: set one with PUT /api/v1/information-systems/{system.id}/source",
            status=409,
            code="no-connector",
            title="No connector",
        )
    return parse_source(system, entity_store.served_types(session, system.id), system.connector, system.mapping)


def platform_url(url: Any) -> Any:
    """A source URL given as a path (``/demo-sources/…``) is on this platform: resolved against its
    public URL each time the source is read, so it follows ICITY_PORT/ICITY_PUBLIC_URL after it was stored."""
    if isinstance(url, str) and url.startswith("/") and not url.startswith("//"):
        return get_settings().public_url + url
    return url


def _url_problems(url: Any) -> list[FieldProblem]:
    if not isinstance(url, str) or not url.strip():
        return [FieldProblem("connector.url", "give the URL the city's system answers at")]
    parts = urlsplit(url)
    if parts.scheme.lower() not in SOURCE_SCHEMES or not parts.hostname:
        # Local files are not offered: a URL set through the API must not read the platform's own disk.
        return [
            FieldProblem(
                "connector.url",
                "the URL must start with http:// or https:// and name a host (or be a path on this platform, /…)",
            )
        ]
    return []


def _prefixed(prefix: str, path: str) -> str:
    return f"{prefix}.{path}" if path and not path.startswith("[") else f"{prefix}{path}"


def configure(
    session: Session,
    principal: Principal,
    system_id: str,
    *,
    connector: dict[str, Any],
    mapping: dict[str, Any] | None,
    schedule: str | None,
    retire_missing: bool,
) -> InformationSystem:
    """Set (or replace) an IS's source. Nothing is read until a run; the preview reads without saving."""
    system = administered_system(session, principal, system_id)
    problems: list[FieldProblem] = []
    try:
        parse_source(system, entity_store.served_types(session, system.id), connector, mapping)
    except ICityError as error:
        problems += error.errors
    if schedule is not None:
        problem = schedules.problem_with(schedule)
        if problem:
            problems.append(FieldProblem("schedule", problem))
    if problems:
        raise invalid(problems)
    system.connector = connector
    system.mapping = mapping
    system.schedule = schedule.strip() if schedule else None
    system.retire_missing = retire_missing
    session.flush()
    return system


def outcomes(source: Source, records: Iterator[Record]) -> Iterator[Outcome]:
    """Map and check each record; a bad record becomes a rejection and the others go on."""
    served = set(source.served_types)
    for record in records:
        if record.problem:
            yield Outcome(record.number, reason=record.problem)
            continue
        try:
            payload = map_record(source.mapping, record.data, source.city_id)
        except RecordRejected as rejected:
            yield Outcome(record.number, reason=rejected.reason, field=rejected.field, entity_id=_id_if_known(source, record))
            continue
        entity, problems = entity_store.check_entity(payload, source.city_id, served)
        if entity is None:
            reason = "; ".join(f"{p.path.removeprefix('[0].')}: {p.detail}" for p in problems)
            yield Outcome(record.number, payload=payload, reason=reason, entity_id=payload.get("id"))
            continue
        yield Outcome(record.number, entity=entity, payload=payload, entity_id=entity["id"])


def _id_if_known(source: Source, record: Record) -> str | None:
    try:
        return record_entity_id(source.mapping, record.data, source.city_id)
    except RecordRejected:
        return None


def rejection(outcome: Outcome) -> dict[str, Any]:
    listed = {"record": outcome.number, "reason": outcome.reason}
    if outcome.field:
        listed["field"] = outcome.field
    return listed


def preview(
    session: Session,
    principal: Principal,
    system_id: str,
    *,
    connector: dict[str, Any] | None = None,
    mapping: dict[str, Any] | None = None,
    limit: int = PREVIEW_DEFAULT,
) -> dict[str, Any]:
    """Read the whole source and map it, saving nothing: the first ``limit`` entities and the
    rejected records with their reasons. Without a connector, the stored setup is previewed."""
    system = administered_system(session, principal, system_id)
    served = entity_store.served_types(session, system.id)
    if connector is None:
        source = stored_source(session, system) if mapping is None else parse_source(system, served, system.connector, mapping)
    else:
        source = parse_source(system, served, connector, mapping)
    entities: list[dict[str, Any]] = []
    rejections: list[dict[str, Any]] = []
    fetched = rejected = 0
    try:
        with read_source(source) as reading:
            for outcome in outcomes(source, reading.records):
                fetched += 1
                if outcome.entity is None:
                    rejected += 1
                    if len(rejections) < LISTED_REJECTIONS:
                        rejections.append(rejection(outcome))
                elif len(entities) < min(limit, PREVIEW_MAX):
                    entities.append(outcome.payload)
    except SourceError as error:
        raise ICityError(
            detail=error.detail, status=502, code="source-failed", title="The source could not be read"
        ) from None
    return {
        "informationSystem": system.id,
        "fetched": fetched,
        "valid": fetched - rejected,
        "rejected": rejected,
        "entities": entities,
        "rejections": rejections,
    }
