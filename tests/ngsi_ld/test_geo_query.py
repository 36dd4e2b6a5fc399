"""NGSI-LD geo-queries (CIM 009 clause 4.10): georel, geometry and coordinates to a GeoFilter."""

import pytest
from shapely.geometry import MultiPolygon, Point, Polygon

from icity.errors import ICityError
from icity.ngsi_ld.geo_query import parse_geo_query, parse_geo_query_body

SQUARE = "[[[100.0,0.0],[101.0,0.0],[101.0,1.0],[100.0,1.0], [100.0,0.0]]]"


def refusal(georel, geometry, coordinates) -> tuple[str, str]:
    with pytest.raises(ICityError) as caught:
        parse_geo_query(georel, geometry, coordinates)
    assert caught.value.status == 400
    return caught.value.param, caught.value.detail


class TestSpecExamples:
    def test_near_max_distance(self):
        geo = parse_geo_query("near;maxDistance==2000", "Point", "[8,40]")
        assert (geo.relation, geo.geometry, geo.max_distance_m, geo.min_distance_m) == ("near", Point(8, 40), 2000, None)
        assert geo.matches({"type": "Point", "coordinates": [8.01, 40.01]})  # about 1.4 km away
        assert not geo.matches({"type": "Point", "coordinates": [8.02, 40.02]})  # about 2.8 km away

    def test_within_polygon(self):
        geo = parse_geo_query("within", "Polygon", SQUARE)
        assert geo.relation == "within"
        assert geo.geometry.equals(Polygon([(100, 0), (101, 0), (101, 1), (100, 1)]))
        assert geo.matches({"type": "Point", "coordinates": [100.5, 0.5]})


class TestAccepted:
    def test_none_given_is_no_filter(self):
        assert parse_geo_query(None, None, None) is None
        assert parse_geo_query_body(None) is None

    def test_min_distance(self):
        geo = parse_geo_query("near;minDistance==1.5e3", "Point", "[8,40]")
        assert (geo.max_distance_m, geo.min_distance_m) == (None, 1500.0)

    @pytest.mark.parametrize("relation", ["within", "contains", "intersects", "disjoint", "overlaps", "equals"])
    def test_each_plain_relation(self, relation):
        assert parse_geo_query(relation, "Point", "[8,40]").relation == relation

    @pytest.mark.parametrize(
        ("geometry", "coordinates", "wkt"),
        [
            ("Point", "[8, 40, 312.5]", "POINT (8 40)"),
            ("LineString", "[[8,40],[8.1,40.1]]", "LINESTRING (8 40, 8.1 40.1)"),
            ("MultiPoint", "[[8,40],[9,41]]", "MULTIPOINT ((8 40), (9 41))"),
            ("MultiLineString", "[[[8,40],[8.1,40.1]],[[9,41],[9,42]]]", "MULTILINESTRING ((8 40, 8.1 40.1), (9 41, 9 42))"),
            ("Polygon", SQUARE, "POLYGON ((100 0, 101 0, 101 1, 100 1, 100 0))"),
            (
                "MultiPolygon",
                "[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,5]]]]",
                "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))",
            ),
        ],
    )
    def test_each_geometry_type(self, geometry, coordinates, wkt):
        assert parse_geo_query("intersects", geometry, coordinates).geometry.wkt == wkt

    def test_polygon_with_a_hole(self):
        holed = "[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]"
        geo = parse_geo_query("within", "Polygon", holed)
        assert not geo.matches({"type": "Point", "coordinates": [5, 5]})
        assert geo.matches({"type": "Point", "coordinates": [2, 2]})

    def test_extreme_but_valid_positions(self):
        assert parse_geo_query("intersects", "Point", "[-180,-90]").geometry == Point(-180, -90)
        assert parse_geo_query("intersects", "Point", "[180,90]").geometry == Point(180, 90)


class TestBody:
    def test_coordinates_as_an_array(self):
        geo = parse_geo_query_body({"georel": "near;maxDistance==100", "geometry": "Point", "coordinates": [2.17, 41.38]})
        assert (geo.relation, geo.geometry, geo.max_distance_m) == ("near", Point(2.17, 41.38), 100)

    def test_coordinates_as_text(self):
        geo = parse_geo_query_body({"georel": "within", "geometry": "Polygon", "coordinates": SQUARE, "geoproperty": "location"})
        assert geo.relation == "within"

    def test_multi_polygon(self):
        body = {"georel": "intersects", "geometry": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]}
        assert isinstance(parse_geo_query_body(body).geometry, MultiPolygon)

    def test_errors_name_the_member(self):
        with pytest.raises(ICityError) as caught:
            parse_geo_query_body({"georel": "within", "geometry": "Point"})
        assert caught.value.param == "geoQ.coordinates"
        with pytest.raises(ICityError) as caught:
            parse_geo_query_body({"georel": "within", "geometry": "Point", "coordinates": [8, 91]}, param="geoQ")
        assert (caught.value.param, caught.value.detail) == (
            "geoQ.coordinates",
            "coordinates: latitude 91 is outside -90..90 (positions are [longitude, latitude]).",
        )
        with pytest.raises(ICityError) as caught:
            parse_geo_query_body({"georel": 5, "geometry": "Point", "coordinates": [8, 40]})
        assert caught.value.param == "geoQ.georel"

    def test_not_an_object(self):
        with pytest.raises(ICityError) as caught:
            parse_geo_query_body(["within"], param="geoQ")
        assert (caught.value.param, caught.value.detail) == (
            "geoQ",
            "geoQ must be an object with georel, geometry and coordinates.",
        )


class TestRefused:
    @pytest.mark.parametrize(
        ("parts", "param", "detail"),
        [
            (("within", None, None), "geometry", "georel given without geometry and coordinates: a geo-query needs georel, geometry and coordinates together."),
            ((None, "Point", "[8,40]"), "georel", "geometry and coordinates given without georel"),
            (("within", "Point", None), "coordinates", "georel and geometry given without coordinates"),
            (("near", "Point", "[8,40]"), "georel", "'near' is not a near relation: write near;maxDistance==<metres> or near;minDistance==<metres>."),
            (("near;maxDistance=2000", "Point", "[8,40]"), "georel", "is not a near relation"),
            (("near;distance==2000", "Point", "[8,40]"), "georel", "is not a near relation"),
            (("near;maxDistance==0", "Point", "[8,40]"), "georel", "the distance of near is a positive number of metres, not 0."),
            (("near;maxDistance==-5", "Point", "[8,40]"), "georel", "is not a near relation"),
            (("near;maxDistance==0.0", "Point", "[8,40]"), "georel", "positive number of metres, not 0.0"),
            (("near;maxDistance==1e999", "Point", "[8,40]"), "georel", "positive number of metres, not 1e999"),
            (("near;maxDistance==007", "Point", "[8,40]"), "georel", "is not a near relation"),
            (("inside", "Point", "[8,40]"), "georel", "'inside' is not a georel: use near;maxDistance==<metres>, near;minDistance==<metres>, within, contains, intersects, disjoint, overlaps, equals."),
            (("Within", "Point", "[8,40]"), "georel", "'Within' is not a georel"),
            (("", "Point", "[8,40]"), "georel", "'' is not a georel"),
            (("within", "point", "[8,40]"), "geometry", "'point' is not a geometry type: use one of Point, LineString, Polygon, MultiPoint, MultiLineString, MultiPolygon."),
            (("within", "GeometryCollection", "[]"), "geometry", "is not a geometry type"),
            (("near;maxDistance==10", "Polygon", SQUARE), "geometry", "near measures distances from a Point, not a Polygon."),
            (("within", "Point", "8,40"), "coordinates", "coordinates are not a JSON array (Extra data): write for example [8,40]."),
            (("within", "Point", "[8,"), "coordinates", "coordinates are not a JSON array"),
            (("within", "Point", "[8]"), "coordinates", "coordinates: a position is an array [longitude, latitude] (or with an altitude)."),
            (("within", "Point", "[[8,40]]"), "coordinates", "coordinates: a position is an array [longitude, latitude]"),
            (("within", "Point", '[8,"40"]'), "coordinates", "coordinates: a position holds numbers only."),
            (("within", "Point", "[8,true]"), "coordinates", "a position holds numbers only"),
            (("within", "Point", "[181,40]"), "coordinates", "coordinates: longitude 181 is outside -180..180 (positions are [longitude, latitude])."),
            (("within", "Point", "[40,95]"), "coordinates", "coordinates: latitude 95 is outside -90..90"),
            (("within", "LineString", "[[8,40]]"), "coordinates", "coordinates: expected an array of at least 2 positions, each an array."),
            (("within", "LineString", "[[8,40],[8,40]]"), "coordinates", "the LineString is not a valid geometry: Too few points in geometry component"),
            (("within", "Polygon", "[[0,0],[1,0],[1,1],[0,0]]"), "coordinates", "coordinates[0]: expected an array of at least 4 positions, each an array."),
            (("within", "Polygon", "[[[0,0],[1,0],[0,0]]]"), "coordinates", "coordinates[0]: expected an array of at least 4 positions"),
            (("within", "Polygon", "[[[0,0],[1,0],[1,1],[0,1]]]"), "coordinates", "coordinates[0]: a ring is closed: its last position repeats its first."),
            (("within", "Polygon", "[[[0,0],[1,1],[1,0],[0,1],[0,0]]]"), "coordinates", "the Polygon is not a valid geometry: Self-intersection[0.5 0.5]."),
            (("within", "Polygon", "[[[0,0],[1,0],[1,1],[0,1],[0,0]],[[0,0],[1,0],[1,0],[0,0]]]"), "coordinates", "the Polygon is not a valid geometry: Too few points"),
            (("within", "MultiPoint", "[8,40]"), "coordinates", "coordinates: expected an array of at least 1 positions, each an array."),
            (("within", "MultiPoint", "[[8,40],[8,400]]"), "coordinates", "coordinates[1]: latitude 400 is outside"),
            (("within", "MultiPolygon", "[]"), "coordinates", "expected an array of at least 1 polygons"),
            (("within", "MultiLineString", "[[[8,40]]]"), "coordinates", "coordinates[0]: expected an array of at least 2 positions"),
        ],
    )
    def test_message_names_the_parameter_and_the_fault(self, parts, param, detail):
        found_param, found_detail = refusal(*parts)
        assert found_param == param
        assert detail in found_detail

    def test_too_many_positions(self):
        line = "[" + ",".join(f"[{i / 10000},0]" for i in range(10_001)) + "]"
        param, detail = refusal("intersects", "LineString", line)
        assert (param, detail) == ("coordinates", "coordinates[10000]: a geometry of more than 10,000 positions is not accepted.")
