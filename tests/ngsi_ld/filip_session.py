"""Run by tests/ngsi_ld/test_filip.py with `.venv-filip/bin/python`: FiLiP 0.8.1 (RWTH Aachen's
FIWARE Library for Python, PyPI, unmodified), its NGSI-LD client `ContextBrokerLDClient`, drives
a real iCity server. It imports nothing of iCity. Prints one JSON object: what each step returned.

    python filip_session.py <base URL> <provider token>

FiLiP sends application/json with the core context (V1.6) in a Link header, pages with
limit/offset until NGSILD-Results-Count, and parses every answer into its pydantic models. The
provider token travels as `Authorization: Bearer …` on the requests.Session FiLiP takes.
"""

from __future__ import annotations

import json
import sys

import requests
from filip.clients.ngsi_ld.cb import ContextBrokerLDClient
from filip.models.base import FiwareLDHeader
from filip.models.ngsi_ld.context import ActionTypeLD, ContextLDEntity, ContextProperty

TYPE = "AirQualityObserved"


def urn(number: int) -> str:
    return f"urn:ngsi-ld:{TYPE}:alpha:f{number}"


def station(number: int, no2: float) -> ContextLDEntity:
    return ContextLDEntity(
        id=urn(number),
        type=TYPE,
        location={"type": "GeoProperty", "value": {"type": "Point", "coordinates": [round(2.10 + number / 100, 2), 41.38]}},
        no2={"type": "Property", "value": no2},
        name={"type": "Property", "value": f"Station f{number}"},
    )


def no2_by_id(entities) -> dict[str, float]:
    values = {}
    for entity in sorted(entities, key=lambda e: e.id):
        no2 = entity.model_dump()["no2"]
        values[entity.id] = no2["value"] if isinstance(no2, dict) else no2
    return values


def status_of(call) -> int | str:
    try:
        call()
    except requests.HTTPError as error:
        return error.response.status_code
    return "no error"


def main(base: str, token: str) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    client = ContextBrokerLDClient(url=base, session=session, fiware_header=FiwareLDHeader(), pagination_limit=2)
    out: dict = {}
    location = client.post_entity(station(1, 10.0))
    out["postLocation"] = location
    client.entity_batch_operation(entities=[station(n, 10.0 * n) for n in (2, 3, 4)], action_type=ActionTypeLD.CREATE)
    client.entity_batch_operation(
        entities=[station(4, 45.0), station(5, 50.0)], action_type=ActionTypeLD.UPSERT, options="update"
    )
    # pages of 2 (pagination_limit) until the count: 5 entities in 3 requests
    out["list"] = no2_by_id(client.get_entity_list(entity_type=TYPE))
    out["listQ"] = no2_by_id(client.get_entity_list(entity_type=TYPE, q="no2>=30", options="keyValues"))
    near = client.get_entity_list(
        entity_type=TYPE, georel="near;maxDistance==1000", geometry="Point", coordinates="[2.12,41.38]"
    )
    out["near"] = sorted(entity.id for entity in near)  # f1..f3 are 834 m apart, f2 is where we ask
    within = client.get_entity_list(
        entity_type=TYPE, georel="within", geometry="Polygon",
        coordinates="[[[2.125,41.37],[2.155,41.37],[2.155,41.39],[2.125,41.39],[2.125,41.37]]]",
    )  # fmt: skip
    out["within"] = sorted(entity.id for entity in within)
    client.update_entity_attribute(entity_id=urn(1), attr=ContextProperty(value=12.5), attr_name="no2")
    # FiLiP asks for application/ld+json: the @context comes in the body (kept apart here)
    one = client.get_entity(urn(1)).model_dump(exclude_none=True)
    key_values = client.get_entity(urn(1), options="keyValues").model_dump(exclude_none=True)
    out["contexts"] = [one.pop("@context", None), key_values.pop("context", None)]
    out["get"], out["getKeyValues"] = one, key_values
    client.delete_entity_by_id(urn(1))
    client.entity_batch_operation(entities=[station(2, 0.0)], action_type=ActionTypeLD.DELETE)
    out["getDeleted"] = status_of(lambda: client.get_entity(urn(1)))
    out["remaining"] = sorted(entity.id for entity in client.get_entity_list(entity_type=TYPE))
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
