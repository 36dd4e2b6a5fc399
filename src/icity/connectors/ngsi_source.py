"""Context brokers a city already runs (FIWARE Orion, Orion-LD, Scorpio, Stellio): NGSI-v2 and NGSI-LD.

The source URL is the broker base, e.g. ``http://orion:1026``. Entities of one type are
read page by page in key-values form: each record is ``{"id", "type", <attribute>: <value>}``,
a location staying a GeoJSON dict. Entity types vary from broker to broker, so there is no
default mapping; the city writes one, e.g.::

    {"entityType": "AirQualityObserved", "id": {"field": "id"},
     "location": {"geojson": "location"},
     "observedAt": {"field": "dateObserved", "required": false},
     "attributes": {"no2": {"field": "no2", "type": "number"}}}

Key-values form drops metadata: units, v2 metadata and the NGSI-LD ``observedAt`` of each
attribute are not in the records (an entity's time is mapped from an attribute such as
``dateObserved``). A v2 location of type ``geo:point`` comes as the text "lat, lon", not GeoJSON.

A broker that wants a key (another iCity: an app's API key; a broker behind an API gateway or a
PEP proxy: its token) gets it in a header: ``apiKey``, sent as ``apiKeyHeader`` (``X-API-Key`` by
default; ``Authorization`` with an ``apiKey`` of ``Bearer …`` for a bearer token). The key is a
setting of the source like Open311's ``apiKey``: kept with the connector, shown only to the city's
admins, never in a run's messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from pydantic import Field, ValidationInfo, field_validator

from icity.connectors.base import Connector, ConnectorConfig, Reading, Record, SourceError, SourceRequest
from icity.connectors.fetch import api_client, get_json
from icity.connectors.json_source import json_type

Flatten = Callable[[dict[str, Any]], dict[str, Any]]

DEFAULT_KEY_HEADER = "X-API-Key"  # iCity's own, for one iCity harvesting another
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")  # an RFC 9110 token
_OWN_HEADERS = {"accept", "link", "ngsild-tenant", "fiware-service", "fiware-servicepath", "user-agent", "host"}


class NgsiConfig(ConnectorConfig):
    entity_type: str = Field(description="The entity type to read, e.g. 'AirQualityObserved'.")
    q: str | None = Field(None, description="A broker-side filter in the NGSI query language, e.g. 'no2>40'.")
    tenant: str | None = Field(None, description="The tenant of a multi-tenant broker; the default one when unset.")
    page_size: int = Field(100, ge=1, le=1000, description="Entities per request; brokers refuse more than 1000.")
    attrs: list[str] | None = Field(None, min_length=1, description="Only these attributes; id and type always come.")
    api_key: str | None = Field(
        None, min_length=1, description="A key the broker wants (another iCity: an app's API key), sent in apiKeyHeader."
    )
    api_key_header: str | None = Field(
        None, description=f"The header the key goes in; '{DEFAULT_KEY_HEADER}' when unset, e.g. 'X-Auth-Token', 'Authorization'."
    )

    @field_validator("entity_type")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("Give the entity type to read, e.g. 'AirQualityObserved'.")
        return value

    @field_validator("api_key")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is not None and (value != value.strip() or any(c in value for c in "\r\n\0")):
            raise ValueError("The key is one line without surrounding spaces.")
        return value

    @field_validator("api_key_header")
    @classmethod
    def _header_name(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            if info.data.get("api_key") is None:
                raise ValueError("names where the key goes: give apiKey too.")
            if not _HEADER_NAME.fullmatch(value):
                raise ValueError("A header name is letters, digits and - (e.g. 'X-API-Key').")
            if value.lower() in _OWN_HEADERS:
                raise ValueError(f"The connector sets '{value}' itself; name another header for the key.")
        return value

    def key_headers(self) -> dict[str, str]:
        return {self.api_key_header or DEFAULT_KEY_HEADER: self.api_key} if self.api_key else {}


class NgsiV2Config(NgsiConfig):
    service_path: str | None = Field(None, description="Fiware-ServicePath, e.g. '/cornella/aire'.")

    @field_validator("service_path")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("A service path starts with '/', e.g. '/cornella/aire'.")
        return value


class NgsiLdConfig(NgsiConfig):
    context: str | None = Field(
        None,
        description="URL of the JSON-LD @context the entities were created with (sent as a Link header), "
        "so that a short type such as 'AirQualityObserved' expands as the broker stored it.",
    )


class NgsiV2Connector(Connector):
    """Entities of an NGSI-v2 broker (``/v2/entities``), paged with limit/offset."""

    kind = "ngsi-v2"
    Config = NgsiV2Config

    @classmethod
    @contextmanager
    def read(cls, config: NgsiV2Config, request: SourceRequest) -> Iterator[Reading]:
        params = {"type": config.entity_type, "options": "keyValues,count", **_filters(config)}
        headers = config.key_headers()
        if config.tenant:
            headers["Fiware-Service"] = config.tenant
        if config.service_path:
            headers["Fiware-ServicePath"] = config.service_path
        url = request.url.rstrip("/") + "/v2/entities"
        with api_client(request) as client:
            pages = _Pages(client, request, url, params, headers, "Fiware-Total-Count", "NGSI-v2 broker")
            yield Reading(records=pages.records(config.page_size, _flatten_v2))


class NgsiLdConnector(Connector):
    """Entities of an NGSI-LD broker (``/ngsi-ld/v1/entities``), paged with limit/offset.
    ``@context`` keys are dropped."""

    kind = "ngsi-ld"
    Config = NgsiLdConfig

    @classmethod
    @contextmanager
    def read(cls, config: NgsiLdConfig, request: SourceRequest) -> Iterator[Reading]:
        params = {"type": config.entity_type, "options": "keyValues", "count": "true", **_filters(config)}
        headers = {"Accept": "application/json", **config.key_headers()}  # plain JSON: the @context travels in a Link header
        if config.tenant:
            headers["NGSILD-Tenant"] = config.tenant
        if config.context:
            headers["Link"] = f'<{config.context}>; rel="{_CONTEXT_REL}"; type="application/ld+json"'
        url = request.url.rstrip("/") + "/ngsi-ld/v1/entities"
        with api_client(request) as client:
            pages = _Pages(client, request, url, params, headers, "NGSILD-Results-Count", "NGSI-LD broker")
            yield Reading(records=pages.records(config.page_size, _flatten_ld))


_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"


def _filters(config: NgsiConfig) -> dict[str, str]:
    filters = {}
    if config.q:
        filters["q"] = config.q
    if config.attrs:
        filters["attrs"] = ",".join(config.attrs)
    return filters


class _Pages:
    """One entity query, read with limit/offset until the broker's count is reached or a page is short."""

    def __init__(
        self,
        client: httpx.Client,
        request: SourceRequest,
        url: str,
        params: dict[str, str],
        headers: dict[str, str],
        count_header: str,
        broker: str,
    ) -> None:
        self.client, self.request, self.url = client, request, url
        self.params, self.headers = params, headers
        self.count_header, self.broker = count_header, broker

    def records(self, limit: int, flatten: Flatten) -> Iterator[Record]:
        number = offset = 0
        previous_ids: list[Any] | None = None
        while True:
            entities, total = self._page(limit, offset)
            ids = [entity.get("id") if isinstance(entity, dict) else entity for entity in entities]
            if entities and ids == previous_ids:
                return  # the broker ignores 'offset' and sent the same entities again
            for entity in entities:
                number += 1
                if isinstance(entity, dict):
                    yield Record(number, flatten(entity))
                else:
                    yield Record(number, {}, f"entity is a {json_type(entity)}, not an object")
            offset += len(entities)
            if len(entities) < limit or (total is not None and offset >= total):
                return
            previous_ids = ids

    def _page(self, limit: int, offset: int) -> tuple[list[Any], int | None]:
        params = {**self.params, "limit": limit, "offset": offset}
        body, headers = get_json(self.client, self.url, self.request, params=params, headers=self.headers, hints=_HINTS)
        if not isinstance(body, list):
            what = "an object" if isinstance(body, dict) else ("null" if body is None else f"a {json_type(body)}")
            raise SourceError(
                f"The {self.broker} answered {what}, not an array of entities: "
                "is the URL the broker base, e.g. http://orion:1026?"
            )
        count = headers.get(self.count_header, "").strip()
        return body, int(count) if count.isdigit() else None


_HINTS = {  # what to check when the server refuses
    400: "check connector.entityType, connector.q and connector.attrs",
    401: "the broker wants credentials: check connector.apiKey and connector.apiKeyHeader",
    403: "the broker refuses these credentials: check connector.apiKey and connector.apiKeyHeader",
    404: "the URL must be the broker base, e.g. http://orion:1026",
}



def _flatten_v2(entity: dict[str, Any]) -> dict[str, Any]:
    """Key-values form as it is; normalized form (a broker ignoring keyValues) reduced to it:
    ``{"type": "Number", "value": 41, "metadata": {}}`` → 41."""
    return {
        name: value["value"] if name not in ("id", "type") and _is_v2_attribute(value) else value
        for name, value in entity.items()
    }


def _is_v2_attribute(value: Any) -> bool:
    return isinstance(value, dict) and "value" in value and set(value) <= {"type", "value", "metadata"}


# What holds an NGSI-LD attribute's value in normalized form, by attribute type.
_LD_VALUE_KEYS = {
    "Property": "value",
    "GeoProperty": "value",
    "Relationship": "object",
    "LanguageProperty": "languageMap",
    "ListProperty": "valueList",
    "ListRelationship": "objectList",
    "VocabProperty": "vocab",
    "JsonProperty": "json",
}


def _flatten_ld(entity: dict[str, Any]) -> dict[str, Any]:
    """Key-values form as it is, ``@context`` dropped; normalized form reduced to it
    (Property/GeoProperty → value, Relationship → object). Typed JSON-LD values
    (``{"@type": "DateTime", "@value": "…"}``) become their ``@value``."""
    return {
        name: value if name in ("id", "type") else _ld_value(value)
        for name, value in entity.items()
        if name != "@context"
    }


def _ld_value(value: Any) -> Any:
    if isinstance(value, list) and value and all(_ld_attribute_key(item) for item in value):
        # several instances of one attribute (datasetId): the default instance, else the first
        default = next((item for item in value if "datasetId" not in item), value[0])
        return _ld_value(default)
    key = _ld_attribute_key(value)
    if key:
        value = value[key]
    if isinstance(value, dict) and "@value" in value:
        return value["@value"]
    return value


def _ld_attribute_key(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = value.get("type")
        key = _LD_VALUE_KEYS.get(kind) if isinstance(kind, str) else None
        if key and key in value:
            return key
    return None
