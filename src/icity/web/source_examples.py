"""What the source form starts from, per connector kind: typical settings, and a mapping —
the connector's standard one when it has one (icalendar, gtfs, open311), otherwise a
small example to edit, naming the IS's entity type. Starting points only: what is
accepted is decided by services/sources.py."""

from __future__ import annotations

import json
from typing import Any

from icity.connectors import CONNECTORS

KINDS = tuple(CONNECTORS)


def settings_example(kind: str, entity_type: str) -> dict[str, Any]:
    return {
        "csv": {"delimiter": ",", "encoding": "utf-8"},
        "json": {"recordsPath": "data.items"},
        "icalendar": {"pastDays": 7, "futureDays": 90},
        "gtfs": {"table": "stops"},
        "ngsi-v2": {"entityType": entity_type},
        "ngsi-ld": {"entityType": entity_type},
    }.get(kind, {})


# Where each kind's records carry their position, as the mapping's `location` names it.
_LOCATIONS = {
    "geojson": {"geojson": "geometry"},  # each feature's geometry, as the connector hands it over
    "ngsi-v2": {"geojson": "location"},
    "ngsi-ld": {"geojson": "location"},
}


def standard_mapping(kind: str, settings: dict[str, Any]) -> dict[str, Any] | None:
    """The mapping the connector applies when none is given (None: it has none, or the settings do not hold)."""
    connector = CONNECTORS[kind]
    try:
        return connector.default_mapping(connector.Config.model_validate(settings))
    except ValueError:  # settings a person is still typing: no standard mapping to show yet
        return None


def mapping_example(kind: str, entity_type: str) -> dict[str, Any]:
    standard = standard_mapping(kind, settings_example(kind, entity_type))
    if standard is not None:
        return standard
    return {
        "entityType": entity_type,
        "id": {"field": "id"},
        "location": _LOCATIONS.get(kind, {"lat": "latitude", "lon": "longitude"}),
        "attributes": {"name": {"field": "name"}},
    }


def pretty(value: dict[str, Any] | None) -> str:
    return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)


def examples(entity_type: str) -> dict[str, dict[str, str]]:
    """Per kind, the settings and mapping texts the form's script swaps in when the kind changes."""
    return {
        kind: {"settings": pretty(settings_example(kind, entity_type)), "mapping": pretty(mapping_example(kind, entity_type))}
        for kind in KINDS
    }
