import pytest

from icity.connectors import CONNECTORS, Connector, get_connector, validate_config
from icity.errors import ICityError


def test_every_kind_is_registered_under_its_own_name():
    assert set(CONNECTORS) >= {"csv", "json", "geojson", "icalendar", "gtfs"}
    for kind, connector in CONNECTORS.items():
        assert issubclass(connector, Connector)
        assert connector.kind == kind


def test_an_unknown_kind_names_the_parameter_and_the_known_kinds():
    with pytest.raises(ICityError) as raised:
        get_connector("xml")
    assert raised.value.status == 400
    assert raised.value.param == "connector.kind"
    assert f"known kinds: {', '.join(sorted(CONNECTORS))}." in raised.value.detail  # csv, geojson, gtfs…


def test_settings_are_camel_case_with_defaults():
    config = validate_config("csv", {"delimiter": ";", "skipRows": 2, "encoding": "latin-1"})
    assert (config.delimiter, config.skip_rows, config.encoding) == (";", 2, "latin-1")
    assert validate_config("json", {}).records_path == ""
    assert validate_config("json", {"recordsPath": "data.items"}).records_path == "data.items"


def test_every_bad_setting_is_reported_with_its_path():
    with pytest.raises(ICityError) as raised:
        validate_config("csv", {"delimiter": ";;", "encoding": "klingon", "skipRows": -1, "sheet": "A"})
    error = raised.value
    assert error.status == 422
    paths = {problem.path: problem.detail for problem in error.errors}
    assert set(paths) == {"connector.delimiter", "connector.encoding", "connector.skipRows", "connector.sheet"}
    assert "one character" in paths["connector.delimiter"]
    assert "klingon" in paths["connector.encoding"]
    assert "Unknown setting" in paths["connector.sheet"]


def test_a_malformed_records_path_is_refused():
    with pytest.raises(ICityError) as raised:
        validate_config("json", {"recordsPath": "data..items"})
    assert raised.value.param == "connector.recordsPath"
