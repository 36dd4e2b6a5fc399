import tracemalloc

import pytest

from icity.connectors import SourceError, get_connector, validate_config
from icity.connectors.fetch import fetch
from tests.connectors.feed_server import Feed, FeedServer
from tests.connectors.reading import read_feed

LATIN1_PORTAL = {"delimiter": ";", "encoding": "latin-1", "skipRows": 1}


def read_bytes(chunks: list[bytes], **settings):
    return list(get_connector("csv").records(validate_config("csv", settings), chunks))


def test_a_latin1_semicolon_feed_keeps_accents_and_decimal_commas_as_text(feeds: FeedServer):
    url = feeds.serve_fixture("aire_latin1.csv", "text/csv; charset=iso-8859-1")
    records = read_feed(url, "csv", LATIN1_PORTAL)
    assert [record.number for record in records] == [1, 2, 3, 4]
    first = records[0]
    assert first.problem is None
    assert first.data == {
        "Estació": "Sants",
        "Data": "24/11/2026 10:00",
        "NO2 (µg/m³)": "12,5",
        "PM10 (µg/m³)": "18,0",
        "Qualitat": "bona",
    }
    assert records[1].data["Estació"] == "Gràcia - Sant Gervasi"


def test_a_row_with_too_many_fields_is_flagged_and_the_rest_kept(feeds: FeedServer):
    url = feeds.serve_fixture("aire_latin1.csv", "text/csv")
    records = read_feed(url, "csv", LATIN1_PORTAL)
    flagged = [record for record in records if record.problem]
    assert [(record.number, record.problem) for record in flagged] == [(3, "row has 6 fields, the header 5")]
    assert [record.data["Estació"] for record in records if not record.problem] == ["Sants", "Gràcia - Sant Gervasi", "Poblenou"]


def test_the_wrong_encoding_fails_the_run_saying_what_to_set(feeds: FeedServer):
    url = feeds.serve_fixture("aire_latin1.csv", "text/csv")
    with pytest.raises(SourceError) as raised:
        read_feed(url, "csv", {"delimiter": ";"})
    message = str(raised.value)
    assert "not valid utf-8 at byte 32 (line 1)" in message  # the 'à' of 'horàries'
    assert "connector.encoding" in message


def test_an_html_error_page_with_status_200_fails_the_run(feeds: FeedServer):
    url = feeds.serve_fixture("error.html", "text/html")
    with pytest.raises(SourceError, match="HTML page"):
        read_feed(url, "csv")


def test_a_utf8_bom_does_not_stick_to_the_first_column():
    records = read_bytes([b"\xef\xbb\xbfid,name\r\n1,Sants\r\n"])
    assert records[0].data == {"id": "1", "name": "Sants"}


def test_characters_and_quoted_lines_split_across_chunks_survive():
    body = 'id,nom,nota\n1,Plaça,"dues\nlínies"\n2,Sarrià,\n'.encode()
    records = read_bytes([body[i : i + 1] for i in range(len(body))])  # one byte per chunk
    assert [record.data for record in records] == [
        {"id": "1", "nom": "Plaça", "nota": "dues\nlínies"},
        {"id": "2", "nom": "Sarrià", "nota": ""},
    ]


def test_blank_lines_are_skipped_and_a_short_row_flagged():
    records = read_bytes([b"a,b\n\n1,2\n3\n"])
    assert [(record.number, record.data, record.problem) for record in records] == [
        (1, {"a": "1", "b": "2"}, None),
        (2, {"a": "3"}, "row has 1 field, the header 2"),
    ]


def test_a_header_repeating_a_column_fails_the_run():
    with pytest.raises(SourceError, match="repeats the column 'a'"):
        read_bytes([b"a,b,a\n1,2,3\n"])


def test_a_broken_quote_fails_the_run_naming_the_line():
    with pytest.raises(SourceError, match="row starting at line 3"):
        read_bytes([b'a,b\n1,2\n3,"x"y\n4,5\n'])


def test_an_unclosed_quote_is_reported_at_the_line_where_its_row_starts():
    with pytest.raises(SourceError, match=r"row starting at line 3: unexpected end of data \(a quoted field opened in that row is not closed"):
        read_bytes([b'a,b\n1,2\n3,"x\n4,5\n6,7\n8,9\n'])


def test_a_wrong_delimiter_is_named_with_the_likely_one():
    records = read_bytes([b"station;date;no2\nSants;2026-11-24;12,5\n"])
    assert records[0].problem == (
        "row has 2 fields, the header 1 — the delimiter may be wrong: the header is one field with ',' "
        "but 3 columns with ';' (set connector.delimiter)"
    )


def test_an_empty_source_fails_the_run():
    with pytest.raises(SourceError, match="empty"):
        read_bytes([])


def test_a_large_csv_over_http_is_streamed_not_held(feeds: FeedServer):
    small, large = air_quality_csv(20_000), air_quality_csv(200_000)
    small_url = feeds.serve("/small.csv", Feed(small, "text/csv"))
    large_url = feeds.serve("/large.csv", Feed(large, "text/csv"))
    count_records(small_url)  # first use imports modules and loads TLS certificates: not what is measured
    small_count, small_peak = count_records(small_url)
    large_count, large_peak = count_records(large_url)
    assert (small_count, large_count) == (20_000, 200_000)
    assert len(large) > 8_000_000
    assert large_peak < len(large) / 8, f"peak {large_peak} bytes for a {len(large)}-byte body"
    assert large_peak < small_peak + 256 * 1024, f"peak grew with the file: {small_peak} -> {large_peak}"


def air_quality_csv(rows: int) -> bytes:
    return "id;estacio;no2;data\n".encode() + b"".join(
        f"{i};Estació {i % 40};{i % 90},{i % 10};2026-11-24T10:00:00Z\n".encode() for i in range(rows)
    )


def count_records(url: str) -> tuple[int, int]:
    """Records read from ``url`` and the peak of memory allocated meanwhile (all threads)."""
    config = validate_config("csv", {"delimiter": ";"})
    tracemalloc.start()
    try:
        with fetch(url) as fetched:
            count = sum(1 for _ in get_connector("csv").records(config, fetched.chunks()))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
