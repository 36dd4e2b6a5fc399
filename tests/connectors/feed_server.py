"""A real HTTP server on 127.0.0.1 serving fixture feeds, well-behaved or broken on purpose."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Feed:
    body: bytes
    content_type: str = "application/octet-stream"
    statuses: list[int] = field(default_factory=lambda: [200])  # one per request; the last one repeats
    delay_s: float = 0  # wait before answering (a slow source)
    etag: str | None = None  # answer 304 when the client already has it
    truncate_at: int | None = None  # announce the whole body, send this many bytes, hang up
    hits: int = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        feed = self.server.feeds.get(self.path)
        if feed is None:
            self._answer(404, b"<html><body>Not found</body></html>", "text/html")
            return
        feed.hits += 1
        status = feed.statuses[min(feed.hits, len(feed.statuses)) - 1]
        if feed.delay_s:
            time.sleep(feed.delay_s)
        if status != 200:
            self._answer(status, b"<html><body>Server error</body></html>", "text/html")
            return
        if feed.etag and self.headers.get("If-None-Match") == feed.etag:
            self.send_response(304)
            self.send_header("ETag", feed.etag)
            self.end_headers()
            return
        self._answer(200, feed.body, feed.content_type, etag=feed.etag, truncate_at=feed.truncate_at)

    def _answer(self, status: int, body: bytes, content_type: str, etag: str | None = None, truncate_at=None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        view = memoryview(body)[:truncate_at]  # slices of a memoryview: no copies of a large body
        for start in range(0, len(view), 64 * 1024):
            self.wfile.write(view[start : start + 64 * 1024])
        if truncate_at is not None:
            self.close_connection = True

    def log_message(self, *args) -> None:  # keep test output clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping for a slow feed must not hold the test run

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.feeds: dict[str, Feed] = {}

    def handle_error(self, request, client_address) -> None:  # clients hanging up early is expected here
        pass


class FeedServer:
    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def serve(self, path: str, feed: Feed) -> str:
        """Publish ``feed`` at ``path``; the URL to fetch it."""
        self._server.feeds[path] = feed
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def serve_fixture(self, name: str, content_type: str, **options) -> str:
        return self.serve(f"/{name}", Feed((FIXTURES / name).read_bytes(), content_type, **options))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
