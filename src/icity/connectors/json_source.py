"""JSON documents from a city's HTTP API, with the records somewhere inside them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import ijson
from pydantic import Field, field_validator

from icity.connectors.base import ConnectorConfig, Record, SourceError
from icity.connectors.document import DocumentConnector
from icity.connectors.streams import ChunkReader, refuse_html


class JsonConfig(ConnectorConfig):
    records_path: str = Field(
        "",
        description="Dot path to the array of records, e.g. 'data.items'; empty when the document is the array.",
    )

    @field_validator("records_path")
    @classmethod
    def _dot_path(cls, value: str) -> str:
        value = value.strip()
        if value and any(not part for part in value.split(".")):
            raise ValueError("Use a dot path such as 'data.items' (no empty parts); empty for a top-level array.")
        return value


class JsonConnector(DocumentConnector):
    """Each element of the array at ``recordsPath`` is one record, numbered from 1."""

    kind = "json"
    Config = JsonConfig

    @classmethod
    def records(cls, config: JsonConfig, body: Iterable[bytes]) -> Iterator[Record]:
        for number, item in enumerate(array_items(body, config.records_path, "The JSON source"), start=1):
            if isinstance(item, dict):
                yield Record(number, item)
            else:
                yield Record(number, {}, f"record is a {json_type(item)}, not an object")


def array_items(body: Iterable[bytes], path: str, source: str) -> Iterator[Any]:
    """Stream the elements of the array at dot ``path`` (empty: the document itself).

    The whole document is read to its end, so a truncated document fails the
    run even when the array itself came through complete.
    """
    found: list[str] = []  # what stood at the path: 'start_array', 'start_map', 'string'…

    def watched(events: Iterator[tuple[str, str, Any]]) -> Iterator[tuple[str, str, Any]]:
        for prefix, event, value in events:
            if prefix == path and not found and event not in ("map_key", "end_map", "end_array"):
                found.append(event)
            yield prefix, event, value

    item_prefix = f"{path}.item" if path else "item"
    reader = ChunkReader(refuse_html(body, source))
    try:
        # use_float: numbers as float/int, like json.loads, rather than Decimal. The parser
        # turns each read buffer into a batch of events at once, so a small buffer keeps memory small.
        events = ijson.parse(reader, buf_size=16 * 1024, use_float=True)
        yield from ijson.items(watched(events), item_prefix)
    except ijson.JSONError as error:
        reason = str(error).splitlines()[0] if str(error) else "invalid JSON"
        raise SourceError(f"{source} is not valid JSON (truncated or malformed): {reason}.") from None
    where = f"'{path}'" if path else "the top level"
    if not found:
        raise SourceError(f"{source} has nothing at {where}: set connector.recordsPath to where the records are.")
    if found[0] != "start_array":
        raise SourceError(f"{source} has {_EVENT_TYPES.get(found[0], found[0])} at {where}, not an array of records.")


_EVENT_TYPES = {"start_map": "an object", "string": "a string", "number": "a number", "boolean": "a boolean", "null": "null"}


def json_type(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"
