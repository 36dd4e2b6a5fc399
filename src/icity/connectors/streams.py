"""Helpers shared by the readers for working on a stream of byte chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from icity.connectors.base import SourceError

_BOM = b"\xef\xbb\xbf"
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")
_SNIFF_BYTES = 512


def refuse_html(chunks: Iterable[bytes], source: str = "the source") -> Iterator[bytes]:
    """Pass the chunks through, failing first if the body starts like an HTML page.

    Servers often answer an error page with status 200; parsing it as CSV would
    turn a failure into one garbage record, so it is caught before parsing.
    """
    iterator = iter(chunks)
    head = b""
    for chunk in iterator:
        head += chunk
        if len(head) >= _SNIFF_BYTES:
            break
    start = head.removeprefix(_BOM).lstrip()[:32].lower()
    if start.startswith(_HTML_STARTS):
        raise SourceError(f"{source} answered an HTML page instead of the expected document")
    if head:
        yield head
    yield from iterator


class ChunkReader:
    """A read-only binary file over an iterator of chunks, for parsers that want ``read(n)``."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            data = self._buffer + b"".join(self._chunks)
            self._buffer = b""
            return data
        while len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data
