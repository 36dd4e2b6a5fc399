"""A GTFS static feed (zip) over HTTP: one table per information system."""

import io
import zipfile

import pytest

from icity.connectors import SourceError, get_connector, validate_config
from icity.connectors.gtfs_source import ROUTE_TYPES
from icity.datamodels import get_registry
from icity.datamodels.registry import CORE_KEYS
from icity.errors import ICityError
from icity.harmonise import Mapping, RecordRejected, map_record
from tests.connectors.feed_server import FIXTURES, Feed, FeedServer
from tests.connectors.fixtures.make_gtfs import TABLES, build
from tests.connectors.reading import read_feed

FEED = (FIXTURES / "gtfs_bus.zip").read_bytes()
ZIP = "application/zip"


def test_the_committed_feed_is_what_make_gtfs_builds():
    assert build() == FEED, "run tests/connectors/fixtures/make_gtfs.py"


def test_stops_are_read_with_their_accents_and_fields_as_text(feeds: FeedServer):
    records = read_feed(feeds.serve_fixture("gtfs_bus.zip", ZIP), "gtfs")  # stops by default
    assert [r.number for r in records] == list(range(1, 14))
    assert all(r.problem is None for r in records)
    assert records[0].data["stop_id"] == "CORC"  # the BOM did not stick to the first column
    assert records[1].data == {
        "stop_id": "1201",
        "stop_code": "1201",
        "stop_name": "Cornellà Centre - Av. Sant Ildefons",
        "stop_desc": "",
        "stop_lat": "41.356142",
        "stop_lon": "2.073180",
        "zone_id": "1",
        "stop_url": "https://www.amb.cat/s/1201",
        "location_type": "0",
        "parent_station": "CORC",
        "wheelchair_boarding": "1",
    }
    assert records[0].data["stop_desc"] == "Intercanviador de bus, metro i Rodalies"
    assert [r.data["stop_name"] for r in records if r.data["stop_id"].startswith("21")] == [
        "L'Hospitalet - Pl. de l'Ajuntament",
        "La Farga - Av. de Josep Tarradellas",
        "Torrassa - Rambla de la Marina",
        "Hospital de Bellvitge",
        "Bellvitge - Av. d'Europa",
    ]


def test_routes_are_read_when_the_table_says_so(feeds: FeedServer):
    records = read_feed(feeds.serve_fixture("gtfs_bus.zip", ZIP), "gtfs", {"table": "routes"})
    assert [(r.data["route_id"], r.data["route_type"]) for r in records] == [("L10", "3"), ("L12", "3"), ("N14", "705"), ("T3", "0")]
    assert records[0].data["route_long_name"] == "Cornellà (Almeda) - L'Hospitalet (Torrassa)"
    assert records[0].data["route_color"] == "0066B3"


def test_a_large_body_is_spooled_and_read_in_small_chunks(feeds: FeedServer):
    # stop_times-sized tables make real feeds tens of MB; the spool moves them to disk.
    stops = "stop_id,stop_name,stop_lat,stop_lon\n" + "".join(
        f"S{i},Parada {i} - Plaça de la Vila,41.{i % 1000:06d},2.{i % 997:06d}\n" for i in range(150_000)
    )
    body = build({"stops.txt": stops, "stop_times.txt": "x" * 9_000_000})
    url = feeds.serve("/large.zip", Feed(body, ZIP))
    records = read_feed(url, "gtfs")
    assert len(records) == 150_000 and records[-1].data["stop_id"] == "S149999"


def test_a_truncated_zip_fails_the_run(feeds: FeedServer):
    url = feeds.serve("/truncated.zip", Feed(FEED[: len(FEED) // 2], ZIP))
    with pytest.raises(SourceError, match="not a valid zip file \\(truncated or not a GTFS feed\\)"):
        read_feed(url, "gtfs")


def test_a_body_that_is_not_a_zip_fails_the_run(feeds: FeedServer):
    url = feeds.serve("/stops.txt", Feed(TABLES["stops.txt"].encode(), "text/csv"))
    with pytest.raises(SourceError, match="not a valid zip file"):
        read_feed(url, "gtfs")


def test_an_html_page_fails_the_run(feeds: FeedServer):
    url = feeds.serve_fixture("error.html", "text/html")
    with pytest.raises(SourceError, match="HTML page"):
        read_feed(url, "gtfs")


def test_a_feed_without_the_table_fails_the_run_naming_it(feeds: FeedServer):
    tables = {name: text for name, text in TABLES.items() if name != "routes.txt"}
    url = feeds.serve("/no-routes.zip", Feed(build(tables), ZIP))
    with pytest.raises(SourceError) as raised:
        read_feed(url, "gtfs", {"table": "routes"})
    assert str(raised.value) == (
        "The GTFS source has no routes.txt (the zip holds: agency.txt, calendar.txt, stop_times.txt, stops.txt, trips.txt)."
    )


def test_tables_in_a_folder_inside_the_zip_are_found(feeds: FeedServer):
    url = feeds.serve("/folder.zip", Feed(build({f"gtfs/{name}": text for name, text in TABLES.items()}), ZIP))
    assert len(read_feed(url, "gtfs", {"table": "routes"})) == 4


def test_a_row_with_the_wrong_field_count_is_flagged_and_the_rest_kept(feeds: FeedServer):
    # An unquoted comma in a description: the row has one field too many.
    routes = TABLES["routes.txt"].replace('"', "").replace("Bus nocturn", "Bus nocturn, divendres i dissabtes")
    url = feeds.serve("/bad-row.zip", Feed(build({**TABLES, "routes.txt": routes}), ZIP))
    records = read_feed(url, "gtfs", {"table": "routes"})
    assert [(r.number, r.problem) for r in records if r.problem] == [(3, "row has 11 fields, the header 10")]
    assert [r.data["route_id"] for r in records if not r.problem] == ["L10", "L12", "T3"]


def test_a_table_that_is_not_utf8_fails_the_run(feeds: FeedServer):
    url = feeds.serve("/latin1.zip", Feed(_latin1_stops(), ZIP))
    with pytest.raises(SourceError, match="stops.txt is not valid UTF-8"):
        read_feed(url, "gtfs")


def _latin1_stops() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("stops.txt", "stop_id,stop_name\n1,Cornellà Centre\n".encode("latin-1"))
    return buffer.getvalue()


def test_an_unknown_table_is_refused_with_its_path():
    with pytest.raises(ICityError) as raised:
        validate_config("gtfs", {"table": "trips"})
    assert raised.value.status == 422
    assert [problem.path for problem in raised.value.errors] == ["connector.table"]
    assert "'stops' or 'routes'" in raised.value.errors[0].detail


def mapped(feeds: FeedServer, table: str) -> list[dict]:
    config = validate_config("gtfs", {"table": table})
    mapping = Mapping.parse(get_connector("gtfs").default_mapping(config))
    records = read_feed(feeds.serve_fixture("gtfs_bus.zip", ZIP), "gtfs", {"table": table})
    return [map_record(mapping, record.data, "cornella") for record in records]


def test_the_default_stops_mapping_gives_valid_gtfs_stops(feeds: FeedServer):
    entities = mapped(feeds, "stops")
    assert len(entities) == 13
    model = get_registry().get("GtfsStop")
    for entity in entities:
        assert model.validate({k: v for k, v in entity.items() if k not in CORE_KEYS}) == []
    stop = entities[1]
    assert stop == {
        "id": "urn:ngsi-ld:GtfsStop:cornella:1201",
        "type": "GtfsStop",
        "location": {"type": "Point", "coordinates": [2.07318, 41.356142]},
        "name": "Cornellà Centre - Av. Sant Ildefons",
        "code": "1201",
        "zoneCode": "1",
        "wheelChairAccessible": "1",
        "hasParentStation": "CORC",
        "page": "https://www.amb.cat/s/1201",
    }
    assert entities[0]["description"] == "Intercanviador de bus, metro i Rodalies"
    assert "wheelChairAccessible" not in entities[9]  # empty in the feed: no information


def test_the_default_routes_mapping_gives_valid_gtfs_routes(feeds: FeedServer):
    entities = mapped(feeds, "routes")
    model = get_registry().get("GtfsRoute")
    for entity in entities:
        assert model.validate({k: v for k, v in entity.items() if k not in CORE_KEYS}) == []
    first = entities[0]
    assert first == {
        "id": "urn:ngsi-ld:GtfsRoute:cornella:L10",
        "type": "GtfsRoute",
        "shortName": "L10",
        "name": "Cornellà (Almeda) - L'Hospitalet (Torrassa)",
        "description": "Per Pl. de l'Església i La Farga",
        "routeType": "3",
        "routeColor": "0066B3",
        "routeTextColor": "FFFFFF",
        "routeSortOrder": 10.0,
        "page": "https://www.amb.cat/l10",
    }
    assert [e["routeType"] for e in entities] == ["3", "3", "3", "0"]  # N14's 705 (night bus) is a bus


def test_route_types_follow_the_model():
    assert {ROUTE_TYPES[code] for code in ("700", "705", "715")} == {"3"}
    assert (ROUTE_TYPES["109"], ROUTE_TYPES["401"], ROUTE_TYPES["900"], ROUTE_TYPES["1300"]) == ("2", "1", "0", "6")
    assert ROUTE_TYPES["11"] == "11"  # trolleybus: a GTFS type the model does not list yet
    mapping = Mapping.parse(get_connector("gtfs").default_mapping(validate_config("gtfs", {"table": "routes"})))
    with pytest.raises(RecordRejected, match="'1700' is not in the value map"):
        map_record(mapping, {"route_id": "X", "route_type": "1700"}, "cornella")
