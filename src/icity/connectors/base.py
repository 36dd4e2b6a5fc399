"""The one interface every connector kind implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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


class ConnectorConfig(BaseModel):
    """Settings of one connector kind. camelCase on the wire (``skipRows``), like the API;
    an unknown setting is refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class Connector(ABC):
    """One kind of source. Subclasses set ``kind`` and ``Config`` and implement ``records``."""

    kind: ClassVar[str]
    Config: ClassVar[type[ConnectorConfig]] = ConnectorConfig

    @classmethod
    @abstractmethod
    def records(cls, config: Any, body: Iterable[bytes]) -> Iterator[Record]:
        """Parse ``body`` (chunks of bytes, consumed incrementally) into records.

        Raises SourceError when the document as a whole cannot be trusted.
        """
