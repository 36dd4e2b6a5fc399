"""GeoJSON FeatureCollections (GIS layers, WFS exports)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from icity.connectors.base import ConnectorConfig, Record
from icity.connectors.document import DocumentConnector
from icity.connectors.json_source import array_items


class GeoJsonConfig(ConnectorConfig):
    """No settings yet: features are always at ``features``."""


class GeoJsonConnector(DocumentConnector):
    """Each feature is one record: its properties, plus ``geometry`` (GeoJSON, as given)
    and ``id`` when the feature has one (both win over properties of the same name)."""

    kind = "geojson"
    Config = GeoJsonConfig

    @classmethod
    def records(cls, config: GeoJsonConfig, body: Iterable[bytes]) -> Iterator[Record]:
        for number, feature in enumerate(array_items(body, "features", "The GeoJSON source"), start=1):
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                yield Record(number, {}, "not a GeoJSON Feature")
                continue
            properties = feature.get("properties") or {}
            if not isinstance(properties, dict):
                yield Record(number, {}, "the feature's properties are not an object")
                continue
            data = {**properties, "geometry": feature.get("geometry")}
            if feature.get("id") is not None:
                data["id"] = feature["id"]
            yield Record(number, data)
