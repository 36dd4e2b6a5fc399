"""Declarative mapping: one source record (CSV row, JSON object) → one harmonised entity.

The mapping is a JSON document stored with an information system. `Mapping.parse`
refuses a bad one with the path of every offending field; `map_record` turns a record
into the dict `entity_store.upsert_entities` accepts, or raises `RecordRejected` with a
reason a city admin can act on. Pure: no database, no network.

Example:

    {
      "entityType": "AirQualityObserved",
      "id": {"template": "{station}-{pollutant}"},
      "observedAt": {"field": "date", "format": "%d/%m/%Y %H:%M", "timezone": "Europe/Madrid"},
      "location": {"x": "UTM_X", "y": "UTM_Y", "crs": "EPSG:25831"},
      "decimalSeparator": ",", "thousandsSeparator": ".",
      "attributes": {
        "no2": {"field": "NO2", "type": "number", "unit": {"from": "mg/m3", "to": "ug/m3"}},
        "airQualityLevel": {"field": "QUALITAT", "values": {"B": "good", "M": "moderate"}}
      },
      "constants": {"dataProvider": "Ajuntament de Barcelona"}
    }
"""

from __future__ import annotations

import math
import re
import string
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Iterable, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from icity.datamodels.identifiers import entity_urn
from icity.datamodels.registry import CORE_KEYS
from icity.errors import FieldProblem, invalid
from icity.harmonise import geometry, units


class RecordRejected(Exception):
    """A record the mapping cannot turn into an entity; the rest of the batch goes on."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


# ----------------------------------------------------------------------------- the mapping document


class _Strict(BaseModel):
    # A misspelt key would otherwise be ignored silently and the attribute never filled.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _check_timezone(name: str | None) -> str | None:
    if name is not None:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{name}' (use an IANA name such as Europe/Madrid)") from exc
    return name


class IdSpec(_Strict):
    field: str | None = None
    template: str | None = None
    # The source's ids carry a prefix that is not part of the local id, e.g. another iCity's
    # "urn:ngsi-ld:AirQualityObserved:alpha:": the rest is the local id (a value without it is rejected).
    strip_prefix: str | None = Field(default=None, alias="stripPrefix", min_length=1)

    @field_validator("template")
    @classmethod
    def _template_names_fields(cls, template: str | None) -> str | None:
        if template is not None and not template_fields(template):
            raise ValueError("the template must name at least one source field, e.g. '{station}-{pollutant}'")
        return template

    @model_validator(mode="after")
    def _one_source(self) -> IdSpec:
        if (self.field is None) == (self.template is None):
            raise ValueError("give exactly one of 'field' or 'template'")
        if self.strip_prefix is not None and self.field is None:
            raise ValueError("'stripPrefix' applies to an id taken from a 'field'")
        return self

    def fields(self) -> list[str]:
        return [self.field] if self.field else template_fields(self.template or "")


class TimeSpec(_Strict):
    field: str
    format: str | None = None  # strptime; ISO 8601 when absent
    timezone: str = "UTC"  # for times the source gives without an offset
    required: bool = True

    _check_zone = field_validator("timezone")(_check_timezone)


class LocationSpec(_Strict):
    lat: str | None = None
    lon: str | None = None
    x: str | None = None
    y: str | None = None
    wkt: str | None = None
    geojson: str | None = None
    crs: str | None = None
    required: bool = True

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, crs: str | None) -> str | None:
        if crs is not None:
            geometry.check_crs(crs)
        return crs

    @model_validator(mode="after")
    def _one_form(self) -> LocationSpec:
        forms = {
            "lat/lon": self.lat is not None or self.lon is not None,
            "x/y": self.x is not None or self.y is not None,
            "wkt": self.wkt is not None,
            "geojson": self.geojson is not None,
        }
        chosen = [name for name, present in forms.items() if present]
        if len(chosen) != 1:
            raise ValueError("give exactly one of: 'lat' and 'lon', 'x' and 'y' (with 'crs'), 'wkt', 'geojson'")
        if chosen == ["lat/lon"] and (self.lat is None or self.lon is None):
            raise ValueError("give both 'lat' and 'lon'")
        if chosen == ["x/y"] and (self.x is None or self.y is None or self.crs is None):
            raise ValueError("projected coordinates need 'x', 'y' and 'crs' (e.g. EPSG:25831)")
        return self

    @property
    def source_crs(self) -> str:
        return self.crs or geometry.WGS84

    def fields(self) -> list[tuple[str, str]]:
        return [(name, getattr(self, name)) for name in ("lat", "lon", "x", "y", "wkt", "geojson") if getattr(self, name)]


class UnitSpec(_Strict):
    source: str = Field(alias="from")
    target: str = Field(alias="to")

    @field_validator("source", "target")
    @classmethod
    def _known_unit(cls, name: str) -> str:
        units.check_unit(name)
        return name

    @model_validator(mode="after")
    def _convertible(self) -> UnitSpec:
        units.linear_conversion(self.source, self.target)  # ValueError when the dimensions differ
        return self


AttributeType = Literal["number", "integer", "string", "boolean", "datetime", "list"]


class AttributeSpec(_Strict):
    field: str
    type: AttributeType = "string"
    values: dict[str, Any] | None = None  # source value → value; a null target leaves the attribute out
    unit: UnitSpec | None = None
    scale: float | None = None
    required: bool = False
    default: Any = None  # used when the value is missing or not in `values`; only when given
    format: str | None = None  # datetime attributes: strptime format
    timezone: str = "UTC"  # datetime attributes: zone of naive times
    separator: str = ","  # list attributes given as text

    _check_zone = field_validator("timezone")(_check_timezone)

    @model_validator(mode="after")
    def _consistent(self) -> AttributeSpec:
        if (self.unit or self.scale is not None) and self.type not in ("number", "integer"):
            raise ValueError("'unit' and 'scale' apply to number and integer attributes only")
        if self.unit and self.scale is not None:
            raise ValueError("give 'unit' or 'scale', not both")
        if self.scale is not None and not math.isfinite(self.scale):
            raise ValueError("'scale' must be a finite number")
        return self

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set


class Mapping(_Strict):
    entity_type: str = Field(alias="entityType", min_length=1)
    id: IdSpec
    observed_at: TimeSpec | None = Field(default=None, alias="observedAt")
    location: LocationSpec | None = None
    decimal_separator: Literal[".", ","] = Field(default=".", alias="decimalSeparator")
    thousands_separator: Literal[",", ".", " ", "'", "\u00a0", "\u202f"] | None = Field(
        default=None, alias="thousandsSeparator"
    )
    attributes: dict[str, AttributeSpec] = Field(default_factory=dict)
    constants: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Mapping:
        if self.thousands_separator == self.decimal_separator:
            raise ValueError("'thousandsSeparator' must differ from 'decimalSeparator'")
        return self

    @field_validator("attributes", "constants")
    @classmethod
    def _not_core_keys(cls, names: dict[str, Any]) -> dict[str, Any]:
        reserved = sorted(set(names) & CORE_KEYS)
        if reserved:
            raise ValueError(f"{', '.join(reserved)} cannot be mapped here: they have their own entry in the mapping")
        return names

    @classmethod
    def parse(cls, raw: Any, source_fields: Iterable[str] | None = None) -> Mapping:
        """Validate a mapping document; with `source_fields` (e.g. a CSV header), also check
        that every field it names exists in the source."""
        if not isinstance(raw, dict):
            raise invalid([FieldProblem("", "the mapping must be a JSON object")])
        try:
            mapping = cls.model_validate(raw)
        except ValidationError as exc:
            raise invalid([FieldProblem(_path(e["loc"]), _message(e)) for e in exc.errors()]) from None
        problems = []
        for path, name in mapping.constant_clashes():
            problems.append(FieldProblem(path, f"'{name}' is both a constant and a mapped attribute"))
        if source_fields is not None:
            known = set(source_fields)
            problems += [
                FieldProblem(path, f"the source has no field '{name}' (it has: {', '.join(sorted(known)) or 'none'})")
                for path, name in mapping.field_references()
                if name not in known
            ]
        if problems:
            raise invalid(problems)
        return mapping

    def constant_clashes(self) -> list[tuple[str, str]]:
        return [(f"constants.{name}", name) for name in self.constants if name in self.attributes]

    def field_references(self) -> list[tuple[str, str]]:
        """(path in the mapping, source field name) for every source field the mapping reads."""
        refs = [("id.field" if self.id.field else "id.template", name) for name in self.id.fields()]
        if self.observed_at:
            refs.append(("observedAt.field", self.observed_at.field))
        if self.location:
            refs += [(f"location.{key}", name) for key, name in self.location.fields()]
        refs += [(f"attributes.{attr}.field", spec.field) for attr, spec in self.attributes.items()]
        return refs


def template_fields(template: str) -> list[str]:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ValueError(f"'{template}' is not a valid template: {exc}") from exc
    if any(not name or name.isdigit() for name in names):
        raise ValueError("template placeholders must name source fields, e.g. '{station}'")
    return names


def _path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "this key is required"
    return str(error["msg"]).removeprefix("Value error, ")


# ----------------------------------------------------------------------------- mapping a record


def record_entity_id(mapping: Mapping, record: dict[str, Any], city_id: str) -> str:
    """The id of the entity `record` maps to (RecordRejected when the id fields are empty)."""
    return entity_urn(mapping.entity_type, city_id, _local_id(mapping, record))


def map_record(mapping: Mapping, record: dict[str, Any], city_id: str) -> dict[str, Any]:
    """The entity for `record`, or RecordRejected with the reason and the source field."""
    entity: dict[str, Any] = {"id": record_entity_id(mapping, record, city_id), "type": mapping.entity_type}
    if mapping.location:
        location = _location(mapping, mapping.location, record)
        if location is not None:
            entity["location"] = location
    if mapping.observed_at:
        spec = mapping.observed_at
        raw = _value(record, spec.field)
        if raw is None:
            if spec.required:
                raise RecordRejected(f"field '{spec.field}' is empty: the observation time is required", spec.field)
        else:
            entity["observedAt"] = _datetime(raw, spec.field, spec.format, spec.timezone)
    for name, spec in mapping.attributes.items():
        present, value = _attribute(mapping, name, spec, record)
        if present:
            entity[name] = value
    entity.update(mapping.constants)
    return entity


def _value(record: dict[str, Any], field: str) -> Any:
    """The field's value, stripped; empty text counts as missing (CSV has no null)."""
    value = record.get(field)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# Characters left as they are in the local id; the rest are percent-encoded so that
# the URN stays valid (RFC 8141) and the same source id always gives the same URN.
_URN_SAFE = "-._~!$&'()*+,;=:@"


def _local_id(mapping: Mapping, record: dict[str, Any]) -> str:
    spec = mapping.id
    values = {}
    for name in spec.fields():
        value = _value(record, name)
        if value is None:
            raise RecordRejected(f"field '{name}' is empty: it is needed for the entity id", name)
        values[name] = _text(value)
    local = values[spec.field] if spec.field else (spec.template or "").format_map(values)
    if spec.strip_prefix is not None:
        if not local.startswith(spec.strip_prefix) or local == spec.strip_prefix:
            raise RecordRejected(f"field '{spec.field}' ('{local}') does not start with '{spec.strip_prefix}'", spec.field)
        local = local[len(spec.strip_prefix) :]
    return quote(local, safe=_URN_SAFE)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 12.0 from a JSON source and "12" from a CSV give the same id
    return str(value)


def _location(mapping: Mapping, spec: LocationSpec, record: dict[str, Any]) -> dict[str, Any] | None:
    fields = spec.fields()
    values = {key: _value(record, name) for key, name in fields}
    for key, name in fields:
        if values[key] is None:
            if spec.required:
                raise RecordRejected(f"field '{name}' is empty: the location is required", name)
            return None
    first_field = fields[0][1]
    try:
        if spec.lat:
            return geometry.point(
                _number(mapping, values["lon"], spec.lon), _number(mapping, values["lat"], spec.lat), spec.source_crs
            )
        if spec.x:
            return geometry.point(
                _number(mapping, values["x"], spec.x), _number(mapping, values["y"], spec.y), spec.source_crs
            )
        if spec.wkt:
            return geometry.from_wkt(_text(values["wkt"]), spec.source_crs)
        return geometry.from_geojson(values["geojson"], spec.source_crs)
    except ValueError as exc:
        raise RecordRejected(f"field '{first_field}': {exc}", first_field) from None


# What float() accepts minus "nan", "inf", "1_000" and inner spaces, which are not data.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _number(mapping: Mapping, value: Any, field: str) -> float:
    return _parse_number(value, field, mapping.decimal_separator, mapping.thousands_separator)


def _parse_number(value: Any, field: str, decimal: str, thousands: str | None) -> float:
    if isinstance(value, bool):
        raise RecordRejected(f"field '{field}': {value} is not a number", field)
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise RecordRejected(f"field '{field}': {value} is not a finite number", field)
        return float(value)
    text = str(value)
    normalised = text.replace("\u2212", "-")  # typographic minus, common in published tables
    if thousands:
        normalised = normalised.replace(thousands, "")
    if decimal == ",":
        if "." in normalised:  # with a decimal comma a stray point is ambiguous: refuse, do not guess
            raise RecordRejected(f"field '{field}': '{text}' is not a number (the decimal separator is ',')", field)
        normalised = normalised.replace(",", ".")
    if not _NUMBER.fullmatch(normalised):
        raise RecordRejected(f"field '{field}': '{text}' is not a number", field)
    return float(normalised)


def _attribute(mapping: Mapping, name: str, spec: AttributeSpec, record: dict[str, Any]) -> tuple[bool, Any]:
    """(present, value): present is False when the attribute is left out of the entity."""
    raw = _value(record, spec.field)
    if raw is None:
        if spec.has_default:
            return True, spec.default
        if spec.required:
            raise RecordRejected(f"field '{spec.field}' is empty: attribute '{name}' is required", spec.field)
        return False, None
    if spec.values is not None:
        key = _text(raw)
        if key not in spec.values:
            if spec.has_default:
                return True, spec.default
            known = ", ".join(sorted(spec.values))
            raise RecordRejected(f"field '{spec.field}': '{key}' is not in the value map (known: {known})", spec.field)
        raw = spec.values[key]
        if raw is None:
            return False, None
    return True, _convert(mapping, spec, raw)


def _convert(mapping: Mapping, spec: AttributeSpec, raw: Any) -> Any:
    field = spec.field
    if spec.type in ("number", "integer"):
        unit = spec.unit
        how = (mapping.decimal_separator, mapping.thousands_separator, spec.type,
               unit.source if unit else None, unit.target if unit else None, spec.scale)  # fmt: skip
        # Text (CSV) goes through a cache: a source repeats the same readings ("12,5") endlessly.
        return (_cached_text_number if type(raw) is str else _converted_number)(raw, field, *how)
    if spec.type == "string":
        return _text(raw)
    if spec.type == "boolean":
        return _boolean(raw, field)
    if spec.type == "datetime":
        return _datetime(raw, field, spec.format, spec.timezone)
    # list
    if isinstance(raw, list):
        return raw
    return [part.strip() for part in _text(raw).split(spec.separator) if part.strip()]


def _converted_number(
    raw: Any, field: str, decimal: str, thousands: str | None, kind: str,
    unit_source: str | None, unit_target: str | None, scale: float | None,
) -> int | float:  # fmt: skip
    value = _parse_number(raw, field, decimal, thousands)
    if unit_source:
        factor, offset = units.linear_conversion(unit_source, unit_target)
        value = value * factor + offset
    elif scale is not None:
        value *= scale
    if kind == "integer":
        if unit_source or scale is not None:
            return round(value)
        if not value.is_integer():
            raise RecordRejected(f"field '{field}': '{raw}' is not a whole number", field)
        return int(value)
    # Conversions leave binary noise (212 °F → 100.00000000000006 °C); 12 significant
    # digits is beyond any sensor's precision and keeps values stable between runs.
    return float(f"{value:.12g}")


# Pure, and a rejection is an exception, which the cache does not keep.
_cached_text_number = lru_cache(maxsize=16384)(_converted_number)


_TRUE = {"true", "1", "yes", "y", "t", "si", "sí", "oui", "ja"}
_FALSE = {"false", "0", "no", "n", "f", "non", "nein"}


def _boolean(raw: Any, field: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _text(raw).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RecordRejected(f"field '{field}': '{raw}' is not a yes/no value (true/false, 1/0, yes/no)", field)


def _datetime(raw: Any, field: str, fmt: str | None, zone: str) -> str:
    return _parse_datetime(_text(raw), field, fmt, zone)


# A source's records share few distinct times (every station reports the same hour): each
# is parsed once. Pure, and a rejection is an exception, which the cache does not keep.
@lru_cache(maxsize=4096)
def _parse_datetime(text: str, field: str, fmt: str | None, zone: str) -> str:
    try:
        value = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
    except ValueError:
        expected = f"the format {fmt}" if fmt else "ISO 8601, e.g. 2024-05-01T10:00:00+02:00"
        raise RecordRejected(f"field '{field}': '{text}' is not a date-time in {expected}", field) from None
    if value.tzinfo is None:
        tz = ZoneInfo(zone)
        local = value.replace(tzinfo=tz)
        # A wall-clock time skipped by the spring clock change does not exist; zoneinfo would
        # still give it an offset, so check it survives the round trip.
        if local.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None) != value:
            raise RecordRejected(f"field '{field}': {text} does not exist in {zone} (clocks went forward)", field)
        value = local
    return value.astimezone(timezone.utc).isoformat()
