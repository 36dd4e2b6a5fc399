"""The one interface every connector kind implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


@dataclass(frozen=True, slots=True)
class Record:
    """One raw record and its 1-based position in the source, so a rejection can name it.

    ``problem`` is set when the record itself is malformed (e.g. a CSV row with
    too many fields): the caller rejects that record only and keeps the rest.
    """

    number: int
    data: dict[str, Any]
    problem: str | None = None


class SourceError(Exception):
    """The source answered garbage (HTML page, truncated or malformed document,
    wrong encoding, HTTP 5xx, timeout): the whole run fails, existing data stays."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SourceRequest:
    """Where a source is and how patiently to read it.

    ``etag``/``last_modified`` are the validators the previous run got: a source
    that says nothing changed is not read again.
    """

    url: str
    etag: str | None = None
    last_modified: str | None = None
    timeout_s: float = 30
    retries: int = 2
    backoff_s: float = 0.5


@dataclass(slots=True)
class Reading:
    """What a source gave: its records (an iterator, consumed once, inside the ``read`` block)
    and the validators to send next time."""

    records: Iterator[Record] = field(default_factory=lambda: iter(()))
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None


class ConnectorConfig(BaseModel):
    """Settings of one connector kind. camelCase on the wire (``skipRows``), like the API;
    an unknown setting is refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class Connector(ABC):
    """One kind of source. Subclasses set ``kind`` and ``Config`` and implement ``read``.

    Most kinds are one document fetched from a URL: they extend ``DocumentConnector``
    (connectors/document.py) and only parse bytes. Kinds that page through an API
    (Open311, NGSI brokers) implement ``read`` themselves.
    """

    kind: ClassVar[str]
    Config: ClassVar[type[ConnectorConfig]] = ConnectorConfig

    @classmethod
    @abstractmethod
    def read(cls, config: Any, request: SourceRequest) -> AbstractContextManager[Reading]:
        """Open the source; the Reading's records are streamed while the block is open.

        Raises SourceError (on entering or while iterating) when the source as a
        whole cannot be trusted.
        """

    @classmethod
    def default_mapping(cls, config: Any) -> dict[str, Any] | None:
        """The mapping to the standard data model, for kinds whose records follow a standard
        (GTFS, Open311, iCalendar); None when the city must write one."""
        return None
