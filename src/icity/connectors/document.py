"""Connectors whose source is one document at a URL (CSV, JSON, GeoJSON, iCalendar, GTFS zip)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from icity.connectors.base import Connector, Reading, Record, SourceRequest
from icity.connectors.fetch import fetch


class DocumentConnector(Connector):
    """Fetch the document (conditionally, with retries) and parse its bytes with ``records``."""

    @classmethod
    @contextmanager
    def read(cls, config: Any, request: SourceRequest) -> Iterator[Reading]:
        with fetch(
            request.url,
            etag=request.etag,
            last_modified=request.last_modified,
            timeout_s=request.timeout_s,
            retries=request.retries,
            backoff_s=request.backoff_s,
        ) as fetched:
            records = iter(()) if fetched.not_modified else cls.records(config, fetched.chunks())
            yield Reading(records, fetched.not_modified, fetched.etag, fetched.last_modified)

    @classmethod
    @abstractmethod
    def records(cls, config: Any, body: Iterable[bytes]) -> Iterator[Record]:
        """Parse ``body`` (chunks of bytes, consumed incrementally) into records.

        Raises SourceError when the document as a whole cannot be trusted.
        """
