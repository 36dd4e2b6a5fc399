"""Every connector kind by name. Adding a kind: one module, one line here."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from icity.connectors.base import Connector, ConnectorConfig
from icity.connectors.csv_source import CsvConnector
from icity.connectors.geojson_source import GeoJsonConnector
from icity.connectors.gtfs_source import GtfsConnector
from icity.connectors.icalendar_source import ICalendarConnector
from icity.connectors.json_source import JsonConnector
from icity.connectors.ngsi_source import NgsiLdConnector, NgsiV2Connector
from icity.connectors.open311_source import Open311Connector
from icity.errors import FieldProblem, bad_parameter, invalid

CONNECTORS: dict[str, type[Connector]] = {
    connector.kind: connector
    for connector in (
        # documents at a URL
        CsvConnector,
        JsonConnector,
        GeoJsonConnector,
        ICalendarConnector,
        GtfsConnector,
        # APIs read page by page
        Open311Connector,
        NgsiV2Connector,
        NgsiLdConnector,
    )
}


def get_connector(kind: str) -> type[Connector]:
    try:
        return CONNECTORS[kind]
    except KeyError:
        known = ", ".join(sorted(CONNECTORS))
        raise bad_parameter("connector.kind", f"Unknown connector kind '{kind}'; known kinds: {known}.") from None


def validate_config(kind: str, settings: dict[str, Any]) -> ConnectorConfig:
    """The connector's settings, checked; every problem is reported with its path (``connector.delimiter``)."""
    connector = get_connector(kind)
    try:
        return connector.Config.model_validate(settings)
    except ValidationError as error:
        problems = [
            FieldProblem(".".join(["connector", *(str(part) for part in problem["loc"])]), _reason(problem))
            for problem in error.errors(include_url=False)
        ]
        raise invalid(problems) from None


def _reason(problem: dict[str, Any]) -> str:
    if problem["type"] == "extra_forbidden":
        return "Unknown setting for this connector kind."
    return problem["msg"].removeprefix("Value error, ")
