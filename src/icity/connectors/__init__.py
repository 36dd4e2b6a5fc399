"""Connectors: read one kind of source (CSV, JSON, GeoJSON…) into raw records.

A connector knows how to parse a byte stream; it knows nothing of the database,
of HTTP routes or of the mapping that later turns records into entities.
"""

from icity.connectors.base import Connector, ConnectorConfig, Reading, Record, SourceError, SourceRequest
from icity.connectors.registry import CONNECTORS, get_connector, validate_config

__all__ = [
    "CONNECTORS",
    "Connector",
    "ConnectorConfig",
    "Reading",
    "Record",
    "SourceError",
    "SourceRequest",
    "get_connector",
    "validate_config",
]
