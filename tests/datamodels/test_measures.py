"""Units beside values and the measure a chart shows first (icity.datamodels.measures)."""

import pytest

from icity.datamodels.measures import MAIN_MEASURES, chart_spec, main_measure, numeric_attributes, units_of
from icity.demo.kinds import KINDS

AIR_OUT = KINDS["air-quality"].properties_out


def test_a_unit_comes_from_the_smart_data_model_where_it_gives_one():
    # WeatherObserved.atmosphericPressure: the model says hectopascals; the IS says otherwise in vain
    units = units_of("WeatherObserved", [{"name": "atmosphericPressure", "type": "number", "unit": "bar"}])
    assert units["atmosphericPressure"] == "Hecto pascals"
    assert units["illuminance"] == "Lux"


def test_else_the_unit_the_information_system_declares():
    units = units_of("AirQualityObserved", AIR_OUT)
    assert units["no2"] == "µg/m³" and units["co"] == "mg/m³"
    assert "airQualityLevel" not in units  # text has no unit
    assert "no2" not in units_of("AirQualityObserved", [])  # the model gives none


def test_declared_units_that_are_not_text_are_ignored():
    units = units_of("NoiseLevelObserved", [{"name": "LAeq", "unit": 3}, {"name": "LAmax", "unit": ""}])
    assert "LAeq" not in units and "LAmax" not in units


@pytest.mark.parametrize(
    ("entity_type", "expected"),
    [("AirQualityObserved", "no2"), ("NoiseLevelObserved", "LAeq"), ("OffStreetParking", "availableSpotNumber"),
     ("EVChargingStation", "availableCapacity"), ("BikeHireDockingStation", "availableBikeNumber"),
     ("WifiPointOfInterest", "clientsConnected")],
)  # fmt: skip
def test_the_default_chart_is_the_models_main_measure_not_the_first_alphabetically(entity_type, expected):
    assert main_measure(entity_type, numeric_attributes(entity_type, [])) == expected


def test_the_first_alphabetically_is_not_what_a_station_is_about():
    attributes = numeric_attributes("AirQualityObserved", AIR_OUT)
    assert sorted(attributes)[0] == "airQualityIndex" and attributes[0] == "no2"  # the IS's order, then the rest
    assert chart_spec("AirQualityObserved", AIR_OUT)["main"] == "no2"
    assert chart_spec("NoiseLevelObserved", [])["main"] == "LAeq"  # LAS comes first by name


def test_without_its_main_measure_the_first_numeric_attribute_the_is_declares():
    # a station that measures no NO2: pm10 (declared before o3), not co (first alphabetically)
    out = [{"name": "pm10", "type": "number"}, {"name": "o3", "type": "number"}, {"name": "co", "type": "number"}]
    attributes = [a for a in numeric_attributes("AirQualityObserved", out) if a != "no2"]
    assert attributes[:3] == ["pm10", "o3", "co"]
    assert main_measure("AirQualityObserved", attributes) == "pm10"


def test_a_model_whose_state_is_not_a_number_has_no_main_measure():
    assert "ParkingSpot" not in MAIN_MEASURES
    assert main_measure("ParkingSpot", []) is None
    spec = chart_spec("ParkingSpot", KINDS["parking-spots"].properties_out)
    assert "status" not in spec["attributes"]


def test_a_citys_own_model_charts_what_its_is_declares_numeric():
    out = [{"name": "level", "type": "number", "unit": "cm"}, {"name": "label", "type": "string"}]
    spec = chart_spec("RiverGauge", out)  # not a Smart Data Model: an IS with `open` validation
    assert spec == {"attributes": ["level"], "main": "level", "units": {"level": "cm"}}


def test_every_main_measure_is_a_numeric_attribute_of_its_model():
    for entity_type, name in MAIN_MEASURES.items():
        assert name in numeric_attributes(entity_type, []), entity_type
