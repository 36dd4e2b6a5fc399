"""Read a feed with one connector kind, as a harvest run will."""

from typing import Any

from icity.connectors import Record, SourceRequest, get_connector, validate_config


def read_feed(url: str, kind: str, settings: dict[str, Any] | None = None, **request_options: Any) -> list[Record]:
    connector = get_connector(kind)
    config = validate_config(kind, settings or {})
    with connector.read(config, SourceRequest(url, **request_options)) as reading:
        return list(reading.records)
