"""Fetch a source's document: HTTP(S) with conditional requests, timeouts and
retries, or a local file (fixture feeds, files dropped by the city)."""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from icity.connectors.base import SourceError, SourceRequest

CHUNK_BYTES = 64 * 1024
USER_AGENT = "iCity-harvester/0.1"


@dataclass
class Fetched:
    """A source's answer. Read the body with ``chunks()``, once, inside the ``fetch`` block."""

    url: str
    not_modified: bool
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    _chunks: Callable[[], Iterator[bytes]] = field(default=lambda: iter(()), repr=False)

    def chunks(self) -> Iterator[bytes]:
        return self._chunks()


@contextmanager
def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout_s: float = 30,
    retries: int = 2,
    backoff_s: float = 0.5,
) -> Iterator[Fetched]:
    """Open ``url`` (``http(s)://``, ``file://`` or a local path); raise SourceError when it cannot be read.

    ``etag``/``last_modified`` are the validators of the previous run: when the
    source says nothing changed, the result has ``not_modified`` and no body.
    ``timeout_s`` bounds connecting and each wait for data, not the whole transfer.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        with _fetch_http(url, etag, last_modified, timeout_s, retries, backoff_s) as fetched:
            yield fetched
    elif scheme == "file" or not scheme or len(scheme) == 1:  # one letter: a Windows drive
        yield from _fetch_file(url, last_modified)
    else:
        raise SourceError(f"Cannot fetch '{scheme}:' URLs; use http(s)://, file:// or a local path.")


@contextmanager
def _fetch_http(
    url: str, etag: str | None, last_modified: str | None, timeout_s: float, retries: int, backoff_s: float
) -> Iterator[Fetched]:
    headers = {"User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    shown = _shown(url)
    with httpx.Client(timeout=timeout_s, follow_redirects=True) as client:
        response = _send_with_retries(client, url, headers, retries, backoff_s, timeout_s)
        try:

            def chunks() -> Iterator[bytes]:
                try:
                    yield from response.iter_bytes(CHUNK_BYTES)
                except httpx.TimeoutException:
                    raise SourceError(f"{shown} stopped sending: no data within {timeout_s:g} s.") from None
                except httpx.HTTPError as error:  # e.g. connection closed before Content-Length was reached
                    raise SourceError(f"{shown}: the transfer broke off ({_reason(error)}).") from None

            not_modified = response.status_code == 304
            yield Fetched(
                url=url,
                not_modified=not_modified,
                # a 304 may omit the validators; the previous ones still hold then
                etag=response.headers.get("ETag") or (etag if not_modified else None),
                last_modified=response.headers.get("Last-Modified") or (last_modified if not_modified else None),
                content_type=response.headers.get("Content-Type"),
                _chunks=chunks if not not_modified else lambda: iter(()),
            )
        finally:
            response.close()


@contextmanager
def api_client(request: SourceRequest) -> Iterator[httpx.Client]:
    """An HTTP client for connectors that page through an API with ``get_json``."""
    with httpx.Client(timeout=request.timeout_s, follow_redirects=True, headers={"User-Agent": USER_AGENT}) as client:
        yield client


def get_json(
    client: httpx.Client,
    url: str,
    request: SourceRequest,
    *,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    hints: dict[int, str] | None = None,
    max_bytes: int = 256 * 1024 * 1024,
) -> tuple[Any, httpx.Headers]:
    """One page of a JSON API, with the same retries as a document; SourceError when it is not JSON.

    A page is parsed whole (pages are bounded by the page size); ``max_bytes`` guards
    against a server that ignores the page size. ``hints`` says, per 4xx status, what the
    city admin should check (``{401: "check connector.apiKey"}``).
    """
    shown = _shown(url)
    response = _send_with_retries(
        client, url, headers or {}, request.retries, request.backoff_s, request.timeout_s, params=params, hints=hints
    )
    try:
        body = bytearray()
        try:
            for chunk in response.iter_bytes(CHUNK_BYTES):
                body += chunk
                if len(body) > max_bytes:
                    raise SourceError(f"{shown} sent a page larger than {max_bytes} bytes.")
        except httpx.TimeoutException:
            raise SourceError(f"{shown} stopped sending: no data within {request.timeout_s:g} s.") from None
        except httpx.HTTPError as error:
            raise SourceError(f"{shown}: the transfer broke off ({_reason(error)}).") from None
    finally:
        response.close()
    start = bytes(body[:64]).lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")):
        raise SourceError(f"{shown} answered an HTML page instead of JSON.")
    try:
        return json.loads(body), response.headers
    except ValueError as error:
        raise SourceError(f"{shown} did not answer valid JSON (truncated or malformed): {error}.") from None


def _send_with_retries(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    retries: int,
    backoff_s: float,
    timeout_s: float,
    params: dict[str, Any] | None = None,
    hints: dict[int, str] | None = None,
) -> httpx.Response:
    """Retry what may pass (connection errors, timeouts, 5xx) with exponential backoff; not 4xx."""
    shown = _shown(url)
    failure = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff_s * 2 ** (attempt - 1))
        try:
            response = client.send(client.build_request("GET", url, headers=headers, params=params), stream=True)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
            raise SourceError(f"{shown} is not a URL that can be fetched ({error}).") from None
        except httpx.TimeoutException:
            failure = f"no answer within {timeout_s:g} s"
            continue
        except httpx.TransportError as error:
            failure = f"connection failed ({_reason(error)})"
            continue
        status = response.status_code
        if status >= 500:
            failure = f"HTTP {status} {response.reason_phrase}".rstrip()
            response.close()
            continue
        if status >= 400:
            response.close()
            refused = f"{shown} answered HTTP {status} {response.reason_phrase}".rstrip()
            hint = (hints or {}).get(status)
            raise SourceError(f"{refused}: {hint}." if hint else f"{refused}.")
        return response
    attempts = "1 attempt" if retries == 0 else f"{retries + 1} attempts"
    raise SourceError(f"{shown} failed after {attempts}: {failure}.")


def _fetch_file(url: str, last_modified: str | None) -> Iterator[Fetched]:
    path = Path(unquote(urlsplit(url).path)) if url.lower().startswith("file:") else Path(url)
    try:
        handle = path.open("rb")
    except OSError as error:
        raise SourceError(f"Cannot read the file {path}: {error.strerror}.") from None
    with handle:
        modified = formatdate(path.stat().st_mtime, usegmt=True)  # the same form as an HTTP Last-Modified
        not_modified = last_modified == modified

        def chunks() -> Iterator[bytes]:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk

        yield Fetched(
            url=url,
            not_modified=not_modified,
            last_modified=modified,
            content_type=mimetypes.guess_type(path.name)[0],
            _chunks=chunks if not not_modified else lambda: iter(()),
        )


def _shown(url: str) -> str:
    """The URL without query or credentials: city API keys often travel there and must not reach logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def _reason(error: Exception) -> str:
    return str(error) or type(error).__name__
