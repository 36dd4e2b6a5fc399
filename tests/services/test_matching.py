"""Expressions over entity values: the comparison semantics of NGSI-LD clause 4.9, in iCity terms."""

import re
from datetime import date, datetime, time, timezone

import pytest

from icity.services.matching import (
    MISSING,
    AllOf,
    AnyOf,
    Comparison,
    Path,
    attribute_names,
    holds,
    json_member,
    simple_terms,
)


def resolver(values: dict):
    """resolve() over a flat dict keyed by attribute, with Path.keys followed by json_member."""

    def resolve(path: Path):
        key = ".".join((path.attribute, *path.subs))
        return json_member(values[key], path.keys) if key in values else MISSING

    return resolve


def check(comparison: Comparison, target) -> bool:
    return comparison.test(target)


A = Path("a")


class TestEquality:
    def test_numbers_equal_across_int_and_float(self):
        assert check(Comparison(A, "==", (20,)), 20.0)
        assert check(Comparison(A, "==", (20.5,)), 20.5)
        assert not check(Comparison(A, "==", (20,)), 21)

    def test_a_boolean_is_not_a_number(self):
        assert not check(Comparison(A, "==", (1,)), True)
        assert not check(Comparison(A, "==", (True,)), 1)
        assert check(Comparison(A, "==", (True,)), True)

    def test_strings(self):
        assert check(Comparison(A, "==", ("red",)), "red")
        assert not check(Comparison(A, "==", ("red",)), "Red")
        assert not check(Comparison(A, "==", ("20",)), 20)  # different data types never match

    def test_value_list_matches_any_of_its_values(self):
        colours = Comparison(A, "==", ("black", "red"))
        assert check(colours, "red")
        assert not check(colours, "blue")

    def test_array_target_matches_when_it_includes_the_value(self):
        assert check(Comparison(A, "==", ("red",)), ["blue", "red", "green"])
        assert check(Comparison(A, "==", ("black", "red")), ["red", "blue"])
        assert not check(Comparison(A, "==", ("black",)), ["red", "blue"])
        assert not check(Comparison(A, "==", ("red",)), [])

    def test_range_is_inclusive(self):
        between = Comparison(A, "==", low=10, high=20)
        assert [check(between, t) for t in (9, 10, 15, 20, 20.5)] == [False, True, True, True, False]
        assert not check(between, "15")

    def test_range_of_strings_and_dates(self):
        assert check(Comparison(A, "==", low="b", high="d"), "c")
        days = Comparison(A, "==", low=date(2024, 1, 1), high=date(2024, 1, 31))
        assert check(days, "2024-01-15")
        assert not check(days, "2024-02-01")

    def test_range_on_an_array_target_matches_by_any_item(self):
        assert check(Comparison(A, "==", low=10, high=20), [1, 15, 30])


class TestUnequal:
    def test_scalar(self):
        assert check(Comparison(A, "!=", ("red",)), "black")
        assert not check(Comparison(A, "!=", ("red",)), "red")

    def test_values_of_another_type_are_unequal(self):
        # clause 4.9: "If the data type of the target value and the data type of the
        # Query Term value are different, then they shall be considered unequal."
        assert check(Comparison(A, "!=", ("20",)), 20)
        assert check(Comparison(A, "!=", (True,)), "true")

    def test_array_target_matches_when_it_includes_none_of_the_values(self):
        assert check(Comparison(A, "!=", ("red",)), ["blue", "black", "green"])
        assert not check(Comparison(A, "!=", ("red",)), ["blue", "red", "green"])
        assert not check(Comparison(A, "!=", ("black", "red")), ["blue", "red"])
        assert check(Comparison(A, "!=", ("black", "red")), ["blue", "yellow"])

    def test_range(self):
        outside = Comparison(A, "!=", low=10, high=20)
        assert check(outside, 9)
        assert not check(outside, 10)
        assert not check(outside, 20)
        assert check(outside, 21)

    def test_missing_attribute_matches_nothing_not_even_unequal(self):
        for comparison in (
            Comparison(A, "!=", ("red",)),
            Comparison(A, "!~=", (re.compile("red"),)),
            Comparison(A, "==", ("red",)),
            Comparison(A, "exists"),
        ):
            assert not check(comparison, MISSING)


class TestOrder:
    @pytest.mark.parametrize(
        ("op", "results"),
        [(">", [False, False, True]), (">=", [False, True, True]), ("<", [True, False, False]), ("<=", [True, True, False])],
    )
    def test_numbers(self, op, results):
        comparison = Comparison(A, op, (25,))
        assert [check(comparison, t) for t in (24.9, 25, 25.1)] == results

    def test_strings_compare_by_code_point(self):
        assert check(Comparison(A, ">", ("B",)), "a")  # 'a' (97) > 'B' (66)
        assert check(Comparison(A, "<", ("apple",)), "Zebra")

    def test_type_mismatch_is_false(self):
        assert not check(Comparison(A, ">", (5,)), "10")
        assert not check(Comparison(A, ">", ("5",)), 10)
        assert not check(Comparison(A, ">", (0,)), True)
        assert not check(Comparison(A, ">", (0,)), {"x": 1})
        assert not check(Comparison(A, ">", (0,)), None)

    def test_array_target_matches_by_any_item(self):
        assert check(Comparison(A, ">", (25,)), [10, 30])
        assert not check(Comparison(A, ">", (25,)), [10, 20])


class TestDatesAndTimes:
    noon = datetime(2017, 12, 24, 12, 0, tzinfo=timezone.utc)

    def test_date_times_compare_as_instants(self):
        after_noon = Comparison(A, ">=", (self.noon,))
        assert check(after_noon, "2017-12-24T12:00:00Z")
        assert check(after_noon, "2017-12-24T13:30:00+01:00")  # 12:30 UTC
        assert not check(after_noon, "2017-12-24T12:30:00+01:00")  # 11:30 UTC
        assert check(after_noon, "2017-12-24T12:00:00.001Z")
        assert check(after_noon, datetime(2018, 1, 1, tzinfo=timezone.utc))

    def test_stored_date_time_without_offset_is_utc(self):
        assert check(Comparison(A, "==", (self.noon,)), "2017-12-24T12:00:00")

    def test_date_time_literal_does_not_match_other_types(self):
        after_noon = Comparison(A, ">", (self.noon,))
        assert not check(after_noon, "2018-01-01")  # a date is not a date-time
        assert not check(after_noon, "tomorrow")
        assert not check(after_noon, 1_600_000_000)

    def test_dates(self):
        assert check(Comparison(A, "<", (date(2024, 3, 1),)), "2024-02-29")
        assert not check(Comparison(A, "<", (date(2024, 3, 1),)), "2024-02-29T10:00:00Z")
        assert check(Comparison(A, "==", (date(2024, 3, 1),)), date(2024, 3, 1))

    def test_times(self):
        before_noon = Comparison(A, "<", (time(12, 0),))
        assert check(before_noon, "11:59:59Z")
        assert check(before_noon, "08:00")
        assert not check(before_noon, "12:00:00Z")
        assert not check(before_noon, "11:00:00+02:00")  # only UTC times compare

    def test_strings_compare_as_strings(self):
        # a quoted literal is a string, even when it looks like a date-time
        assert check(Comparison(A, ">", ("2017-12-24T12:00:00Z",)), "2017-12-24T13:00:00Z")


class TestPatterns:
    def test_search_anywhere_and_anchors(self):
        assert check(Comparison(A, "~=", (re.compile("erced"),)), "Mercedes")
        assert not check(Comparison(A, "~=", (re.compile("^erced"),)), "Mercedes")
        assert check(Comparison(A, "~=", (re.compile("(?i)^mercedes$"),)), "Mercedes")

    def test_only_strings_match_or_fail_to_match(self):
        assert not check(Comparison(A, "~=", (re.compile("4"),)), 42)
        assert not check(Comparison(A, "!~=", (re.compile("4"),)), 42)
        assert check(Comparison(A, "!~=", (re.compile("4"),)), "37")
        assert not check(Comparison(A, "!~=", (re.compile("4"),)), "42")

    def test_array_target(self):
        assert check(Comparison(A, "~=", (re.compile("^bus"),)), ["tram", "bus-12"])
        assert check(Comparison(A, "!~=", (re.compile("^bus"),)), ["tram", "metro"])
        assert not check(Comparison(A, "!~=", (re.compile("^bus"),)), ["tram", "bus-12"])
        assert not check(Comparison(A, "!~=", (re.compile("^bus"),)), ["tram", 3])


class TestExists:
    def test_any_value_even_null_or_false_exists(self):
        exists = Comparison(A, "exists")
        assert check(exists, 0)
        assert check(exists, False)
        assert check(exists, None)
        assert not check(exists, MISSING)


class TestHolds:
    entity = {
        "temperature": 27,
        "speed": 55,
        "brandName": "Mercedes",
        "temperature.observedAt": "2017-12-24T12:30:00Z",
        "address": {"city": "Berlin", "street": "Ulrich Strasse"},
        "sensor.rawdata": {"airquality": {"particulate": 40, "PM20": 85}},
    }

    def test_all_of_and_any_of(self):
        resolve = resolver(self.entity)
        hot = Comparison(Path("temperature"), ">", (25,))
        fast = Comparison(Path("speed"), ">=", (50,))
        audi = Comparison(Path("brandName"), "==", ("Audi",))
        assert holds(AllOf((hot, fast)), resolve)
        assert not holds(AllOf((hot, audi)), resolve)
        assert holds(AnyOf((audi, fast)), resolve)
        assert not holds(AnyOf((audi, AllOf((audi, hot)))), resolve)

    def test_sub_attribute_and_json_members(self):
        resolve = resolver(self.entity)
        observed = Comparison(Path("temperature", ("observedAt",)), ">=", (datetime(2017, 12, 24, 12, tzinfo=timezone.utc),))
        assert holds(observed, resolve)
        assert holds(Comparison(Path("address", keys=("city",)), "==", ("Berlin",)), resolve)
        assert holds(Comparison(Path("sensor", ("rawdata",), ("airquality", "particulate")), "==", (40,)), resolve)

    def test_a_member_that_is_not_there_is_missing(self):
        resolve = resolver(self.entity)
        assert not holds(Comparison(Path("address", keys=("zip",)), "!=", ("10115",)), resolve)
        assert not holds(Comparison(Path("address", keys=("city", "name")), "exists"), resolve)
        assert not holds(Comparison(Path("humidity"), "!=", (10,)), resolve)

    def test_json_member(self):
        assert json_member({"a": {"b": 1}}, ("a", "b")) == 1
        assert json_member({"a": {"b": 1}}, ()) == {"a": {"b": 1}}
        assert json_member({"a": [1]}, ("a", "0")) is MISSING
        assert json_member("text", ("a",)) is MISSING


class TestMalformedComparisons:
    @pytest.mark.parametrize(
        "make",
        [
            lambda: Comparison(A, "=", (1,)),
            lambda: Comparison(A, ">", ()),
            lambda: Comparison(A, ">", (1, 2)),
            lambda: Comparison(A, ">", (True,)),
            lambda: Comparison(A, "~=", ("not compiled",)),
            lambda: Comparison(A, ">", low=1, high=2),
            lambda: Comparison(A, "==", low=1, high="2"),
            lambda: Comparison(A, "==", ([1],)),
        ],
    )
    def test_refused(self, make):
        with pytest.raises(ValueError):
            make()


class TestIntrospection:
    def test_attribute_names(self):
        expression = AnyOf(
            (
                Comparison(Path("speed"), ">", (50,)),
                AllOf((Comparison(Path("temperature", ("observedAt",)), "exists"), Comparison(Path("address", keys=("city",)), "exists"))),
            )
        )
        assert attribute_names(expression) == {"speed", "temperature", "address"}

    def test_simple_terms_are_the_top_level_and_of_bare_comparisons(self):
        speed = Comparison(Path("speed"), ">", (50,))
        brand = Comparison(Path("brandName"), "!=", ("Mercedes",))
        listed = Comparison(Path("colour"), "==", ("red", "blue"))
        skipped = (
            Comparison(Path("temperature", ("observedAt",)), ">", (1,)),
            Comparison(Path("address", keys=("city",)), "==", ("Berlin",)),
            Comparison(Path("name"), "~=", (re.compile("x"),)),
            Comparison(Path("name"), "exists"),
            Comparison(Path("level"), "==", low=1, high=5),
            Comparison(Path("day"), "==", (date(2024, 1, 1),)),
            AnyOf((Comparison(Path("a"), "==", (1,)), Comparison(Path("b"), "==", (1,)))),
        )
        assert simple_terms(AllOf((speed, *skipped, AllOf((brand, listed))))) == (speed, brand, listed)
        assert simple_terms(speed) == (speed,)
        assert simple_terms(AnyOf((speed, brand))) == ()
