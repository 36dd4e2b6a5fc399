"""The declarative mapping: source records → harmonised entities, or a reason for refusing them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from icity.datamodels import get_registry
from icity.datamodels.registry import CORE_KEYS
from icity.db.engine import transaction
from icity.errors import ICityError
from icity.harmonise import Mapping, RecordRejected, map_record
from icity.services import entity_store
from tests.harmonise.geodesy import (
    BRITISH_NATIONAL_GRID,
    UTM_31N_ETRS89,
    dms,
    haversine_m,
    osgb36_to_wgs84,
)

# In the style of Barcelona's open-data air-quality CSV: decimal comma, UTM coordinates, local time.
BARCELONA_AIR = {
    "entityType": "AirQualityObserved",
    "id": {"template": "{ESTACIO}-{CONTAMINANT}"},
    "observedAt": {"field": "DATA", "format": "%d/%m/%Y %H:%M", "timezone": "Europe/Madrid"},
    "location": {"x": "UTM_X", "y": "UTM_Y", "crs": "EPSG:25831"},
    "decimalSeparator": ",",
    "thousandsSeparator": ".",
    "attributes": {
        "name": {"field": "NOM_ESTACIO"},
        "no2": {"field": "VALOR", "type": "number", "unit": {"from": "mg/m3", "to": "ug/m3"}},
        "temperature": {"field": "TEMP_F", "type": "number", "unit": {"from": "degF", "to": "degC"}},
        "airQualityLevel": {"field": "QUALITAT", "values": {"B": "good", "M": "moderate", "D": "unhealthy"}},
    },
    "constants": {"dataProvider": "Ajuntament de Barcelona"},
}

BARCELONA_ROW = {
    "ESTACIO": "43",
    "CONTAMINANT": "NO2",
    "NOM_ESTACIO": "  Eixample ",
    "DATA": "15/07/2024 14:00",
    "UTM_X": "430.600,0",
    "UTM_Y": "4.582.045,0",
    "VALOR": "0,0452",
    "TEMP_F": "86",
    "QUALITAT": "M",
}


def mapping(**changes: Any) -> Mapping:
    return Mapping.parse({**BARCELONA_AIR, **changes})


def mapped(raw: dict[str, Any], **record: Any) -> dict[str, Any]:
    return map_record(Mapping.parse(raw), record, "barcelona")


def rejected(raw: dict[str, Any] | Mapping, **record: Any) -> RecordRejected:
    parsed = raw if isinstance(raw, Mapping) else Mapping.parse(raw)
    with pytest.raises(RecordRejected) as caught:
        map_record(parsed, record, "barcelona")
    return caught.value


def simple(**attributes: Any) -> dict[str, Any]:
    return {"entityType": "AirQualityObserved", "id": {"field": "id"}, "attributes": attributes}


# ----------------------------------------------------------------------------- whole records


def test_a_city_portal_row_becomes_a_smart_data_model_entity() -> None:
    entity = map_record(mapping(), BARCELONA_ROW, "barcelona")
    assert entity["id"] == "urn:ngsi-ld:AirQualityObserved:barcelona:43-NO2"
    assert entity["type"] == "AirQualityObserved"
    assert entity["observedAt"] == "2024-07-15T12:00:00+00:00"
    assert entity["name"] == "Eixample"
    assert entity["no2"] == pytest.approx(45.2)
    assert entity["temperature"] == 30.0
    assert entity["airQualityLevel"] == "moderate"
    assert entity["dataProvider"] == "Ajuntament de Barcelona"
    assert entity["location"]["type"] == "Point"
    attributes = {k: v for k, v in entity.items() if k not in CORE_KEYS}
    assert get_registry().get("AirQualityObserved").validate(attributes) == []


def test_mapped_entities_are_accepted_by_the_entity_store(network_copy: str) -> None:
    rows = [dict(BARCELONA_ROW, ESTACIO=str(n)) for n in range(3)]
    entities = [map_record(mapping(), row, "alpha") for row in rows]
    with transaction(network_copy) as session:
        counts = entity_store.upsert_entities(session, "alpha/air", entities)
    assert counts["created"] == 3


def test_a_mapping_survives_a_json_round_trip() -> None:
    parsed = mapping()
    stored = json.loads(json.dumps(parsed.model_dump(by_alias=True, exclude_unset=True)))
    assert stored == BARCELONA_AIR
    assert map_record(Mapping.parse(stored), BARCELONA_ROW, "barcelona") == map_record(parsed, BARCELONA_ROW, "barcelona")


def test_json_values_are_taken_as_they_come() -> None:
    raw = simple(
        no2={"field": "no2", "type": "number"},
        reliability={"field": "ok", "type": "boolean"},
        refPointOfInterest={"field": "tags", "type": "list"},
    )
    entity = mapped(raw, id=12.0, no2=41, ok=True, tags=["a", "b"])
    assert entity["id"].endswith(":barcelona:12")  # same id as the CSV text "12"
    assert entity["no2"] == 41.0
    assert entity["reliability"] is True
    assert entity["refPointOfInterest"] == ["a", "b"]


def test_a_local_id_with_spaces_or_accents_gives_a_valid_stable_urn() -> None:
    assert mapped(simple(), id="Plaça Catalunya")["id"].endswith(":barcelona:Pla%C3%A7a%20Catalunya")


# ----------------------------------------------------------------------------- attributes


def test_renames_strip_text_and_leave_out_empty_optional_values() -> None:
    raw = simple(name={"field": "NOM"}, description={"field": "DESC"}, address={"field": "ABSENT"})
    entity = mapped(raw, id="s1", NOM="  Gràcia \t", DESC="   ")
    assert entity["name"] == "Gràcia"
    assert "description" not in entity and "address" not in entity


def test_a_required_attribute_that_is_empty_rejects_the_record() -> None:
    problem = rejected(simple(no2={"field": "NO2", "type": "number", "required": True}), id="s1", NO2=" ")
    assert (problem.field, problem.reason) == ("NO2", "field 'NO2' is empty: attribute 'no2' is required")


def test_value_maps_translate_source_codes() -> None:
    raw = simple(airQualityLevel={"field": "Q", "values": {"B": "good", "M": "moderate", "-": None}})
    assert mapped(raw, id="s1", Q="B")["airQualityLevel"] == "good"
    assert "airQualityLevel" not in mapped(raw, id="s1", Q="-")  # a null target means "no value"


def test_an_unmapped_value_is_rejected_unless_there_is_a_default() -> None:
    raw = simple(airQualityLevel={"field": "Q", "values": {"B": "good", "M": "moderate"}})
    problem = rejected(raw, id="s1", Q="X")
    assert problem.field == "Q"
    assert problem.reason == "field 'Q': 'X' is not in the value map (known: B, M)"
    raw["attributes"]["airQualityLevel"]["default"] = "unknown"
    assert mapped(raw, id="s1", Q="X")["airQualityLevel"] == "unknown"
    assert mapped(raw, id="s1", Q="")["airQualityLevel"] == "unknown"


def test_value_maps_apply_before_type_conversion() -> None:
    raw = simple(reliability={"field": "R", "type": "number", "values": {"alta": "0,9", "baixa": "0,2"}})
    raw["decimalSeparator"] = ","
    assert mapped(raw, id="s1", R="alta")["reliability"] == 0.9


@pytest.mark.parametrize(
    "unit, source, expected",
    [
        ({"from": "mg/m3", "to": "ug/m3"}, "0.045", 45.0),
        ({"from": "mg/m^3", "to": "µg/m^3"}, "1.5", 1500.0),
        ({"from": "degF", "to": "degC"}, "212", 100.0),
        ({"from": "degF", "to": "degC"}, "-40", -40.0),
        ({"from": "km/h", "to": "m/s"}, "36", 10.0),
        ({"from": "hPa", "to": "Pa"}, "1013.25", 101325.0),
    ],
)
def test_unit_conversions(unit: dict[str, str], source: str, expected: float) -> None:
    assert mapped(simple(no2={"field": "V", "type": "number", "unit": unit}), id="s1", V=source)["no2"] == expected


def test_scale_and_integer_attributes() -> None:
    raw = simple(
        no2={"field": "V", "type": "number", "scale": 0.001},
        availableSpotNumber={"field": "N", "type": "integer"},
    )
    entity = mapped(raw, id="s1", V="45200", N="12")
    assert (entity["no2"], entity["availableSpotNumber"]) == (45.2, 12)
    assert rejected(raw, id="s1", N="12.5").reason == "field 'N': '12.5' is not a whole number"


@pytest.mark.parametrize(
    "decimal, thousands, text, expected",
    [
        (",", ".", "1.234,5", 1234.5),
        (",", ".", "-0,25", -0.25),
        (",", " ", "12 345,75", 12345.75),
        (".", ",", "1,234.5", 1234.5),
        (".", None, "1e3", 1000.0),
    ],
)
def test_decimal_and_thousands_separators(decimal: str, thousands: str | None, text: str, expected: float) -> None:
    raw = simple(no2={"field": "V", "type": "number"}) | {"decimalSeparator": decimal, "thousandsSeparator": thousands}
    assert mapped(raw, id="s1", V=text)["no2"] == expected


@pytest.mark.parametrize(
    "text, reason",
    [
        ("12,x", "field 'NO2': '12,x' is not a number"),
        ("nan", "field 'NO2': 'nan' is not a number"),
        ("12.5", "field 'NO2': '12.5' is not a number (the decimal separator is ',')"),
    ],
)
def test_text_that_is_not_a_number_is_rejected(text: str, reason: str) -> None:
    raw = simple(no2={"field": "NO2", "type": "number"}) | {"decimalSeparator": ","}
    problem = rejected(raw, id="s1", NO2=text)
    assert (problem.field, problem.reason) == ("NO2", reason)


def test_booleans_lists_and_datetime_attributes() -> None:
    raw = simple(
        reliability={"field": "OK", "type": "boolean"},
        refPointOfInterest={"field": "POIS", "type": "list", "separator": ";"},
        dateObserved={"field": "D", "type": "datetime", "format": "%Y%m%d%H%M", "timezone": "Europe/Rome"},
    )
    entity = mapped(raw, id="s1", OK="Sí", POIS="a; b;;c", D="202401151030")
    assert entity["reliability"] is True
    assert entity["refPointOfInterest"] == ["a", "b", "c"]
    assert entity["dateObserved"] == "2024-01-15T09:30:00+00:00"
    assert rejected(raw, id="s1", OK="maybe").field == "OK"


# ----------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    "local, utc",
    [
        ("15/07/2024 14:00", "2024-07-15T12:00:00+00:00"),  # summer: CEST, UTC+2
        ("15/01/2024 14:00", "2024-01-15T13:00:00+00:00"),  # winter: CET, UTC+1
        ("27/10/2024 02:30", "2024-10-27T00:30:00+00:00"),  # the repeated hour: the first (summer) one
    ],
)
def test_local_times_are_converted_to_utc(local: str, utc: str) -> None:
    assert map_record(mapping(), dict(BARCELONA_ROW, DATA=local), "barcelona")["observedAt"] == utc


def test_times_with_an_offset_keep_it_and_iso_is_the_default_format() -> None:
    raw = simple() | {"observedAt": {"field": "t", "timezone": "Europe/London"}}
    assert mapped(raw, id="s1", t="2024-07-15T14:00:00+02:00")["observedAt"] == "2024-07-15T12:00:00+00:00"
    assert mapped(raw, id="s1", t="2024-07-15T14:00:00Z")["observedAt"] == "2024-07-15T14:00:00+00:00"
    assert mapped(raw, id="s1", t="2024-07-15 14:00")["observedAt"] == "2024-07-15T13:00:00+00:00"  # BST


def test_bad_or_impossible_times_are_rejected() -> None:
    problem = rejected(mapping(), **dict(BARCELONA_ROW, DATA="2024-07-15"))
    assert problem.reason == "field 'DATA': '2024-07-15' is not a date-time in the format %d/%m/%Y %H:%M"
    problem = rejected(mapping(), **dict(BARCELONA_ROW, DATA="31/03/2024 02:30"))
    assert problem.reason == "field 'DATA': 31/03/2024 02:30 does not exist in Europe/Madrid (clocks went forward)"
    problem = rejected(mapping(), **dict(BARCELONA_ROW, DATA=""))
    assert (problem.field, problem.reason) == ("DATA", "field 'DATA' is empty: the observation time is required")


# ----------------------------------------------------------------------------- locations


def located(location: dict[str, Any], **record: Any) -> dict[str, Any]:
    return mapped(simple() | {"location": location}, id="s1", **record)["location"]


def test_lat_lon_fields_with_decimal_comma_are_rounded_to_7_decimals() -> None:
    raw = simple() | {"location": {"lat": "LATITUD", "lon": "LONGITUD"}, "decimalSeparator": ","}
    entity = mapped(raw, id="s1", LATITUD="41,387012345678", LONGITUD="2,170047")
    assert entity["location"] == {"type": "Point", "coordinates": [2.170047, 41.3870123]}


def test_an_empty_coordinate_rejects_the_record_unless_the_location_is_optional() -> None:
    location = {"lat": "LATITUD", "lon": "LONGITUD"}
    problem = rejected(simple() | {"location": location}, id="s1", LATITUD="", LONGITUD="2.17")
    assert (problem.field, problem.reason) == ("LATITUD", "field 'LATITUD' is empty: the location is required")
    assert "location" not in mapped(simple() | {"location": {**location, "required": False}}, id="s1", LONGITUD="2.17")


def test_coordinates_outside_wgs84_are_rejected() -> None:
    problem = rejected(simple() | {"location": {"lat": "LAT", "lon": "LON"}}, id="s1", LAT="91.2", LON="2.1")
    assert problem.field == "LAT"
    assert "lon 2.1, lat 91.2" in problem.reason and "outside WGS84" in problem.reason


def test_wkt_point_and_polygon() -> None:
    assert located({"wkt": "G"}, G="POINT (2.17 41.387)") == {"type": "Point", "coordinates": [2.17, 41.387]}
    polygon = located({"wkt": "G"}, G="POLYGON ((2.1 41.3, 2.2 41.3, 2.2 41.4, 2.1 41.3))")
    assert polygon == {"type": "Polygon", "coordinates": [[[2.1, 41.3], [2.2, 41.3], [2.2, 41.4], [2.1, 41.3]]]}
    line = located({"wkt": "G"}, G="MULTILINESTRING ((0 51, 0.1 51.1), (0.2 51.2, 0.3 51.3))")
    assert line["type"] == "MultiLineString" and line["coordinates"][1] == [[0.2, 51.2], [0.3, 51.3]]


def test_projected_wkt_is_converted() -> None:
    location = located({"wkt": "G", "crs": "EPSG:25831"}, G="POINT (430600 4582045)")
    lon, lat = location["coordinates"]
    expected_lat, expected_lon = UTM_31N_ETRS89.to_geographic(430600, 4582045)
    assert haversine_m(lon, lat, expected_lon, expected_lat) < 1


def test_bad_wkt_is_rejected() -> None:
    problem = rejected(simple() | {"location": {"wkt": "G"}}, id="s1", G="POINT (2.17")
    assert (problem.field, problem.reason) == ("G", "field 'G': 'POINT (2.17' is not valid WKT")


def test_geojson_as_text_or_parsed() -> None:
    geometry = {"type": "LineString", "coordinates": [[2.1, 41.3], [2.2, 41.4]]}
    assert located({"geojson": "G"}, G=json.dumps(geometry)) == geometry
    assert located({"geojson": "G"}, G=geometry) == geometry
    problem = rejected(simple() | {"location": {"geojson": "G"}}, id="s1", G='{"type": "Feature"}')
    assert problem.field == "G" and "is not a GeoJSON geometry" in problem.reason
    assert "is not JSON" in rejected(simple() | {"location": {"geojson": "G"}}, id="s1", G="{oops").reason


# Projected coordinates: the expected WGS84 position is computed with tests/harmonise/geodesy.py
# (Ordnance Survey's published formulas, independent of pyproj), which is itself checked against
# the OS guide's worked example, and the result is sanity-checked against the place's published position.


def test_the_reference_geodesy_reproduces_the_ordnance_survey_worked_example() -> None:
    # OS guide, annex C: Caister water tower, E 651409.903 N 313177.270 ↔ 52°39′27.2531″N 1°43′4.5177″E (OSGB36).
    lat, lon = BRITISH_NATIONAL_GRID.to_geographic(651409.903, 313177.270)
    assert haversine_m(lon, lat, dms(1, 43, 4.5177), dms(52, 39, 27.2531)) < 0.01


def test_barcelona_utm_31n_coordinates_are_converted_within_a_metre() -> None:
    # Plaça de Catalunya, Barcelona, in ETRS89 / UTM 31N (EPSG:25831), with a decimal comma.
    entity = map_record(mapping(), dict(BARCELONA_ROW, UTM_X="430600", UTM_Y="4582045"), "barcelona")
    lon, lat = entity["location"]["coordinates"]
    expected_lat, expected_lon = UTM_31N_ETRS89.to_geographic(430600, 4582045)
    assert haversine_m(lon, lat, expected_lon, expected_lat) < 1
    assert haversine_m(lon, lat, dms(2, 10, 12), dms(41, 23, 13)) < 100  # published: 41°23′13″N 2°10′12″E


def test_london_british_national_grid_coordinates_are_converted_within_a_metre() -> None:
    # Trafalgar Square, London, in the British National Grid (EPSG:27700).
    lon, lat = located({"x": "E", "y": "N", "crs": "EPSG:27700"}, E="530030", N="180380")["coordinates"]
    expected_lat, expected_lon = osgb36_to_wgs84(*BRITISH_NATIONAL_GRID.to_geographic(530030, 180380))
    assert haversine_m(lon, lat, expected_lon, expected_lat) < 1
    assert haversine_m(lon, lat, -dms(0, 7, 41), dms(51, 30, 28)) < 100  # Nelson's Column: 51°30′28″N 0°7′41″W


@pytest.mark.parametrize(
    "x, y",
    [
        ("430600", "99999999"),  # a wrong northing: the projection maths would wrap around the globe
        ("4582045", "430600"),  # x and y swapped
    ],
)
def test_projected_coordinates_far_from_the_crs_area_are_rejected(x: str, y: str) -> None:
    problem = rejected(simple() | {"location": {"x": "X", "y": "Y", "crs": "EPSG:25831"}}, id="s1", X=x, Y=y)
    assert problem.field == "X"
    assert f"(source x {float(x)}, y {float(y)}) after conversion from EPSG:25831 fall outside the area" in problem.reason
    assert problem.reason.endswith("check the coordinate system and the order of x and y")


def test_projected_coordinates_a_little_beyond_their_utm_zone_are_accepted() -> None:
    # Valencia's port (about 0.32°W) in UTM 31N, the zone east of it: usual near a zone edge.
    lon, lat = located({"x": "X", "y": "Y", "crs": "EPSG:25831"}, X="223000", Y="4370000")["coordinates"]
    assert -1 < lon < 0 and 39 < lat < 40


# ----------------------------------------------------------------------------- ids


def test_an_empty_id_field_rejects_the_record() -> None:
    problem = rejected(mapping(), **dict(BARCELONA_ROW, CONTAMINANT=" "))
    assert (problem.field, problem.reason) == ("CONTAMINANT", "field 'CONTAMINANT' is empty: it is needed for the entity id")


def test_strip_prefix_keeps_the_local_id_of_a_federated_urn() -> None:
    """Another iCity's entities: their URN minus its prefix is the local id, so the ids stay the same."""
    prefix = "urn:ngsi-ld:AirQualityObserved:barcelona:"
    raw = {"entityType": "AirQualityObserved", "id": {"field": "id", "stripPrefix": prefix}, "attributes": {}}
    assert mapped(raw, id=f"{prefix}aq-01")["id"] == f"{prefix}aq-01"
    for foreign in ("urn:ngsi-ld:AirQualityObserved:genova:aq-01", prefix):
        problem = rejected(raw, id=foreign)
        assert (problem.field, problem.reason) == ("id", f"field 'id' ('{foreign}') does not start with '{prefix}'")
    assert refusal({**raw, "id": {"template": "{a}", "stripPrefix": prefix}}) == {
        "id": "'stripPrefix' applies to an id taken from a 'field'"
    }


# ----------------------------------------------------------------------------- bad mappings


def refusal(raw: Any, source_fields: list[str] | None = None) -> dict[str, str]:
    with pytest.raises(ICityError) as caught:
        Mapping.parse(raw, source_fields=source_fields)
    assert caught.value.status == 422
    return {problem.path: problem.detail for problem in caught.value.errors}


def changed(path: str, value: Any) -> dict[str, Any]:
    """BARCELONA_AIR with the value at a dotted path replaced."""
    raw = json.loads(json.dumps(BARCELONA_AIR))
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node[key]
    node[last] = value
    return raw


@pytest.mark.parametrize(
    "raw, path, detail",
    [
        (changed("attributes.no2.colour", "red"), "attributes.no2.colour", "unknown key"),
        (changed("location.crs", "EPSG:999999"), "location.crs", "unknown coordinate reference system 'EPSG:999999'"),
        (changed("attributes.no2.unit.from", "mgg/m3"), "attributes.no2.unit.from", "unknown unit 'mgg/m3'"),
        (
            changed("attributes.no2.unit.to", "degC"),
            "attributes.no2.unit",
            "cannot convert 'mg/m3' to 'degC': they measure different things",
        ),
        (changed("attributes.no2.type", "float"), "attributes.no2.type", None),
        (changed("attributes.name.scale", 2), "attributes.name", "'unit' and 'scale' apply to number and integer attributes only"),
        (changed("observedAt.timezone", "Europe/Barcelona"), "observedAt.timezone", None),
        (changed("id", {"field": "a", "template": "{a}"}), "id", "give exactly one of 'field' or 'template'"),
        (changed("id", {"template": "fixed"}), "id.template", None),
        (changed("location", {"x": "X", "y": "Y"}), "location", "projected coordinates need 'x', 'y' and 'crs' (e.g. EPSG:25831)"),
        (changed("location", {"lat": "LAT", "wkt": "G"}), "location", None),
        (changed("decimalSeparator", ";"), "decimalSeparator", None),
        (changed("thousandsSeparator", ","), "", "'thousandsSeparator' must differ from 'decimalSeparator'"),
        (changed("constants", {"location": {}}), "constants", None),
        (changed("constants", {"name": "x"}), "constants.name", "'name' is both a constant and a mapped attribute"),
        ({k: v for k, v in BARCELONA_AIR.items() if k != "entityType"}, "entityType", "this key is required"),
    ],
)
def test_bad_mappings_are_refused_with_the_path(raw: dict[str, Any], path: str, detail: str | None) -> None:
    problems = refusal(raw)
    assert path in problems, problems
    if detail:
        assert problems[path] == detail


def test_fields_missing_from_the_source_are_refused_when_the_source_fields_are_known() -> None:
    fields = [name for name in BARCELONA_ROW if name not in ("CONTAMINANT", "VALOR")]
    problems = refusal(BARCELONA_AIR, source_fields=fields)
    assert set(problems) == {"id.template", "attributes.no2.field"}
    assert problems["id.template"].startswith("the source has no field 'CONTAMINANT' (it has: ")
    assert Mapping.parse(BARCELONA_AIR, source_fields=list(BARCELONA_ROW))


def test_a_mapping_that_is_not_an_object_is_refused() -> None:
    assert refusal(["entityType"]) == {"": "the mapping must be a JSON object"}
