import time
from pathlib import Path

import pytest

from icity.connectors import SourceError
from icity.connectors.fetch import fetch
from tests.connectors.feed_server import Feed, FeedServer

FAST = {"backoff_s": 0.01}  # retries without slowing the suite


def body_of(url: str, **options) -> bytes:
    with fetch(url, **options) as fetched:
        return b"".join(fetched.chunks())


def test_a_500_then_success_is_retried(feeds: FeedServer):
    feed = Feed(b"a,b\n1,2\n", "text/csv", statuses=[500, 200])
    url = feeds.serve("/flaky.csv", feed)
    assert body_of(url, retries=2, **FAST) == b"a,b\n1,2\n"
    assert feed.hits == 2


def test_a_source_always_failing_fails_after_the_retries(feeds: FeedServer):
    feed = Feed(b"", statuses=[500])
    url = feeds.serve("/down.csv?apikey=secret123", feed)
    with pytest.raises(SourceError) as raised:
        body_of(url, retries=2, **FAST)
    assert feed.hits == 3
    message = str(raised.value)
    assert "HTTP 500" in message and "3 attempts" in message
    assert "secret123" not in message  # API keys in the query never reach run records or logs


def test_a_client_error_is_not_retried(feeds: FeedServer):
    feed = Feed(b"", statuses=[404])
    url = feeds.serve("/gone.csv", feed)
    with pytest.raises(SourceError, match="HTTP 404"):
        body_of(url, retries=2, **FAST)
    assert feed.hits == 1


def test_a_slow_source_times_out_quickly(feeds: FeedServer):
    url = feeds.serve("/slow.csv", Feed(b"a\n1\n", delay_s=3))
    started = time.monotonic()
    with pytest.raises(SourceError, match="no answer within 0.2 s"):
        body_of(url, timeout_s=0.2, retries=1, **FAST)
    assert time.monotonic() - started < 1.5


def test_an_unchanged_source_answers_304_and_no_body(feeds: FeedServer):
    url = feeds.serve("/tagged.json", Feed(b"[]", "application/json", etag='"v1"'))
    with fetch(url) as first:
        assert not first.not_modified
        assert b"".join(first.chunks()) == b"[]"
        assert first.etag == '"v1"'
        assert first.content_type == "application/json"
    with fetch(url, etag=first.etag) as second:
        assert second.not_modified
        assert list(second.chunks()) == []
        assert second.etag == '"v1"'


def test_a_transfer_cut_short_fails(feeds: FeedServer):
    url = feeds.serve("/cut.csv", Feed(b"a,b\n" + b"1,2\n" * 50_000, "text/csv", truncate_at=1000))
    with pytest.raises(SourceError, match="broke off"):
        body_of(url)


def test_nothing_listening_is_a_source_error():
    with pytest.raises(SourceError, match="connection failed"):
        body_of("http://127.0.0.1:9/nothing.csv", retries=0)


def test_local_files_by_path_or_file_url_with_last_modified(tmp_path: Path):
    path = tmp_path / "feed.csv"
    path.write_bytes(b"a\n" + b"1\n" * 100_000)
    assert body_of(str(path)) == path.read_bytes()
    with fetch(path.as_uri()) as fetched:
        assert len(b"".join(fetched.chunks())) == path.stat().st_size
        assert fetched.content_type == "text/csv"
    with fetch(str(path), last_modified=fetched.last_modified) as again:
        assert again.not_modified
        assert list(again.chunks()) == []


def test_a_missing_local_file_is_a_source_error(tmp_path: Path):
    with pytest.raises(SourceError, match="Cannot read the file"):
        body_of(str(tmp_path / "absent.csv"))


def test_an_unsupported_scheme_is_refused():
    with pytest.raises(SourceError, match="ftp:"):
        body_of("ftp://example.org/feed.csv")
