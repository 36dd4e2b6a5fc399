"""Spatial relations between an entity's GeoJSON location and a query geometry."""

import math

import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box

from icity.services import geo_match
from icity.services.geo_match import EARTH_RADIUS_M, GeoFilter

METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180  # 111,195.08 m along a meridian or the equator

QUERY_SQUARE = box(2.0, 41.0, 2.1, 41.1)


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def square(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict:
    return shapely.geometry.mapping(box(min_lon, min_lat, max_lon, max_lat))


def relations(location: dict, query=QUERY_SQUARE) -> dict[str, bool]:
    names = ("within", "contains", "intersects", "disjoint", "overlaps", "equals")
    return {name: GeoFilter(name, query).matches(location) for name in names}


class TestPointEntities:
    def test_inside(self):
        assert relations(point(2.05, 41.05)) == {
            "within": True, "contains": False, "intersects": True, "disjoint": False, "overlaps": False, "equals": False,
        }

    def test_on_the_edge_is_not_within_but_intersects(self):
        assert relations(point(2.0, 41.05)) == {
            "within": False, "contains": False, "intersects": True, "disjoint": False, "overlaps": False, "equals": False,
        }

    def test_outside(self):
        assert relations(point(2.2, 41.05)) == {
            "within": False, "contains": False, "intersects": False, "disjoint": True, "overlaps": False, "equals": False,
        }

    def test_against_a_query_point(self):
        assert relations(point(2.05, 41.05), Point(2.05, 41.05)) == {
            "within": True, "contains": True, "intersects": True, "disjoint": False, "overlaps": False, "equals": True,
        }

    def test_on_a_query_line(self):
        line = LineString([(2.0, 41.0), (2.1, 41.0)])
        assert GeoFilter("within", line).matches(point(2.05, 41.0))
        assert not GeoFilter("within", line).matches(point(2.05, 41.001))

    def test_fast_path_agrees_with_shapely(self):
        for lon in (1.95, 2.0, 2.03, 2.1, 2.15):
            for lat in (40.95, 41.0, 41.07, 41.1, 41.2):
                entity = Point(lon, lat)
                assert GeoFilter("within", QUERY_SQUARE).matches(point(lon, lat)) == entity.within(QUERY_SQUARE)
                assert GeoFilter("intersects", QUERY_SQUARE).matches(point(lon, lat)) == entity.intersects(QUERY_SQUARE)
                assert GeoFilter("disjoint", QUERY_SQUARE).matches(point(lon, lat)) == entity.disjoint(QUERY_SQUARE)

    def test_altitude_is_ignored(self):
        assert GeoFilter("within", QUERY_SQUARE).matches({"type": "Point", "coordinates": [2.05, 41.05, 120.0]})


class TestPolygonEntities:
    def test_partly_inside_intersects_and_overlaps_but_is_not_within(self):
        assert relations(square(2.05, 41.05, 2.15, 41.15)) == {
            "within": False, "contains": False, "intersects": True, "disjoint": False, "overlaps": True, "equals": False,
        }

    def test_wholly_inside(self):
        assert relations(square(2.02, 41.02, 2.08, 41.08)) == {
            "within": True, "contains": False, "intersects": True, "disjoint": False, "overlaps": False, "equals": False,
        }

    def test_around_the_query(self):
        assert relations(square(1.9, 40.9, 2.2, 41.2)) == {
            "within": False, "contains": True, "intersects": True, "disjoint": False, "overlaps": False, "equals": False,
        }

    def test_far_away(self):
        assert relations(square(3.0, 42.0, 3.1, 42.1)) == {
            "within": False, "contains": False, "intersects": False, "disjoint": True, "overlaps": False, "equals": False,
        }

    def test_equal_whatever_the_first_vertex(self):
        rotated = {"type": "Polygon", "coordinates": [[[2.1, 41.1], [2.0, 41.1], [2.0, 41.0], [2.1, 41.0], [2.1, 41.1]]]}
        assert relations(rotated)["equals"]

    def test_polygon_containing_a_query_point(self):
        assert GeoFilter("contains", Point(2.05, 41.05)).matches(square(2.0, 41.0, 2.1, 41.1))
        assert not GeoFilter("contains", Point(2.5, 41.05)).matches(square(2.0, 41.0, 2.1, 41.1))

    def test_line_crossing_the_query(self):
        crossing = {"type": "LineString", "coordinates": [[1.9, 41.05], [2.2, 41.05]]}
        assert relations(crossing) == {
            "within": False, "contains": False, "intersects": True, "disjoint": False, "overlaps": False, "equals": False,
        }

    def test_multi_polygon_with_one_part_inside(self):
        parts = {
            "type": "MultiPolygon",
            "coordinates": [
                [[[2.02, 41.02], [2.03, 41.02], [2.03, 41.03], [2.02, 41.02]]],
                [[[5.0, 45.0], [5.1, 45.0], [5.1, 45.1], [5.0, 45.0]]],
            ],
        }
        assert relations(parts)["intersects"]
        assert not relations(parts)["within"]


class TestNear:
    def test_point_distance_on_the_sphere(self):
        # 0.01 degree along the equator is 1,111.95 m
        near = GeoFilter("near", Point(0, 0), max_distance_m=1111.96)
        assert near.matches(point(0.01, 0))
        assert not GeoFilter("near", Point(0, 0), max_distance_m=1111.95).matches(point(0.01, 0))
        assert GeoFilter("near", Point(0, 0), min_distance_m=1111.95).matches(point(0.01, 0))
        assert not GeoFilter("near", Point(0, 0), min_distance_m=1111.96).matches(point(0.01, 0))

    def test_max_distance_is_inclusive_min_distance_exclusive(self):
        distance = geo_match._great_circle_m(2.17, 41.38, 2.18, 41.39)
        assert GeoFilter("near", Point(2.17, 41.38), max_distance_m=distance).matches(point(2.18, 41.39))
        assert not GeoFilter("near", Point(2.17, 41.38), min_distance_m=distance).matches(point(2.18, 41.39))

    def test_east_west_distance_shrinks_with_latitude(self):
        # at 60°N a degree of longitude spans about half as many metres as at the equator
        assert GeoFilter("near", Point(10, 60), max_distance_m=56_000).matches(point(11, 60))
        assert not GeoFilter("near", Point(10, 60), max_distance_m=55_000).matches(point(11, 60))

    def test_polygon_entity_is_near_by_its_edge(self):
        # vertices about 111 km away, but the western edge runs 1,111.95 m east of the point
        strip = square(0.01, -1.0, 0.02, 1.0)
        assert GeoFilter("near", Point(0, 0), max_distance_m=1112).matches(strip)
        assert not GeoFilter("near", Point(0, 0), max_distance_m=1111).matches(strip)
        assert GeoFilter("near", Point(0, 0), min_distance_m=1111).matches(strip)
        assert not GeoFilter("near", Point(0, 0), min_distance_m=1112).matches(strip)

    def test_polygon_entity_around_the_point_is_at_distance_zero(self):
        around = square(-0.1, -0.1, 0.1, 0.1)
        assert GeoFilter("near", Point(0, 0), max_distance_m=1).matches(around)
        assert not GeoFilter("near", Point(0, 0), min_distance_m=1).matches(around)

    def test_distance_to_a_nearest_vertex_is_the_great_circle_one(self):
        # far north and 50 km away: the projection keeps distances from its centre exact
        triangle = {"type": "Polygon", "coordinates": [[[10.9, 60.2], [11.5, 60.2], [11.5, 60.6], [10.9, 60.2]]]}
        expected = geo_match._great_circle_m(10.0, 60.0, 10.9, 60.2)
        measured = geo_match._distance_from_point_m(Point(10.0, 60.0), shapely.geometry.shape(triangle))
        assert measured == pytest.approx(expected, rel=1e-9)
        assert 50_000 < expected < 56_000


class TestPrefilterBox:
    def test_geometry_bounds(self):
        assert GeoFilter("within", QUERY_SQUARE).prefilter_box() == pytest.approx((2.0, 41.0, 2.1, 41.1), abs=1e-6)
        assert GeoFilter("intersects", Point(3, 4)).prefilter_box() == pytest.approx((3, 4, 3, 4), abs=1e-6)

    def test_unboxable(self):
        assert GeoFilter("disjoint", QUERY_SQUARE).prefilter_box() is None
        assert GeoFilter("near", Point(0, 0), min_distance_m=10).prefilter_box() is None

    def test_near_box_at_the_equator_and_at_60(self):
        at_equator = GeoFilter("near", Point(0, 0), max_distance_m=METRES_PER_DEGREE * 0.01).prefilter_box()
        assert at_equator == pytest.approx((-0.01, -0.01, 0.01, 0.01), abs=1e-6)
        at_60 = GeoFilter("near", Point(10, 60), max_distance_m=METRES_PER_DEGREE * 0.01).prefilter_box()
        assert at_60 == pytest.approx((9.98, 59.99, 10.02, 60.01), abs=1e-5)

    def test_near_a_pole_or_across_the_antimeridian_spans_every_longitude(self):
        polar = GeoFilter("near", Point(0, 89.99), max_distance_m=5_000).prefilter_box()
        assert polar[0] == -180 and polar[2] == 180 and polar[3] == 90
        across = GeoFilter("near", Point(179.999, 0), max_distance_m=1_000).prefilter_box()
        assert across == pytest.approx((-180, -0.009, 180, 0.009), abs=1e-4)

    @pytest.mark.parametrize("center", [(2.17, 41.38), (10.0, 60.0), (-70.0, -45.0)])
    def test_every_matching_point_lies_in_the_box(self, center):
        near = GeoFilter("near", Point(*center), max_distance_m=5_000)
        min_lon, min_lat, max_lon, max_lat = near.prefilter_box()
        matched = 0
        for i in range(-40, 41):
            for j in range(-40, 41):
                lon, lat = center[0] + i * 0.0025, center[1] + j * 0.0012
                if near.matches(point(lon, lat)):
                    matched += 1
                    assert min_lon <= lon <= max_lon and min_lat <= lat <= max_lat
        assert matched > 100


class TestMalformedLocations:
    @pytest.mark.parametrize(
        "location",
        [
            None,
            {},
            [2.05, 41.05],
            {"type": "Point"},
            {"type": "Point", "coordinates": ["2.05", "41.05"]},
            {"type": "Point", "coordinates": [2.05]},
            {"type": "Point", "coordinates": [True, False]},
            {"type": "Point", "coordinates": [200, 41]},
            {"type": "Polygon", "coordinates": [[2.0, 41.0]]},
            {"type": "Circle", "coordinates": [2.05, 41.05]},
            {"type": "MultiPoint", "coordinates": []},
        ],
    )
    @pytest.mark.parametrize("relation", ["within", "contains", "intersects", "disjoint", "overlaps", "equals"])
    def test_never_match(self, location, relation):
        assert not GeoFilter(relation, QUERY_SQUARE).matches(location)

    def test_never_near(self):
        assert not GeoFilter("near", Point(0, 0), min_distance_m=1).matches({"type": "Point", "coordinates": "0,0"})


class TestFilterChecks:
    @pytest.mark.parametrize(
        "arguments",
        [
            ("inside", QUERY_SQUARE),
            ("near", QUERY_SQUARE, 100.0),
            ("near", Point(0, 0)),
            ("within", QUERY_SQUARE, 100.0),
            ("near", Point(0, 0), -5.0),
            ("near", Point(0, 0), math.inf),
        ],
    )
    def test_refused(self, arguments):
        with pytest.raises(ValueError):
            GeoFilter(*arguments)

    def test_a_ring_between_min_and_max(self):
        ring = GeoFilter("near", Point(0, 0), max_distance_m=2_000, min_distance_m=1_000)
        assert [ring.matches(point(lon, 0)) for lon in (0.005, 0.01, 0.02)] == [False, True, False]

    def test_query_polygon_with_a_hole(self):
        holed = Polygon(box(0, 0, 1, 1).exterior.coords, [box(0.4, 0.4, 0.6, 0.6).exterior.coords])
        assert GeoFilter("within", holed).matches(point(0.2, 0.2))
        assert not GeoFilter("within", holed).matches(point(0.5, 0.5))
