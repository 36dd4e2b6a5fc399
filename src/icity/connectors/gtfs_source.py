"""GTFS static feeds (a zip of CSV tables): a transport operator's stops or routes."""

from __future__ import annotations

import codecs
import csv
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, Any, Literal

from pydantic import Field

from icity.connectors.base import ConnectorConfig, Record, SourceError
from icity.connectors.csv_source import header_records
from icity.connectors.document import DocumentConnector
from icity.connectors.streams import refuse_html

_SOURCE = "The GTFS source"
# A zip's directory is at its end, so the body must be stored before it can be read; feeds up
# to this size stay in memory, larger ones (a region's stop_times.txt) go to a temporary file.
_SPOOL_IN_MEMORY = 8 * 1024 * 1024

# GTFS route_type → the basic types the GtfsRoute model enumerates (0-7), for the extended
# types (Google's "Extended GTFS Route Types") that say the same thing in more detail.
# 11 (trolleybus) and 12 (monorail) are GTFS types the model has not caught up with: kept.
_BASIC_ROUTE_TYPES: dict[str, str] = {str(code): str(code) for code in (*range(8), 11, 12)}
_EXTENDED_ROUTE_TYPES: dict[range, str] = {
    range(100, 200): "2",  # railway service
    range(200, 300): "3",  # coach service
    range(400, 405): "1",  # urban railway, metro, underground
    range(405, 406): "12",  # monorail
    range(700, 800): "3",  # bus service
    range(800, 801): "11",  # trolleybus
    range(900, 1000): "0",  # tram service
    range(1000, 1001): "4",  # water transport
    range(1200, 1201): "4",  # ferry
    range(1300, 1400): "6",  # aerial lift
    range(1400, 1401): "7",  # funicular
}
ROUTE_TYPES: dict[str, str] = _BASIC_ROUTE_TYPES | {
    str(code): basic for codes, basic in _EXTENDED_ROUTE_TYPES.items() for code in codes
}


class GtfsConfig(ConnectorConfig):
    table: Literal["stops", "routes"] = Field(
        "stops",
        description="The table to read: one information system serves one entity type (GtfsStop or GtfsRoute).",
    )


class GtfsConnector(DocumentConnector):
    """Each row of ``stops.txt`` or ``routes.txt`` is one record keyed by the header's names,
    values as text like any CSV. Record numbers count data rows from 1."""

    kind = "gtfs"
    Config = GtfsConfig

    @classmethod
    def records(cls, config: GtfsConfig, body: Iterable[bytes]) -> Iterator[Record]:
        name = f"{config.table}.txt"
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spooled:
            for chunk in refuse_html(body, _SOURCE):
                spooled.write(chunk)
            spooled.seek(0)
            with _open_zip(spooled) as archive, _open_member(archive, name) as member:
                yield from _rows(member, name)

    @classmethod
    def default_mapping(cls, config: GtfsConfig) -> dict[str, Any]:
        """To the Smart Data Model ``GtfsStop`` or ``GtfsRoute``; GTFS codes (wheelchair_boarding
        0/1/2, route_type 0-7) are what those models enumerate, so they are kept as text; extended
        route types (700 bus service…) become the basic type they refine."""
        if config.table == "routes":
            return {
                "entityType": "GtfsRoute",
                "id": {"field": "route_id"},
                "attributes": {
                    "shortName": {"field": "route_short_name"},
                    "name": {"field": "route_long_name"},
                    "description": {"field": "route_desc"},
                    "routeType": {"field": "route_type", "required": True, "values": ROUTE_TYPES},
                    "routeColor": {"field": "route_color"},
                    "routeTextColor": {"field": "route_text_color"},
                    "routeSortOrder": {"field": "route_sort_order", "type": "number"},
                    "page": {"field": "route_url"},
                },
            }
        return {
            "entityType": "GtfsStop",
            "id": {"field": "stop_id"},
            # Stations' entrances and generic nodes may have no coordinates: keep them without a location.
            "location": {"lat": "stop_lat", "lon": "stop_lon", "required": False},
            "attributes": {
                "name": {"field": "stop_name"},
                "code": {"field": "stop_code"},
                "description": {"field": "stop_desc"},
                "zoneCode": {"field": "zone_id"},
                "wheelChairAccessible": {"field": "wheelchair_boarding"},
                "hasParentStation": {"field": "parent_station"},
                "page": {"field": "stop_url"},
            },
        }


def _open_zip(file: IO[bytes]) -> zipfile.ZipFile:
    # The directory is read at once: a cut or non-zip body fails here, before any record.
    try:
        return zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise SourceError(f"{_SOURCE} is not a valid zip file (truncated or not a GTFS feed): {error}.") from None


def _open_member(archive: zipfile.ZipFile, name: str) -> IO[bytes]:
    # Some exporters put the tables in a folder inside the zip; GTFS wants them at the root,
    # but the table is unambiguous either way.
    matches = [info for info in archive.infolist() if info.filename.rsplit("/", 1)[-1] == name]
    if not matches:
        present = ", ".join(sorted(info.filename for info in archive.infolist() if not info.is_dir())) or "nothing"
        raise SourceError(f"{_SOURCE} has no {name} (the zip holds: {present}).")
    try:
        return archive.open(matches[0])
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as error:
        raise SourceError(f"{_SOURCE} cannot open {name}: {error}.") from None


def _rows(member: IO[bytes], name: str) -> Iterator[Record]:
    # GTFS is UTF-8; many exporters add a BOM. A bad CRC or a cut member shows only while reading.
    text = codecs.getreader("utf-8-sig")(member, errors="strict")
    reader = csv.reader(text, strict=True)
    try:
        yield from header_records((row for row in reader if row), f"{_SOURCE}'s {name}")
    except UnicodeDecodeError as error:
        raise SourceError(f"{_SOURCE}'s {name} is not valid UTF-8 (line {reader.line_num + 1}): {error.reason}.") from None
    except csv.Error as error:
        raise SourceError(f"{_SOURCE}'s {name} is malformed at line {reader.line_num}: {error}.") from None
    except (zipfile.BadZipFile, EOFError) as error:
        raise SourceError(f"{_SOURCE}'s {name} is damaged in the zip: {error}.") from None

