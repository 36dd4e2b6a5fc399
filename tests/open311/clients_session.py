"""Run inside .venv-open311clients: georeport 0.3.1 and civicbot 0.4.0, unmodified, against iCity's
/open311/v2. Usage: clients_session.py BASE JURISDICTION API_KEY SCENARIO; prints one JSON line."""

import json
import sys

BASE, JURISDICTION, KEY, SCENARIO = sys.argv[1:5]
ROOT = f"{BASE}/open311/v2"


def georeport(output_format):
    from georeport import GeoReport

    client = GeoReport(ROOT, jurisdiction=JURISDICTION, output_format=output_format)
    services = client.get_service_list()
    services = services if isinstance(services, list) else [services]
    definition = client.get_service_definition("pothole")
    requests = client.get_service_requests()
    requests = requests if isinstance(requests, list) else [requests]
    closed = client.get_service_requests(status="closed")
    closed = closed if isinstance(closed, list) else [closed]
    one = client.get_service_request("R-1")
    attributes = definition["attributes"]
    if output_format == "xml":
        attributes = attributes["attribute"]
    return {
        "services": [s["service_code"] for s in services],
        "metadata": [str(s["metadata"]).lower() for s in services],
        "definition": [a["code"] for a in attributes],
        "requests": [r["service_request_id"] for r in requests],
        "closed": [r["service_request_id"] for r in closed],
        "one": {"id": one["service_request_id"], "status": one["status"], "code": one["service_code"]},
    }


def civicbot():
    from civicbot.http import HttpError
    from civicbot.open311 import Open311Client
    from civicbot.registry import Endpoint

    endpoint = Endpoint(id="icity", name="iCity", base_url=ROOT, write=True)
    client = Open311Client(endpoint, jurisdiction_id=JURISDICTION)
    sent = client.create_request(
        "pothole", dry_run=False, confirm="SEND", api_key=KEY, validate_remote=True, lat=41.41, lng=2.12,
        description="Hole by the school", attributes={"depth": "deep", "lanes": "1"}, email="citizen@example.com",
    )
    created = sent.response[0]
    request_id = created["service_request_id"]
    read = client.get_request(request_id)
    token = client.get_token(request_id)
    try:
        client.create_request("pothole", dry_run=False, confirm="SEND", api_key="ick_wrong_key", lat=41.41, lng=2.12,
                              attributes={"depth": "deep"})
        refused = None
    except HttpError as error:
        refused = {"status": error.status, "body": json.loads(error.body)}
    try:
        client.create_request("pothole", dry_run=False, confirm="SEND", api_key=KEY, lat=41.41, lng=2.12,
                              attributes={"depth": "bottomless"}, validate_remote=False)
        invalid = None
    except HttpError as error:
        invalid = {"status": error.status, "body": json.loads(error.body)}
    return {
        "created": created,
        "read": {k: read[k] for k in ("service_request_id", "status", "service_code", "description", "lat", "long")},
        "token": token,
        "refused": refused,
        "invalid": invalid,
    }


if SCENARIO == "georeport-json":
    out = georeport("json")
elif SCENARIO == "georeport-xml":
    out = georeport("xml")
else:
    out = civicbot()
print(json.dumps(out))
