"""NGSI-LD representations of stored entities, and stored entities from NGSI-LD bodies.

A stored entity keeps each attribute's value (what the /api/v1 keyValues view shows) and, in
`details`, what NGSI-LD adds when there is any: the attribute's kind when not a plain Property,
its observedAt, unitCode, datasetId, sub-attributes and further instances. Normalized, concise
and simplified (keyValues) forms are all rendered from those two, so that what a client creates
in normalized form it reads back the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from icity.datamodels import get_registry
from icity.ngsi_ld.contexts import Context, shown_name, stored_name
from icity.ngsi_ld.errors import bad_request_data

# What holds an attribute's value, by its NGSI-LD type
VALUE_MEMBER = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "LanguageProperty": "languageMap",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
    "JsonProperty": "json",
    "VocabProperty": "vocab",
}
# Members of an attribute that are not sub-attributes
ATTRIBUTE_MEMBERS = frozenset(VALUE_MEMBER.values()) | {
    "type", "observedAt", "unitCode", "datasetId", "createdAt", "modifiedAt", "objectType", "lang", "deletedAt",
    "instanceId", "previousValue", "previousObject",
}  # fmt: skip
ENTITY_MEMBERS = frozenset({"id", "type", "@context", "scope", "createdAt", "modifiedAt", "deletedAt"})
GEOMETRY_TYPES = frozenset({"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"})
NORMALIZED, CONCISE, SIMPLIFIED = "normalized", "concise", "simplified"
TYPED = "@type"  # in an attribute's details: its value was a JSON-LD typed value of this type


@dataclass(frozen=True)
class View:
    """How an answer shows entities: which form, with which context, which attributes, system attributes."""

    context: Context
    form: str = NORMALIZED
    attributes: frozenset[str] | None = None  # stored names; None: all
    sys_attrs: bool = False


# ---- stored → NGSI-LD --------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def default_kind(entity_type: str, name: str) -> str:
    model = get_registry().get(entity_type)
    spec = model.attributes.get(name) if model else None
    kind = spec.ngsi_type if spec else "Property"
    return kind if kind in VALUE_MEMBER else "Property"


def render(row: Any, view: View) -> dict[str, Any]:
    """One stored entity (a row with id, type, location, attributes, details, times) in `view`'s form."""
    context = view.context
    details = row.details or {}
    wanted = view.attributes
    if view.form == SIMPLIFIED and context.is_platform and not details and wanted is None and not view.sys_attrs:
        # the common case, without per-attribute work: the stored values are the simplified form
        body = {"id": row.id, "type": row.type, **row.attributes}
        if row.location is not None:
            body["location"] = row.location
        return body
    body: dict[str, Any] = {"id": row.id, "type": shown_name(row.type, context)}
    for name, value in row.attributes.items():
        if wanted is not None and name not in wanted:
            continue
        body[shown_name(name, context)] = _attribute(row.type, name, value, details.get(name), view)
    if row.location is not None and (wanted is None or "location" in wanted):
        location_details = details.get("location")
        body["location"] = _attribute(row.type, "location", row.location, location_details or {"type": "GeoProperty"}, view)
    if view.sys_attrs and view.form != SIMPLIFIED:
        if row.created_at is not None:
            body["createdAt"] = _time(row.created_at)
        body["modifiedAt"] = _time(row.modified_at)
    return body


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _attribute(entity_type: str, name: str, value: Any, detail: dict[str, Any] | None, view: View) -> Any:
    instances = (detail or {}).get("instances")
    first = _instance(entity_type, name, value, detail, view)
    if not instances:
        return first
    others = [_instance(entity_type, name, _value_of(i), i, view) for i in instances]
    if view.form == SIMPLIFIED:
        return first
    return [first, *others]


def _value_of(instance: dict[str, Any]) -> Any:
    kind = instance.get("type", "Property")
    return instance.get(VALUE_MEMBER.get(kind, "value"))


def _instance(entity_type: str, name: str, value: Any, detail: dict[str, Any] | None, view: View) -> Any:
    detail = detail or {}
    kind = detail.get("type") or default_kind(entity_type, name)
    if TYPED in detail:  # a JSON-LD typed value, e.g. {"@type": "DateTime", "@value": "2024-05-01T10:00:00Z"}
        value = {"@type": detail[TYPED], "@value": value}
    if view.form == SIMPLIFIED:
        if kind == "LanguageProperty":
            return {"languageMap": value}
        return value
    member = VALUE_MEMBER.get(kind, "value")
    extra = {key: item for key, item in detail.items() if key not in ("type", "instances", member, TYPED)}
    if view.form == CONCISE:
        if not extra and kind in ("Property", "GeoProperty") and not isinstance(value, dict):
            return value
        if not extra and kind == "GeoProperty":
            return value
        attribute: dict[str, Any] = {member: value}
    else:
        attribute = {"type": kind, member: value}
    for key, item in extra.items():
        if key in ATTRIBUTE_MEMBERS:
            attribute[key] = item
        else:  # a sub-attribute, stored normalized
            attribute[shown_name(key, view.context)] = _sub_attribute(item, view)
    return attribute


def _sub_attribute(item: Any, view: View) -> Any:
    if not isinstance(item, dict):
        return item
    kind = item.get("type", "Property")
    member = VALUE_MEMBER.get(kind, "value")
    if view.form == CONCISE:
        rest = {k: v for k, v in item.items() if k not in ("type", member)}
        if not rest and kind == "Property" and not isinstance(item.get(member), dict):
            return item.get(member)
        return {member: item.get(member), **{_sub_key(k, view): _sub_attribute(v, view) if k not in ATTRIBUTE_MEMBERS else v for k, v in rest.items()}}
    return {
        (_sub_key(k, view) if k not in ATTRIBUTE_MEMBERS else k): (_sub_attribute(v, view) if k not in ATTRIBUTE_MEMBERS else v)
        for k, v in item.items()
    }


def _sub_key(key: str, view: View) -> str:
    return shown_name(key, view.context)


def feature(body: dict[str, Any], geometry_property: str, view: View) -> dict[str, Any]:
    """An entity as a GeoJSON Feature (CIM 009 clause 4.5.16)."""
    geometry_attribute = body.get(geometry_property)
    if isinstance(geometry_attribute, dict) and "value" in geometry_attribute and view.form != SIMPLIFIED:
        geometry = geometry_attribute["value"]
    elif isinstance(geometry_attribute, dict) and geometry_attribute.get("type") in GEOMETRY_TYPES:
        geometry = geometry_attribute
    else:
        geometry = None
    properties = {key: value for key, value in body.items() if key != "id"}
    return {"id": body["id"], "type": "Feature", "geometry": geometry, "properties": properties}


# ---- NGSI-LD → stored --------------------------------------------------------------------------


@dataclass
class Parsed:
    """An entity (or a fragment of one) as the entity store takes it, in stored names."""

    id: str | None
    type: str | None
    attributes: dict[str, Any]
    details: dict[str, Any | None]
    location: dict[str, Any] | None
    observed_at: str | None  # the latest observedAt of its attributes, for the history

    def payload(self) -> dict[str, Any]:
        """The dict entity_store.check_entity takes."""
        payload: dict[str, Any] = {"id": self.id, "type": self.type, **self.attributes}
        if self.location is not None:
            payload["location"] = self.location
        if self.observed_at is not None:
            payload["observedAt"] = self.observed_at
        return payload


def parse_entity(body: Any, context: Context, *, fragment: bool = False, path: str = "") -> Parsed:
    """A normalized or concise NGSI-LD entity (or, with `fragment`, attributes only) → Parsed.
    Problems raise BadRequestData naming the member."""
    if not isinstance(body, dict):
        raise bad_request_data(f"{path or 'the body'} must be a JSON object")
    entity_id = entity_type = None
    if not fragment:
        entity_id = body.get("id", body.get("@id"))
        if not isinstance(entity_id, str) or not entity_id:
            raise bad_request_data(f"{path}id: an entity needs an id (a URI)", param="id")
        raw_type = body.get("type", body.get("@type"))
        if isinstance(raw_type, list) and len(raw_type) == 1:
            raw_type = raw_type[0]
        if isinstance(raw_type, list):
            raise bad_request_data(f"{path}type: entities of several types are not supported here; give one", param="type")
        if not isinstance(raw_type, str) or not raw_type:
            raise bad_request_data(f"{path}type: an entity needs a type", param="type")
        entity_type = stored_name(raw_type, context)
    attributes: dict[str, Any] = {}
    details: dict[str, Any | None] = {}
    location = None
    times: list[str] = []
    for key, raw in body.items():
        if key in ENTITY_MEMBERS or key in ("@id", "@type"):
            continue
        name = stored_name(key, context)
        value, detail = parse_attribute(raw, context, f"{path}{key}")
        if name == "location":
            kind = (detail or {}).get("type", "GeoProperty")
            if kind != "GeoProperty" or not _is_geometry(value):
                raise bad_request_data(f"{path}location must be a GeoProperty whose value is a GeoJSON geometry", param="location")
            location = value
            rest = {k: v for k, v in (detail or {}).items() if k != "type"}
            details["location"] = {"type": "GeoProperty", **rest} if rest else None
        else:
            attributes[name] = value
            details[name] = detail
        for instance in [detail or {}, *((detail or {}).get("instances") or [])]:
            if isinstance(instance.get("observedAt"), str):
                times.append(instance["observedAt"])
    return Parsed(entity_id, entity_type, attributes, details, location, max(times) if times else None)


def parse_attribute(raw: Any, context: Context, path: str) -> tuple[Any, dict[str, Any] | None]:
    """(value, details or None) of one attribute, normalized or concise, one instance or several."""
    if isinstance(raw, list) and raw and all(isinstance(item, dict) and _looks_like_attribute(item) for item in raw):
        parsed = [_parse_instance(item, context, f"{path}[{index}]") for index, item in enumerate(raw)]
        dataset_ids = [detail.get("datasetId") for _, detail in parsed]
        if len(set(map(str, dataset_ids))) != len(dataset_ids):
            raise bad_request_data(f"{path}: two instances of one attribute have the same datasetId", param=path)
        default = next((index for index, ds in enumerate(dataset_ids) if ds is None), 0)
        value, detail = parsed[default]
        others = [{**d, VALUE_MEMBER.get(d.get("type", "Property"), "value"): v} | ({"type": d.get("type", "Property")})
                  for index, (v, d) in enumerate(parsed) if index != default]  # fmt: skip
        return value, {**detail, "instances": others}
    value, detail = _parse_instance(raw, context, path)
    return value, (detail or None)


def _looks_like_attribute(item: dict[str, Any]) -> bool:
    return item.get("type") in VALUE_MEMBER or any(member in item for member in VALUE_MEMBER.values())


def _parse_instance(raw: Any, context: Context, path: str) -> tuple[Any, dict[str, Any]]:
    if not isinstance(raw, dict):  # concise: a bare value is a Property
        _check_value(raw, path)
        return raw, {}
    if _is_geometry(raw):  # concise GeoProperty
        return raw, {"type": "GeoProperty"}
    kind = raw.get("type")
    if kind is None:  # concise: the member present says the kind
        kind = next((k for k, member in VALUE_MEMBER.items() if member in raw and k != "GeoProperty"), None)
        if kind is None:
            raise bad_request_data(
                f"{path}: an attribute is a value, or an object with type and value (Property), object (Relationship), "
                "languageMap (LanguageProperty)…; to give a JSON object as a value, write {\"value\": {...}}",
                param=path,
            )
        if kind == "Property" and _is_geometry(raw.get("value")):
            kind = "GeoProperty"
    if kind not in VALUE_MEMBER:
        raise bad_request_data(f"{path}.type: '{kind}' is not an NGSI-LD attribute type ({', '.join(VALUE_MEMBER)})", param=path)
    member = VALUE_MEMBER[kind]
    if member not in raw:
        raise bad_request_data(f"{path}: a {kind} needs '{member}'", param=path)
    value = raw[member]
    typed = None
    if kind == "Property" and isinstance(value, dict) and set(value) == {"@type", "@value"} and isinstance(value["@type"], str):
        typed, value = value["@type"], value["@value"]  # kept as its @value, so models and queries see a plain value
    if kind == "GeoProperty" and not _is_geometry(value):
        raise bad_request_data(f"{path}.value: a GeoProperty's value is a GeoJSON geometry", param=path)
    if kind == "Relationship" and not (isinstance(value, str) and ":" in value or isinstance(value, list)):
        raise bad_request_data(f"{path}.object: a Relationship's object is a URI", param=path)
    if kind == "LanguageProperty" and not (isinstance(value, dict) and all(isinstance(v, (str, list)) for v in value.values())):
        raise bad_request_data(f"{path}.languageMap: a LanguageProperty's languageMap maps language tags to text", param=path)
    if kind in ("Property",) and value is None:
        raise bad_request_data(f"{path}.value: null is not a value (delete the attribute instead)", param=path)
    _check_value(value, path)
    detail: dict[str, Any] = {} if kind == "Property" else {"type": kind}
    if typed is not None:
        detail[TYPED] = typed
    for key, item in raw.items():
        if key in ("type", member, "createdAt", "modifiedAt", "instanceId"):
            continue
        if key == "observedAt":
            if not isinstance(item, str) or not _is_datetime(item):
                raise bad_request_data(f"{path}.observedAt must be an ISO 8601 date-time", param=path)
            detail[key] = item
        elif key in ATTRIBUTE_MEMBERS:
            detail[key] = item
        else:
            sub_value, sub_detail = _parse_instance(item, context, f"{path}.{key}")
            sub_kind = (sub_detail or {}).get("type", "Property")
            sub = {"type": sub_kind, VALUE_MEMBER[sub_kind]: sub_value, **{k: v for k, v in sub_detail.items() if k != "type"}}
            detail[stored_name(key, context)] = sub
    return value, detail


def _check_value(value: Any, path: str) -> None:
    if value is None:
        raise bad_request_data(f"{path}: null is not a value", param=path)


def _is_geometry(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") in GEOMETRY_TYPES and "coordinates" in value


def _is_datetime(text: str) -> bool:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None
