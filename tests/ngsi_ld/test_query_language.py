"""The NGSI-LD query language (CIM 009 clause 4.9): q text to expression, and its errors."""

import re
from datetime import date, datetime, time, timezone

import pytest

from icity.errors import ICityError, bad_parameter
from icity.ngsi_ld.query_language import parse_q
from icity.services.matching import MISSING, AllOf, AnyOf, Comparison, Path, holds, json_member


def same(term: str) -> str:
    return term


def parse(text: str):
    return parse_q(text, same)


def term(attribute: str, op: str, *values, subs=(), keys=(), low=None, high=None) -> Comparison:
    return Comparison(Path(attribute, subs, keys), op, values, low, high)


def refusal(text: str) -> str:
    with pytest.raises(ICityError) as caught:
        parse(text)
    assert caught.value.param == "q"
    assert caught.value.status == 400
    return caught.value.detail


def matches(text: str, entity: dict) -> bool:
    def resolve(path: Path):
        key = ".".join((path.attribute, *path.subs))
        return json_member(entity[key], path.keys) if key in entity else MISSING

    return holds(parse(text), resolve)


class TestSpecExamples:
    def test_0_existence(self):
        assert parse("temperature") == term("temperature", "exists")

    def test_1_equal_number(self):
        assert parse("temperature==20") == term("temperature", "==", 20)

    def test_2_unequal_string(self):
        assert parse('brandName!="Mercedes"') == term("brandName", "!=", "Mercedes")

    def test_3_quoted_uri(self):
        assert parse('isParked=="urn:ngsi-ld:OffStreetParking:Downtown1"') == term(
            "isParked", "==", "urn:ngsi-ld:OffStreetParking:Downtown1"
        )

    def test_4_and(self):
        assert parse('speed>50;brandName!="Mercedes"') == AllOf(
            (term("speed", ">", 50), term("brandName", "!=", "Mercedes"))
        )

    def test_6_nested_association(self):
        assert parse('((speed>50|rpm>3000);brandName=="Mercedes")') == AllOf(
            (AnyOf((term("speed", ">", 50), term("rpm", ">", 3000))), term("brandName", "==", "Mercedes"))
        )

    def test_7_association_then_or(self):
        assert parse("(temperature>=20;temperature<=25)|capacity<=10") == AnyOf(
            (AllOf((term("temperature", ">=", 20), term("temperature", "<=", 25))), term("capacity", "<=", 10))
        )

    def test_8_dotted_path_and_date_time(self):
        assert parse("temperature.observedAt>=2017-12-24T12:00:00Z") == term(
            "temperature", ">=", datetime(2017, 12, 24, 12, tzinfo=timezone.utc), subs=("observedAt",)
        )

    def test_9_trailing_path(self):
        assert parse('address[city]=="Berlin"') == term("address", "==", "Berlin", keys=("city",))

    def test_10_dotted_trailing_path(self):
        assert parse("sensor.rawdata[airquality.particulate]==40") == term(
            "sensor", "==", 40, subs=("rawdata",), keys=("airquality", "particulate")
        )

    def test_12_unquoted_term_is_a_string(self):
        assert parse("gender==Male") == term("gender", "==", "Male")

    def test_range_and_list(self):
        assert parse("temperature==10..20") == term("temperature", "==", low=10, high=20)
        assert parse('color=="black","red"') == term("color", "==", "black", "red")

    def test_evaluated_against_entities(self):
        car = {"speed": 55, "rpm": 2000, "brandName": "Mercedes", "temperature": 22, "capacity": 40}
        assert matches("speed>50;brandName==\"Mercedes\"", car)
        assert matches("((speed>50|rpm>3000);brandName==\"Mercedes\")", car)
        assert not matches("((speed>60|rpm>3000);brandName==\"Mercedes\")", car)
        assert matches("(temperature>=20;temperature<=25)|capacity<=10", car)
        assert not matches("(temperature>=23;temperature<=25)|capacity<=10", car)


class TestOperatorsAndValues:
    @pytest.mark.parametrize("op", ["==", "!=", ">", ">=", "<", "<="])
    def test_each_comparison_operator(self, op):
        assert parse(f"a{op}1.5") == term("a", op, 1.5)

    @pytest.mark.parametrize("op", ["~=", "!~="])
    def test_each_pattern_operator(self, op):
        parsed = parse(f"name{op}^Bus")
        assert (parsed.op, parsed.values[0].pattern) == (op, "^Bus")

    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("0", 0),
            ("-5", -5),
            ("2.5e3", 2500.0),
            ("1E-2", 0.01),
            ("-0.75", -0.75),
            ('"text"', "text"),
            ('"with \\"quotes\\" and \\u00e9"', 'with "quotes" and é'),
            ("true", True),
            ("false", False),
            ("2024-02-29", date(2024, 2, 29)),
            ("12:30:00Z", time(12, 30)),
            ("12:30", time(12, 30)),
            ("2024-02-29T10:00:00.5+02:00", datetime(2024, 2, 29, 8, 0, 0, 500_000, tzinfo=timezone.utc)),
            ("2024-02-29T10:00:00", datetime(2024, 2, 29, 10, tzinfo=timezone.utc)),
            ("urn:ngsi-ld:Device:1", "urn:ngsi-ld:Device:1"),
            ("https://example.org/red", "https://example.org/red"),
        ],
    )
    def test_literals_after_equal(self, text, value):
        parsed = parse(f"a=={text}")
        assert parsed.values == (value,)
        assert type(parsed.values[0]) is type(value)

    def test_date_time_with_offset_is_the_same_instant(self):
        (value,) = parse("a>2024-01-01T01:00:00+01:00").values
        assert value == datetime(2024, 1, 1, tzinfo=timezone.utc)

    def test_ranges_of_each_comparable_type(self):
        assert parse('a=="a".."m"') == term("a", "==", low="a", high="m")
        assert parse("a!=2024-01-01..2024-12-31") == term("a", "!=", low=date(2024, 1, 1), high=date(2024, 12, 31))
        assert parse("a==08:00..12:00") == term("a", "==", low=time(8), high=time(12))
        assert parse("a==-1.5..1e2") == term("a", "==", low=-1.5, high=100.0)

    def test_lists_mix_types_and_uris(self):
        assert parse('a==1,"two",true,urn:x:3') == term("a", "==", 1, "two", True, "urn:x:3")

    def test_quoted_string_may_hold_operators(self):
        assert parse('a=="x;y|(z)==1",b') == term("a", "==", "x;y|(z)==1", "b")
        assert parse('a=="x;y"|b') == AnyOf((term("a", "==", "x;y"), term("b", "exists")))

    def test_prefixed_attribute_name(self):
        assert parse("schema:name==1") == term("schema:name", "==", 1)

    def test_unicode_names(self):
        assert parse("température>1") == term("température", ">", 1)


class TestStructure:
    def test_and_binds_tighter_than_or(self):
        assert parse("a;b|c;d") == AnyOf((AllOf((term("a", "exists"), term("b", "exists"))), AllOf((term("c", "exists"), term("d", "exists")))))

    def test_parentheses_override(self):
        assert parse("a;(b|c);d") == AllOf((term("a", "exists"), AnyOf((term("b", "exists"), term("c", "exists"))), term("d", "exists")))

    def test_same_operators_flatten(self):
        assert parse("a;(b;c)") == AllOf((term("a", "exists"), term("b", "exists"), term("c", "exists")))
        assert parse("(a|b)|c") == AnyOf((term("a", "exists"), term("b", "exists"), term("c", "exists")))

    def test_redundant_parentheses(self):
        assert parse("((a==1))") == term("a", "==", 1)

    def test_nesting_up_to_32(self):
        assert parse("(" * 32 + "a" + ")" * 32) == term("a", "exists")
        assert "more than 32 nested parentheses" in refusal("(" * 33 + "a" + ")" * 33)

    def test_bracket_forms(self):
        assert parse("a[b][c]==1") == parse("a[b.c]==1") == term("a", "==", 1, keys=("b", "c"))
        assert parse("a.b.c[d]") == term("a", "exists", subs=("b", "c"), keys=("d",))

    def test_names_are_expanded_members_are_not(self):
        expanded = parse_q("temperature.observedAt[x]>1", lambda t: f"https://example.org/{t}")
        assert expanded.path == Path("https://example.org/temperature", ("https://example.org/observedAt",), ("x",))

    def test_expand_errors_pass_through(self):
        def refuse(term):
            raise bad_parameter("q", f"unknown term {term}")

        with pytest.raises(ICityError, match="unknown term a"):
            parse_q("a==1", refuse)


class TestPatterns:
    def test_bare_pattern_ends_at_and_or_or_outside_its_groups(self):
        assert parse("name~=(Bus|Tram)-[0-9;]+;x") == AllOf(
            (term("name", "~=", re.compile(r"(Bus|Tram)-[0-9;]+")), term("x", "exists"))
        )
        assert parse("name~=Bus|x") == AnyOf((term("name", "~=", re.compile("Bus")), term("x", "exists")))
        assert parse("(name~=B\\)us)") == term("name", "~=", re.compile(r"B\)us"))

    def test_quoted_pattern(self):
        assert parse('name~="(?i)^a|b$"').values[0].pattern == "(?i)^a|b$"

    def test_pattern_matches_anywhere(self):
        assert matches("brandName~=erce", {"brandName": "Mercedes"})
        assert not matches("brandName~=^erce", {"brandName": "Mercedes"})
        assert matches('brandName~="(?i)^mercedes$"', {"brandName": "Mercedes"})

    @pytest.mark.parametrize(
        ("pattern", "reason"),
        [
            ("(a+)+$", "a repeated part repeats again inside"),
            ("(a*)*b", "a repeated part repeats again inside"),
            ("(x?)+", "a repeated part repeats again inside"),
            ("(a|aa)+b", "a repeated part holds an alternation"),
            ("(.)\\1", "back-references are not supported"),
            ("(?P<x>a)(?(x)b)", "back-references are not supported"),
        ],
    )
    def test_patterns_that_can_backtrack_exponentially_are_refused(self, pattern, reason):
        assert reason in refusal(f'name~="{pattern}"'.replace("\\", "\\\\"))

    def test_safe_repetitions_pass(self):
        for pattern in ("^[A-Z]{2}-\\d+$", "(ab)+", "(\\d{2}:)+", ".*bus.*", "[a|b]*"):
            parse(f"name~={pattern}")

    def test_pattern_length_is_limited(self):
        parse("name~=" + "a" * 200)
        assert "longer than 200 characters" in refusal("name~=" + "a" * 201)

    def test_invalid_pattern(self):
        assert "invalid regular expression" in refusal("name~=[a")
        assert "~= and !~= need a regular expression" in refusal("name~=;x")


class TestErrors:
    @pytest.mark.parametrize(
        ("text", "detail"),
        [
            ("", "q is empty"),
            ("a=1", "q, character 2 ('=1'): '=' is not an operator: use ==."),
            ("a ==1", "q, character 2 (' ==1'): whitespace is not allowed outside quoted strings"),
            ("a>2024-01-01T00:00:00 01:00", "whitespace is not allowed outside quoted strings (a '+' in a URL"),
            ("a>true", "q, character 3 ('true'): > compares with a number, a quoted string, a date, a time or a date-time."),
            ("a<b", "q, character 3 ('b'): < compares with"),
            ("a==20abc", "q, character 4 ('20abc'): '20abc' is not a value"),
            ("a==active now", "whitespace is not allowed"),
            ("a==", "q ends where a value"),
            ("a==1,", "q ends where a value"),
            ('a=="open', "q, character 4 ('\"open'): this string is never closed"),
            ('a=="bad \\x escape"', "this string is not a valid JSON string"),
            ("a==1..", "q ends where a value"),
            ("a==1..x", "q, character 7 ('x'): a range low..high takes"),
            ("a==true..false", "q, character 4 ('true..false'): a range low..high takes"),
            ('a==1.."9"', "the two bounds of a range must be of the same type"),
            ("a==2024-13-01", "'2024-13-01' is not a valid value (month must be in 1..12)"),
            ("a==1e999", "'1e999' is not a valid value (out of range)"),
            ("(a==1", "q, character 1 ('(a==1'): this '(' is never closed."),
            ("a==1)", "q, character 5 (')'): this ')' closes no '('."),
            ("(a==1 ", "whitespace is not allowed"),
            ("a;", "q ends where an attribute name was expected."),
            (";a", "q, character 1 (';a'): expected an attribute name."),
            ("a||b", "q, character 3 ('|b'): expected an attribute name."),
            ("()", "q, character 2 (')'): expected an attribute name."),
            ("1a==1", "q, character 1 ('1a==1'): expected an attribute name."),
            ("a.==1", "q, character 3 ('==1'): expected a sub-attribute name after '.'."),
            ("a[]==1", "expected a JSON member name after '['."),
            ("a[b==1", "q, character 4 ('==1'): expected ']' or '.'."),
            ("!a", "'!' cannot start a term"),
            ("sensor{humidity}==40", "linked-entity queries (attribute{...}) are not supported"),
            ("a>>1", "q, character 3 ('>1'): '>1' is not a value"),
            ("a==1 b==2", "whitespace is not allowed"),
            ("a==1(b)", "q, character 5 ('(b)'): expected ';', '|' or the end of q."),
        ],
    )
    def test_message_says_where_and_what(self, text, detail):
        assert detail in refusal(text)

    def test_length_is_limited(self):
        assert parse("a" * 4_000) == term("a" * 4_000, "exists")
        assert "q is 4,001 characters long; at most 4,000 are accepted." in refusal("a" * 4_001)

    def test_long_excerpt_is_cut(self):
        assert "('==1;bbbbbbbbbbbbbbbb…')" in refusal("a.==1;" + "b" * 40)
