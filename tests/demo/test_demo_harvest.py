"""The demo's connected systems (icity.demo.connected), harvested for real: the demo is
loaded into a fresh database with its feeds URL pointing at a local HTTP server that
serves src/icity/demo/feeds, as `icity serve` does under /demo-sources, and every
connected IS is run twice with harvest.run_now."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import recurring_ical_events
from icalendar import Calendar
from sqlalchemy import func, select

from icity.config import get_settings
from icity.db.engine import get_engine, new_session, transaction
from icity.db.models import City, Entity, HarvestRun, InformationSystem, Observation
from icity.demo import connected, load_demo
from icity.demo.feeds import DEMO_FEEDS
from icity.services import harvest, sources
from icity.services.access import CLI
from tests.demo import make_gtfs

TODAY = date(2024, 5, 15)  # the synthetic data's end; the connected systems read the feeds as they are
AGENDA = "cornella/city-agenda"
AIR = "cornella/air-quality"
STOPS = "bologna/bus-stops"
ROUTES = "bologna/bus-routes"
INCIDENTS = "lamia/incidents"
URN = "urn:ngsi-ld:{type}:{city}:{local}"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def feeds_url() -> Iterator[str]:
    """src/icity/demo/feeds over HTTP on 127.0.0.1 (Last-Modified and 304s included)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(DEMO_FEEDS)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def harvested(databases, feeds_url) -> dict:
    """The demo loaded and each connected IS harvested twice; what each step gave."""
    url = databases.new()
    with transaction(url) as session:
        loaded = load_demo(session, TODAY, feeds_url=feeds_url)
    with new_session(url) as session:
        before = {s.system_id: _entity_count(session, s.system_id) for s in connected.SOURCES}
    first = {s.system_id: harvest.run_now(s.system_id, CLI, database_url=url) for s in connected.SOURCES}
    with new_session(url) as session:
        observations = session.scalar(select(func.count()).select_from(Observation))
        modified = {e.id: e.modified_at for e in session.scalars(select(Entity))}
    second = {s.system_id: harvest.run_now(s.system_id, CLI, database_url=url) for s in connected.SOURCES}
    return {
        "url": url,
        "loaded": loaded,
        "before": before,
        "first": first,
        "second": second,
        "observations": observations,
        "modified": modified,
    }


def _entity_count(session, system_id: str) -> int:
    return session.scalar(select(func.count()).select_from(Entity).where(Entity.information_system_id == system_id))


def _entities(url: str, system_id: str) -> dict[str, Entity]:
    with new_session(url) as session:
        found = session.scalars(
            select(Entity).where(Entity.information_system_id == system_id, Entity.retired_at.is_(None))
        ).all()
        session.expunge_all()
        return {entity.id.split(":", 4)[4]: entity for entity in found}  # urn:ngsi-ld:<type>:<city>:<local>


def _gtfs_rows(table: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(DEMO_FEEDS / "bologna-tper-gtfs.zip") as archive:
        text = archive.read(f"{table}.txt").decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _air_rows() -> list[dict[str, str]]:
    text = (DEMO_FEEDS / "cornella-qualitat-aire.csv").read_bytes().decode("latin-1")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def _open311_requests() -> list[dict]:
    return json.loads((DEMO_FEEDS / "lamia-open311" / "requests.json").read_text(encoding="utf-8"))


def _agenda_window() -> tuple[date, date]:
    settings = connected.BY_SYSTEM[AGENDA].settings
    today = date.today()
    return today - timedelta(days=settings["pastDays"]), today + timedelta(days=settings["futureDays"])


def _agenda_occurrences() -> list:
    calendar = Calendar.from_ical((DEMO_FEEDS / "cornella-agenda.ics").read_bytes().decode("utf-8"))
    start, end = _agenda_window()
    return recurring_ical_events.of(calendar).between(start, end + timedelta(days=1))


# ----------------------------------------------------------------------------- the setup


def test_the_connected_systems_get_a_source_and_no_synthetic_entities(harvested, feeds_url):
    assert harvested["loaded"]["sources"] == len(connected.SOURCES) == 5
    assert harvested["before"] == {s.system_id: 0 for s in connected.SOURCES}
    with new_session(harvested["url"]) as session:
        for source in connected.SOURCES:
            system = session.get(InformationSystem, source.system_id)
            assert system.status in ("trial", "open"), system.id
            assert system.connector["kind"] == source.kind
            assert system.connector["url"].startswith(feeds_url + "/")
            assert system.schedule == source.schedule and system.retire_missing
        schedules = {s.id: s.schedule for s in session.scalars(select(InformationSystem))}
    assert schedules[AGENDA] == "1h" and schedules[AIR] == "15m" and schedules[INCIDENTS] == "15m"
    assert schedules[STOPS] == schedules[ROUTES] == "1d"
    # the synthetic systems have no connector; the consortium's air quality stays synthetic
    assert schedules["barcelona/air-quality"] is None and schedules["london/air-quality"] is None


def test_the_demo_stores_its_feeds_as_a_path_read_from_the_public_url_when_harvested(monkeypatch):
    monkeypatch.setenv("ICITY_PUBLIC_URL", "https://icity.example.org/")
    get_settings.cache_clear()
    try:
        source = connected.BY_SYSTEM[INCIDENTS]
        stored = source.connector(connected.default_feeds_url())["url"]
        assert stored == "/demo-sources/lamia-open311"
        # the Open311 connector reads {url}/requests.json, a file of the feeds folder
        assert sources.platform_url(stored) + "/requests.json" == (
            "https://icity.example.org/demo-sources/lamia-open311/requests.json"
        )
        assert (DEMO_FEEDS / source.path / "requests.json").is_file()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_demo_loaded_before_icity_serve_on_another_port_harvests_from_that_port(databases, tmp_path):
    """`icity demo load` then `icity serve --port N` with no ICITY_PUBLIC_URL: the scheduler's first runs
    of the five connected systems read /demo-sources from port N and succeed."""
    url = databases.new()
    with transaction(url) as session:
        load_demo(session, TODAY)
    get_engine(url).dispose()  # PostgreSQL: the server gets the connections
    port = _free_port()
    env = {**os.environ, "ICITY_DATABASE_URL": url, "ICITY_VAR_DIR": str(tmp_path), "ICITY_BACKGROUND_IN_SERVER": "true"}
    for name in ("ICITY_PUBLIC_URL", "ICITY_PORT", "ICITY_HOST", "ICITY_MQTT_URL", "ICITY_REDIS_URL"):
        env.pop(name, None)
    server = subprocess.Popen(
        [sys.executable, "-m", "icity.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        runs: dict[str, str] = {}
        while time.monotonic() < deadline:
            with new_session(url) as session:
                runs = dict(
                    session.execute(
                        select(HarvestRun.information_system_id, HarvestRun.status).where(
                            HarvestRun.status != "running"
                        )
                    ).all()
                )
            if len(runs) == len(connected.SOURCES):
                break
            time.sleep(0.5)
        assert runs == {s.system_id: "succeeded" for s in connected.SOURCES}
        with new_session(url) as session:
            errors = session.scalars(select(HarvestRun.error).where(HarvestRun.error.is_not(None))).all()
        assert not errors
    finally:
        server.terminate()
        server.wait(30)


# ----------------------------------------------------------------------------- the first run


def test_every_first_run_succeeds_and_creates_what_the_feed_holds(harvested):
    expected = {
        AGENDA: len(_agenda_occurrences()),
        AIR: len(_air_rows()),
        STOPS: len(_gtfs_rows("stops")),
        ROUTES: len(_gtfs_rows("routes")),
        INCIDENTS: len(_open311_requests()),
    }
    assert expected[AIR] == 5 and expected[STOPS] == 24 and expected[ROUTES] == 6 and expected[INCIDENTS] == 20
    assert expected[AGENDA] > 40  # weekly and monthly series over ~14 weeks
    rejected = {AIR: 1}  # the Fontsanta station's analyser is out of service: NO2 'n/d'
    for system_id, run in harvested["first"].items():
        assert run["status"] == "succeeded", (system_id, run["error"], run["rejections"])
        assert run["fetched"] == expected[system_id], system_id
        assert run["rejected"] == rejected.get(system_id, 0), (system_id, run["rejections"])
        assert run["created"] == expected[system_id] - rejected.get(system_id, 0), system_id
        assert len(_entities(harvested["url"], system_id)) == run["created"], system_id


def test_the_rejected_air_quality_row_says_why(harvested):
    (rejection,) = harvested["first"][AIR]["rejections"]
    assert rejection["record"] == 5 and rejection["field"] == "NO2 (µg/m³)"
    assert "'n/d' is not a number" in rejection["reason"]
    assert "08073005" not in _entities(harvested["url"], AIR)


def test_every_harvested_entity_lies_inside_its_city_bbox(harvested):
    with new_session(harvested["url"]) as session:
        boxes = {c.id: c.bbox for c in session.scalars(select(City))}
    for source in connected.SOURCES:
        for entity in _entities(harvested["url"], source.system_id).values():
            if entity.lon is None:
                continue  # GTFS routes, and a request given with an address only
            min_lon, min_lat, max_lon, max_lat = boxes[entity.city_id]
            assert min_lon <= entity.lon <= max_lon and min_lat <= entity.lat <= max_lat, entity.id


# ----------------------------------------------------------------------------- mapped values


def test_air_quality_values_are_converted_and_placed(harvested):
    station = _entities(harvested["url"], AIR)["08073002"]
    assert station.id == URN.format(type="AirQualityObserved", city="cornella", local="08073002")
    attributes = station.attributes
    assert attributes["name"] == "Cornellà - Av. de Sant Ildefons"
    assert attributes["no2"] == 57.9 and attributes["pm10"] == 34.6 and attributes["pm25"] == 19.2
    assert attributes["co"] == 0.62  # 620 µg/m³ in the file, mg/m³ on the platform
    assert attributes["airQualityLevel"] == "moderate"  # ICQA 'Raonablement bona'
    assert attributes["typeofLocation"] == "outdoor"
    # 09:00 in Cornellà on 18 November (CET) is 08:00 UTC
    assert station.observed_at.replace(tzinfo=timezone.utc) == datetime(2026, 11, 18, 8, tzinfo=timezone.utc)
    assert attributes["dateObserved"].startswith("2026-11-18T08:00:00")
    # UTM 31N (423240.7, 4579883.0) is on Avinguda de Sant Ildefons
    assert station.lon == pytest.approx(2.0822, abs=1e-4) and station.lat == pytest.approx(41.3668, abs=1e-4)
    assert "co" not in _entities(harvested["url"], AIR)["08073004"].attributes  # Can Mercader measures no CO


def test_a_recurring_event_has_one_entity_per_occurrence_in_the_window(harvested):
    events = _entities(harvested["url"], AGENDA)
    start, end = _agenda_window()
    excluded = {date(2026, 12, 26), date(2027, 1, 2)}  # EXDATEs: the Christmas holidays
    saturdays = [
        day
        for day in (start + timedelta(days=n) for n in range((end - start).days + 1))
        if day.weekday() == 5 and day >= date(2026, 9, 12) and day not in excluded
    ]
    workshops = [e for local, e in events.items() if local.startswith("taller-robotica-families")]
    assert sorted(date.fromisoformat(e.attributes["startDate"][:10]) for e in workshops) == saturdays
    for event in workshops:
        start_date = datetime.fromisoformat(event.attributes["startDate"])
        moved = start_date.date() == date(2026, 12, 12)  # the modified occurrence, in the afternoon
        assert start_date.hour == (17 if moved else 11) and start_date.utcoffset() in (
            timedelta(hours=1),
            timedelta(hours=2),
        )
        assert event.attributes["category"] == ["Infants i famílies", "Tecnologia"]
        assert event.attributes["eventStatus"] == ["EventScheduled"]
        assert (event.lon, event.lat) == (2.0797, 41.3617)  # the Citilab
    assert len(events) == len(_agenda_occurrences())


def test_gtfs_stops_and_routes_are_mapped(harvested):
    stops = _entities(harvested["url"], STOPS)
    station = stops["1001"]
    assert station.id == URN.format(type="GtfsStop", city="bologna", local="1001")
    assert (station.lon, station.lat) == (11.34302, 44.50562)
    assert station.attributes["name"] == "Stazione Centrale" and station.attributes["wheelChairAccessible"] == "1"
    assert {s.attributes["code"] for s in stops.values()} == {row["stop_code"] for row in _gtfs_rows("stops")}
    routes = _entities(harvested["url"], ROUTES)
    assert routes["13"].attributes["routeType"] == "11"  # a trolleybus line
    assert routes["35"].attributes["routeType"] == "3"  # extended type 704 (local bus) is a bus
    assert routes["27"].attributes["name"] == "Corticella - Mazzini" and routes["27"].location is None


def test_open311_requests_are_mapped(harvested):
    requests = _entities(harvested["url"], INCIDENTS)
    first = requests["2026-0412"]
    assert first.attributes["status"] == "closed" and first.attributes["service_code"] == "101"
    assert first.attributes["agency_responsible"] == "Διεύθυνση Τεχνικών Υπηρεσιών"
    assert first.attributes["requested_datetime"].startswith("2026-09-03T05:41:12")  # in UTC
    assert (first.lon, first.lat) == (22.43402, 38.90023)
    assert requests["2026-0527"].location is None  # reported with an address only
    assert requests["2026-0527"].attributes["address_string"] == "Γωνία Φλέμινγκ και Ξάνθου, Λαμία"
    open_ones = {local for local, e in requests.items() if e.attributes["status"] == "open"}
    assert open_ones == {r["service_request_id"] for r in _open311_requests() if r["status"] == "open"}


# ----------------------------------------------------------------------------- the second run


def test_a_second_run_writes_nothing_new(harvested):
    for system_id, run in harvested["second"].items():
        assert run["status"] in harvest.SUCCESSES, (system_id, run["error"])
        assert run["created"] == run["updated"] == run["retired"] == 0, system_id
    # the files answer 304 Not Modified; Open311 has no validators and is read again, all unchanged
    assert {s for s, r in harvested["second"].items() if r["status"] == "unchanged"} == {AGENDA, AIR, STOPS, ROUTES}
    assert harvested["second"][INCIDENTS]["unchanged"] == len(_open311_requests())
    with new_session(harvested["url"]) as session:
        assert session.scalar(select(func.count()).select_from(Observation)) == harvested["observations"]
        assert {e.id: e.modified_at for e in session.scalars(select(Entity))} == harvested["modified"]


# ----------------------------------------------------------------------------- the feeds


def test_the_shipped_gtfs_zip_is_what_make_gtfs_builds():
    built = make_gtfs.tables()
    with zipfile.ZipFile(DEMO_FEEDS / "bologna-tper-gtfs.zip") as archive:
        assert {name: archive.read(name).decode("utf-8") for name in archive.namelist()} == built
