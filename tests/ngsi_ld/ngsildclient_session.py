"""Run by tests/ngsi_ld/test_ngsildclient.py with `.venv-ngsildclient/bin/python`: ngsildclient
0.5.2 (PyPI, unmodified) drives a real iCity server through its own API. It imports nothing of
iCity. Prints one JSON object: what each step returned.

    python ngsildclient_session.py <base URL> <provider token> [session | typed-datetime | temporal]

The provider token travels as `Authorization: Bearer …` through `Client(custom_auth=…)`,
ngsildclient's own hook for credentials (a requests AuthBase).
"""

from __future__ import annotations

import json
import sys
from urllib.parse import urlsplit

from requests.auth import AuthBase

from datetime import timedelta

from ngsildclient import Client, Entity
from ngsildclient.api.constants import AggrMethod
from ngsildclient.api.exceptions import NgsiApiError
from ngsildclient.api.helper.temporal import TemporalQuery

TYPE = "AirQualityObserved"
OBSERVED = "2024-05-01T10:00:00Z"


class Bearer(AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def station(number: int, no2: float) -> Entity:
    """A station of alpha, in normalized form as ngsildclient builds it (core @context only)."""
    entity = Entity(TYPE, f"urn:ngsi-ld:{TYPE}:alpha:s{number}")
    entity.loc(41.38, round(2.10 + number / 100, 2))  # lat, lon: ngsildclient's order
    entity.prop("no2", no2, unitcode="GQ", observedat=OBSERVED)
    entity.prop("airQualityLevel", "good" if no2 <= 30 else "moderate")
    entity.prop("name", f"Station s{number}")
    return entity


def ids(entities) -> list[str]:
    return sorted(entity.id for entity in entities)


def no2_by_id(entities) -> dict[str, float]:
    return {entity.id: entity.to_dict()["no2"]["value"] for entity in sorted(entities, key=lambda e: e.id)}


def without_context(payload: dict) -> dict:
    return {key: value for key, value in payload.items() if key != "@context"}


def error_name(call) -> str:
    try:
        call()
    except NgsiApiError as error:
        return type(error).__name__
    return "no error"


def typed_datetime(client: Client) -> dict:
    """A DateTime value as ngsildclient writes it (a JSON-LD typed value, CIM 009 clause 4.6.3), read back."""
    entity = station(7, 70.0).tprop("dateObserved", OBSERVED)
    out = {"create": error_name(lambda: client.create(entity))}
    if out["create"] == "no error":
        out["dateObserved"] = client.get(entity.id, asdict=True).get("dateObserved")
    return out


def temporal(client: Client) -> dict:
    """alpha s1's no2 history (written by the test): read simplified, normalized, and averaged per hour."""
    station = f"urn:ngsi-ld:{TYPE}:alpha:s1"
    hours = TemporalQuery().between("2024-05-01T10:00:00Z", "2024-05-01T12:00:00Z")
    return {
        "temporalValues": without_context(client.temporal.get(station, attrs=["no2"])),
        "normalized": without_context(client.temporal.get(station, attrs=["no2"], verbose=True)),
        "aggregated": [without_context(troe) for troe in client.temporal.aggregate(
            type=TYPE, attrs=["no2"], tq=hours, methods=[AggrMethod.AVERAGE, AggrMethod.MAXIMUM], period=timedelta(hours=1)
        ).result],
    }  # fmt: skip


def main(base: str, token: str, scenario: str = "session") -> None:
    parts = urlsplit(base)
    out: dict = {}
    with Client(hostname=parts.hostname, port=parts.port, custom_auth=Bearer(token), verbose=False) as client:
        if scenario == "typed-datetime":
            print(json.dumps(typed_datetime(client), sort_keys=True))
            return
        if scenario == "temporal":
            print(json.dumps(temporal(client), sort_keys=True))
            return
        out["connected"] = client.is_connected()
        out["createOne"] = client.create(station(1, 10.0))
        created = client.create([station(n, 10.0 * n) for n in range(2, 6)])
        out["batchCreate"] = {"success": sorted(created.success), "errors": created.errors}
        # one entity that exists: ngsildclient creates, gets 409 AlreadyExists, deletes and creates again
        out["upsertOne"] = client.upsert(station(1, 15.0))
        upserted = client.upsert([station(5, 55.0), station(6, 60.0)])  # one replaced, one new
        out["batchUpsert"] = {"ok": upserted.ok, "errors": upserted.errors}

        out["count"] = client.count(type=TYPE)
        out["countQ"] = client.count(type=TYPE, q="no2>30")
        # paging: the count first, then pages of `limit` with offset
        out["queryPaged"] = no2_by_id(client.query(type=TYPE, limit=4))
        out["queryQPaged"] = no2_by_id(client.query(type=TYPE, q='no2>=20;airQualityLevel=="moderate"', limit=1))
        out["queryHead"] = len(client.query_head(type=TYPE, n=2))
        out["pages"] = [ids(client.entities._query(TYPE, limit=4, offset=offset)) for offset in (0, 4, 8)]

        out["types"] = client.types.list()
        one = client.get(f"urn:ngsi-ld:{TYPE}:alpha:s1", asdict=True)
        out["getHasContext"] = "@context" in one
        out["get"] = without_context(one)
        out["getEntity"] = client.get(f"urn:ngsi-ld:{TYPE}:alpha:s6").to_dict()["name"]
        out["exists"] = client.exists(f"urn:ngsi-ld:{TYPE}:alpha:s1")

        out["deleteOne"] = client.delete(station(1, 15.0))
        # Entity objects: on a 204, ngsildclient 0.5.2 reads .id from each item, so it cannot take bare ids
        deleted = client.delete([station(2, 20.0), station(3, 30.0)])
        out["batchDelete"] = {"ok": deleted.ok, "errors": deleted.errors}
        out["existsAfterDelete"] = client.exists(f"urn:ngsi-ld:{TYPE}:alpha:s1")
        out["getAfterDelete"] = error_name(lambda: client.get(f"urn:ngsi-ld:{TYPE}:alpha:s1"))
        out["createExisting"] = error_name(lambda: client.entities.create(station(4, 40.0)))
        out["countAfterDelete"] = client.count(type=TYPE)
        out["remaining"] = ids(client.query(type=TYPE))
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(*sys.argv[1:4])
