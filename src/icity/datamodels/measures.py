"""How a model's values read: the unit beside each value, and the measure a chart shows first.

Units come from the Smart Data Models where they give one, else from the unit the
information system declares for that attribute in its properties OUT
(``{"name": "no2", "type": "number", "unit": "µg/m³"}``). The main measure is the
model's headline (an air-quality station's NO2, a sound meter's LAeq); for a model
not in the table, the first numeric attribute in the order the IS declares them.
"""

from __future__ import annotations

from typing import Any

from icity.datamodels.registry import get_registry

# The attribute a chart of each model shows first. Models whose state is not a number
# (ParkingSpot: free / occupied) are absent: they have nothing to chart by default.
MAIN_MEASURES = {
    "AirQualityObserved": "no2",
    "NoiseLevelObserved": "LAeq",
    "WeatherObserved": "temperature",
    "WaterQualityObserved": "temperature",
    "TrafficFlowObserved": "intensity",
    "OffStreetParking": "availableSpotNumber",
    "OnStreetParking": "availableSpotNumber",
    "EVChargingStation": "availableCapacity",
    "BikeHireDockingStation": "availableBikeNumber",
    "WifiPointOfInterest": "clientsConnected",
    "Streetlight": "powerConsumption",
    "DeviceMeasurement": "numValue",
    "Device": "batteryLevel",
}

_NUMERIC_TYPES = {"number", "integer"}


def declared_units(properties_out: list[dict[str, Any]]) -> dict[str, str]:
    """attribute -> unit, as an IS declares them in its properties OUT."""
    return {
        p["name"]: p["unit"]
        for p in properties_out
        if isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("unit"), str) and p["unit"]
    }


def units_of(entity_type: str, properties_out: list[dict[str, Any]]) -> dict[str, str]:
    """attribute -> unit of one model as one IS serves it: the Smart Data Model's unit, else the IS's."""
    units = declared_units(properties_out)
    model = get_registry().get(entity_type)
    if model is not None:
        units.update({a.name: a.units for a in model.attributes.values() if a.units})
    return units


def numeric_attributes(entity_type: str, properties_out: list[dict[str, Any]]) -> list[str]:
    """The attributes a chart can draw: numeric in the model (or, for a model of the city's own, as
    the IS declares them), those the IS declares first and in its order, then the others by name."""
    model = get_registry().get(entity_type)
    declared = [p.get("name") for p in properties_out if isinstance(p, dict)]
    if model is not None:
        numeric = {a.name for a in model.attributes.values() if a.numeric}
    else:
        numeric = {p["name"] for p in properties_out if isinstance(p, dict) and p.get("type") in _NUMERIC_TYPES}
    first = [name for name in dict.fromkeys(declared) if name in numeric]
    return first + sorted(numeric - set(first))


def main_measure(entity_type: str, available: list[str]) -> str | None:
    """The attribute to chart first among `available` (in preference order): the model's headline
    measure when it is there, else the first available; None when nothing can be charted."""
    headline = MAIN_MEASURES.get(entity_type)
    if headline in available:
        return headline
    return available[0] if available else None


def chart_spec(entity_type: str, properties_out: list[dict[str, Any]]) -> dict[str, Any]:
    """What the portal needs to show one model's values as one IS serves them."""
    attributes = numeric_attributes(entity_type, properties_out)
    return {
        "attributes": attributes,
        "main": main_measure(entity_type, attributes),
        "units": units_of(entity_type, properties_out),
    }
