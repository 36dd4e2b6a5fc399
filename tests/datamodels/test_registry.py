import pytest

from icity.datamodels import get_registry

# The canonical types of DESIGN.md ("Open311-style service requests" is service_requests).
CANONICAL = [
    "AirQualityObserved", "NoiseLevelObserved", "ParkingSpot", "OffStreetParking", "EVChargingStation",
    "WifiPointOfInterest", "Event", "PointOfInterest", "BikeHireDockingStation", "GtfsStop",
    "Device", "DeviceMeasurement", "service_requests",
]


@pytest.mark.parametrize("type_name", CANONICAL)
def test_canonical_types_are_known_offline(type_name):
    model = get_registry().get(type_name)
    assert model is not None
    assert "description" in model.attributes


@pytest.mark.parametrize(
    ("type_name", "attributes"),
    [
        ("AirQualityObserved", {"no2": 40.5, "pm10": 12, "airQualityLevel": "moderate", "dateObserved": "2024-05-01T10:00:00Z"}),
        ("NoiseLevelObserved", {"LAeq": 61.2, "LAmax": 75.0}),
        ("ParkingSpot", {"status": "free", "category": ["onstreet"]}),
        ("OffStreetParking", {"availableSpotNumber": 12, "totalSpotNumber": 200}),
        ("EVChargingStation", {"availableCapacity": 2, "capacity": 4, "socketType": ["Type2"]}),
        ("WifiPointOfInterest", {"name": "Plaça", "wifiStatus": "on"}),
        ("Event", {"name": "Festa", "description": "Concert"}),
        ("PointOfInterest", {"name": "Museu", "category": ["museum"]}),
        ("BikeHireDockingStation", {"availableBikeNumber": 3, "freeSlotNumber": 7}),
        ("GtfsStop", {"name": "Pl. Catalunya", "code": "1234"}),
        ("Device", {"batteryLevel": 0.8, "deviceState": "ok"}),
        ("DeviceMeasurement", {"numValue": 3.2, "unit": "CEL"}),
        ("service_requests", {"service_code": "pothole", "status": "open", "service_request_id": "638344"}),
    ],
)
def test_valid_attributes_of_canonical_types_validate(type_name, attributes):
    assert get_registry().get(type_name).validate(attributes) == []


def test_unknown_attribute_and_wrong_type_are_reported_with_paths():
    problems = get_registry().get("AirQualityObserved").validate({"NO2": 1, "no2": "high", "ok": 1}, prefix="entity.")
    assert [(p.path, p.detail) for p in problems] == [
        ("entity.NO2", "'NO2' is not an attribute of AirQualityObserved (did you mean 'no2'?)"),
        ("entity.no2", "must be of type number, got string"),
        ("entity.ok", "'ok' is not an attribute of AirQualityObserved"),
    ]


def test_booleans_are_not_numbers():
    assert get_registry().get("AirQualityObserved").validate({"no2": True})[0].detail == "must be of type number, got boolean"


def test_attribute_descriptions_come_from_the_models():
    assert get_registry().get("AirQualityObserved").attributes["no2"].description == "Nitrogen dioxide detected"
