"""Temporal representations of entities (CIM 009 4.5.7–4.5.9, 4.5.19): normalized (each attribute
an array of its instances), simplified (`temporalValues`: [value, time] pairs) and aggregated
(`aggregatedValues`: [value, start, end] per period and method) — from services/history's series.

An instance's id is derived from what keys an observation in the store (entity, attribute, time),
so it is stable without being stored: urn:ngsi-ld:Instance:<digest of entity and attribute>:<µs since 1970>.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from icity.ngsi_ld.contexts import Context, shown_name
from icity.ngsi_ld.representation import TYPED, VALUE_MEMBER, default_kind
from icity.services.history import Bucket

NORMALIZED, TEMPORAL_VALUES, AGGREGATED = "normalized", "temporalValues", "aggregatedValues"
INSTANCE_PREFIX = "urn:ngsi-ld:Instance:"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# the member holding a simplified temporal attribute's [value, time] pairs, by attribute type
SIMPLIFIED_MEMBER = {"Relationship": "objects", "LanguageProperty": "languageMaps", "ListProperty": "valueLists",
                     "ListRelationship": "objectLists", "JsonProperty": "jsons", "VocabProperty": "vocabs"}  # fmt: skip
# aggregation methods: NGSI-LD's names → services.history's
METHODS = {"totalCount": "count", "distinctCount": "distinct", "sum": "sum", "avg": "avg", "min": "min", "max": "max",
           "stddev": "stddev", "sumsq": "sumsq"}  # fmt: skip


@dataclass(frozen=True)
class TemporalView:
    context: Context
    form: str = NORMALIZED
    methods: tuple[str, ...] = ()  # NGSI-LD names, for the aggregated form


def instance_id(entity_id: str, attribute: str, observed_at: datetime) -> str:
    micros = (observed_at - EPOCH) // timedelta(microseconds=1)
    return f"{INSTANCE_PREFIX}{_digest(entity_id, attribute)}:{micros}"


def instance_time(entity_id: str, attribute: str, instance: str) -> datetime | None:
    """The observation time an instance id of this entity's attribute names; None if it names none."""
    digest, _, micros = instance.removeprefix(INSTANCE_PREFIX).partition(":")
    if not instance.startswith(INSTANCE_PREFIX) or digest != _digest(entity_id, attribute) or not micros.isdigit():
        return None
    return EPOCH + timedelta(microseconds=int(micros))


def _digest(entity_id: str, attribute: str) -> str:
    return hashlib.sha256(f"{entity_id}\0{attribute}".encode()).hexdigest()[:16]


def wire_time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _kind(row: Any, name: str) -> tuple[str, dict[str, Any]]:
    detail = (row.details or {}).get(name) or {}
    return detail.get("type") or default_kind(row.type, name), detail


def temporal_entity(row: Any, history: dict[str, list[tuple[datetime, Any]]], view: TemporalView) -> dict[str, Any]:
    """One entity (a match_entities row) with its attributes' observations, normalized or simplified."""
    body: dict[str, Any] = {"id": row.id, "type": shown_name(row.type, view.context)}
    for name in sorted(history):
        kind, detail = _kind(row, name)
        member = VALUE_MEMBER.get(kind, "value")
        items = history[name]
        if view.form == TEMPORAL_VALUES:
            pairs = [[_typed(value, detail), wire_time(at)] for at, value in items]
            body[shown_name(name, view.context)] = {"type": kind, SIMPLIFIED_MEMBER.get(kind, "values"): pairs}
            continue
        extra = {"unitCode": detail["unitCode"]} if "unitCode" in detail else {}
        body[shown_name(name, view.context)] = [
            {"type": kind, member: _typed(value, detail), "observedAt": wire_time(at), "instanceId": instance_id(row.id, name, at), **extra}
            for at, value in items
        ]
    return body


def _typed(value: Any, detail: dict[str, Any]) -> Any:
    return {"@type": detail[TYPED], "@value": value} if TYPED in detail else value


def aggregated_entity(row: Any, buckets: dict[str, list[Bucket]], view: TemporalView) -> dict[str, Any]:
    """One entity with, per attribute and method, [value, start, end] of each period holding observations."""
    body: dict[str, Any] = {"id": row.id, "type": shown_name(row.type, view.context)}
    for name in sorted(buckets):
        kind, _ = _kind(row, name)
        attribute: dict[str, Any] = {"type": kind}
        # a period's end is the next one's start: each time written once
        times: dict[datetime, str] = {}
        for bucket in buckets[name]:
            for at in (bucket.start, bucket.end):
                if at not in times:
                    times[at] = wire_time(at)
        for method in view.methods:
            measure = METHODS[method]
            attribute[method] = [
                [bucket.values[measure], times[bucket.start], times[bucket.end]]
                for bucket in buckets[name]
                if bucket.values[measure] is not None  # e.g. the average of a text attribute
            ]
        body[shown_name(name, view.context)] = attribute
    return body
