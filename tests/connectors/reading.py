"""Fetch a feed and read it with one connector kind, as a harvest run will."""

from typing import Any

from icity.connectors import Record, get_connector, validate_config
from icity.connectors.fetch import fetch


def read_feed(url: str, kind: str, settings: dict[str, Any] | None = None, **fetch_options: Any) -> list[Record]:
    connector = get_connector(kind)
    config = validate_config(kind, settings or {})
    with fetch(url, **fetch_options) as fetched:
        return list(connector.records(config, fetched.chunks()))
