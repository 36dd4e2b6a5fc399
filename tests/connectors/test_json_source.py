import json
import tracemalloc

import pytest

from icity.connectors import SourceError, get_connector, validate_config
from icity.connectors.fetch import fetch
from tests.connectors.feed_server import Feed, FeedServer
from tests.connectors.reading import read_feed


def read_bytes(kind: str, chunks: list[bytes], **settings):
    return list(get_connector(kind).records(validate_config(kind, settings), chunks))


def test_records_inside_the_document_at_a_dot_path(feeds: FeedServer):
    url = feeds.serve_fixture("agenda.json", "application/json")
    records = read_feed(url, "json", {"recordsPath": "data.items"})
    assert [record.number for record in records] == [1, 2, 3]
    assert records[1].data == {
        "id": "ev-102",
        "title": "Taller de robòtica al Citilab",
        "start": "2026-12-09T17:30:00+01:00",
        "price": 5.5,
        "lat": 41.3596,
        "lon": 2.0748,
    }
    assert type(records[0].data["price"]) is int  # numbers as json.loads gives them, not Decimal
    assert records[2].data["lat"] is None


def test_a_path_that_matches_nothing_says_which_path_was_looked_for(feeds: FeedServer):
    url = feeds.serve_fixture("agenda.json", "application/json")
    with pytest.raises(SourceError, match="nothing at 'data.events'.*connector.recordsPath"):
        read_feed(url, "json", {"recordsPath": "data.events"})
    with pytest.raises(SourceError, match="an object at 'data', not an array"):
        read_feed(url, "json", {"recordsPath": "data"})


def test_a_truncated_document_fails_the_run(feeds: FeedServer):
    url = feeds.serve_fixture("truncated.json", "application/json")
    with pytest.raises(SourceError, match="not valid JSON"):
        read_feed(url, "json", {"recordsPath": "data.items"})


def test_garbage_after_the_records_still_fails_the_run():
    with pytest.raises(SourceError, match="not valid JSON"):
        read_bytes("json", [b'{"items": [{"a": 1}], "next": '], recordsPath="items")


def test_an_html_error_page_fails_the_run(feeds: FeedServer):
    url = feeds.serve_fixture("error.html", "text/html")
    with pytest.raises(SourceError, match="HTML page"):
        read_feed(url, "json")


def test_a_top_level_array_streamed_in_small_chunks():
    body = json.dumps([{"id": i, "nom": f"Plaça {i}"} for i in range(1000)]).encode()
    records = read_bytes("json", [body[i : i + 7] for i in range(0, len(body), 7)])
    assert len(records) == 1000
    assert records[-1].number == 1000 and records[-1].data == {"id": 999, "nom": "Plaça 999"}


def test_an_empty_array_is_no_records_not_an_error():
    assert read_bytes("json", [b'{"data": {"items": []}}'], recordsPath="data.items") == []


def test_a_record_that_is_not_an_object_is_flagged_and_the_rest_kept():
    records = read_bytes("json", [b'[{"a": 1}, 7, {"a": 2}]'])
    assert [(record.number, record.problem) for record in records] == [
        (1, None),
        (2, "record is a number, not an object"),
        (3, None),
    ]


def test_geojson_features_become_properties_with_geometry_and_id(feeds: FeedServer):
    url = feeds.serve_fixture("wifi.geojson", "application/geo+json")
    records = read_feed(url, "geojson")
    assert [record.data for record in records] == [
        {
            "nom": "Biblioteca Marta Mata",
            "ssid": "WiFi_Cornella",
            "geometry": {"type": "Point", "coordinates": [2.0712, 41.3571]},
            "id": "wifi-1",
        },
        {
            "nom": "Parc de Can Mercader",
            "ssid": "WiFi_Cornella",
            "geometry": {"type": "Point", "coordinates": [2.0652, 41.3489]},
        },
    ]


def test_geojson_that_is_not_a_feature_collection_fails_the_run():
    with pytest.raises(SourceError, match="nothing at 'features'"):
        read_bytes("geojson", [b'{"type": "Point", "coordinates": [2.07, 41.35]}'])


def test_geojson_items_that_are_not_features_are_flagged():
    body = b'{"type": "FeatureCollection", "features": [{"type": "Point"}, {"type": "Feature", "properties": null, "geometry": null}]}'
    records = read_bytes("geojson", [body])
    assert [(record.problem, record.data) for record in records] == [
        ("not a GeoJSON Feature", {}),
        (None, {"geometry": None}),
    ]


def test_a_large_json_document_over_http_is_streamed_not_held(feeds: FeedServer):
    small, large = measurements_json(20_000), measurements_json(100_000)
    small_url = feeds.serve("/small.json", Feed(small, "application/json"))
    large_url = feeds.serve("/large.json", Feed(large, "application/json"))
    last_record(small_url)  # first use imports modules and loads TLS certificates: not what is measured
    _, small_peak = last_record(small_url)
    last, large_peak = last_record(large_url)
    assert last.number == 100_000 and last.data == {"id": 99_999, "no2": 9.5}
    # the parser works one read buffer at a time: its peak is a constant, not a share of the document
    assert large_peak < len(large) / 2, f"peak {large_peak} bytes for a {len(large)}-byte body"
    assert large_peak < small_peak + 256 * 1024, f"peak grew with the document: {small_peak} -> {large_peak}"


def measurements_json(count: int) -> bytes:
    return json.dumps({"data": {"items": [{"id": i, "no2": i % 90 + 0.5} for i in range(count)]}}).encode()


def last_record(url: str):
    """The last record read from ``url`` and the peak of memory allocated meanwhile (all threads)."""
    config = validate_config("json", {"recordsPath": "data.items"})
    tracemalloc.start()
    try:
        with fetch(url) as fetched:
            last = None
            for last in get_connector("json").records(config, fetched.chunks()):
                pass
        return last, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
