"""The demo systems that are fed by connectors instead of synthetic data.

Each reads a feed shipped in ``icity/demo/feeds/``, written in the style of the
city's own system, which ``icity serve`` publishes under ``/demo-sources/``:

- ``cornella/city-agenda`` — the City Agenda the Cornellà pilot opened, an
  iCalendar feed (``cornella-agenda.ics``: recurring workshops, story time, a
  farmers' market, the monthly plenary, one-off concerts and fairs; Europe/Madrid),
  read with the icalendar connector and its standard mapping to ``Event`` over a
  window that moves with the day of the run (a week back, three months ahead);
- ``cornella/air-quality`` — the latest hour of Cornellà's air-quality stations as
  a portal's CSV (``cornella-qualitat-aire.csv``: ``;``-separated, Latin-1,
  decimal commas, UTM 31N coordinates, local times, CO in µg/m³, the Catalan
  air-quality index), mapped to ``AirQualityObserved``; one station's analyser is
  out of service (``n/d``) and that row is rejected on purpose;
- ``bologna/bus-stops`` and ``bologna/bus-routes`` — a GTFS zip in the style of
  TPER's (``bologna-tper-gtfs.zip``, built by ``tests/demo/make_gtfs.py``), read
  with the gtfs connector and its standard mappings to ``GtfsStop``/``GtfsRoute``;
- ``lamia/incidents`` — the incident reports of Lamía's Open311 (GeoReport v2)
  server, as ImproveMyCity-style servers answer ``requests.json``
  (``lamia-open311/requests.json``), with the standard mapping to
  ``service_requests``.

The consortium cities' air quality stays synthetic, with its hourly history: it
is the portability showcase and the query benchmark's workload.

Nothing is read at load time: the sources are only configured (as the CLI
principal, through the same service as the API), and the harvest scheduler of
``icity serve`` runs them — at once, as they have never run, then on their schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from icity.demo.feeds import DEMO_SOURCES_PATH
from icity.services import sources
from icity.services.access import CLI

AIR_QUALITY_LEVELS = {  # Índex Català de Qualitat de l'Aire → the level the demo's air-quality systems give
    "Bona": "good",
    "Raonablement bona": "moderate",
    "Regular": "moderate",
    "Desfavorable": "unhealthyForSensitiveGroups",
    "Molt desfavorable": "unhealthy",
    "Extremadament desfavorable": "unhealthy",
}
_LOCAL_TIME = {"format": "%d/%m/%Y %H:%M", "timezone": "Europe/Madrid"}
_UG = {"type": "number"}  # µg/m³, as the file gives them

CORNELLA_AIR_QUALITY_MAPPING: dict[str, Any] = {
    "entityType": "AirQualityObserved",
    "id": {"field": "CODI_ESTACIO"},
    "observedAt": {"field": "DATA_HORA", **_LOCAL_TIME},
    "location": {"x": "UTM_X", "y": "UTM_Y", "crs": "EPSG:25831"},
    "decimalSeparator": ",",
    "attributes": {
        "name": {"field": "NOM_ESTACIO"},
        "areaServed": {"field": "BARRI"},
        "dateObserved": {"field": "DATA_HORA", "type": "datetime", **_LOCAL_TIME},
        "no2": {"field": "NO2 (µg/m³)", **_UG},
        "pm10": {"field": "PM10 (µg/m³)", **_UG},
        "pm25": {"field": "PM2.5 (µg/m³)", **_UG},
        "o3": {"field": "O3 (µg/m³)", **_UG},
        # The demo's air-quality systems give CO in mg/m³, as the reference networks do.
        "co": {"field": "CO (µg/m³)", "type": "number", "unit": {"from": "ug/m3", "to": "mg/m3"}},
        "airQualityLevel": {"field": "ICQA", "values": AIR_QUALITY_LEVELS},
    },
    "constants": {"typeofLocation": "outdoor", "dataProvider": "Ajuntament de Cornellà de Llobregat"},
}


@dataclass(frozen=True)
class DemoSource:
    system_id: str
    kind: str
    path: str  # under the demo sources' base URL
    schedule: str
    settings: dict[str, Any] = field(default_factory=dict)
    mapping: dict[str, Any] | None = None  # None: the connector's standard mapping

    def connector(self, feeds_url: str) -> dict[str, Any]:
        return {"kind": self.kind, "url": f"{feeds_url.rstrip('/')}/{self.path}", **self.settings}


SOURCES: list[DemoSource] = [
    DemoSource("cornella/city-agenda", "icalendar", "cornella-agenda.ics", "1h", {"pastDays": 7, "futureDays": 90}),
    DemoSource(
        "cornella/air-quality",
        "csv",
        "cornella-qualitat-aire.csv",
        "15m",
        {"delimiter": ";", "encoding": "latin-1"},
        CORNELLA_AIR_QUALITY_MAPPING,
    ),
    DemoSource("bologna/bus-stops", "gtfs", "bologna-tper-gtfs.zip", "1d", {"table": "stops"}),
    DemoSource("bologna/bus-routes", "gtfs", "bologna-tper-gtfs.zip", "1d", {"table": "routes"}),
    # The Open311 connector reads {url}/requests.json; a static server ignores its query string.
    DemoSource("lamia/incidents", "open311", "lamia-open311", "15m"),
]
BY_SYSTEM = {source.system_id: source for source in SOURCES}


def default_feeds_url() -> str:
    """Where `icity serve` publishes the feeds, as a path on the platform: the sources resolve it against
    the public URL when they are read, so a demo loaded before `icity serve --port 8123` still reads them."""
    return DEMO_SOURCES_PATH


def configure(session: Session, source: DemoSource, feeds_url: str) -> None:
    sources.configure(
        session,
        CLI,
        source.system_id,
        connector=source.connector(feeds_url),
        mapping=source.mapping,
        schedule=source.schedule,
        retire_missing=True,  # an agenda's past occurrences and closed-and-purged requests leave the IS
    )
