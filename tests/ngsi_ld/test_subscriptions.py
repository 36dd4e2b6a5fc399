"""NGSI-LD subscriptions and notifications (CIM 009 5.8, 5.2.12, 5.2.14, 5.3.1), with exact bodies:
notifications reach a real receiver on 127.0.0.1 through iCity's outbox (tests/services/test_webhooks.py
drives it the same way); the subscription is the app's iCity subscription, read through both doors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from icity.db.engine import new_session, transaction
from icity.db.models import Subscription
from icity.services import webhooks
from tests.ngsi_ld.conftest import BASE, LD
from tests.services.test_webhooks import P0, S0, S1, City, Receiver, city, receiver  # noqa: F401  fixtures

pytestmark = pytest.mark.postgres_ok

SUBSCRIPTIONS = f"{BASE}/subscriptions"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"


def subscribe(city: City, receiver: Receiver, **members) -> str:
    body = {"type": "Subscription", "entities": [{"type": "AirQualityObserved"}],
            "notification": {"endpoint": {"uri": receiver.url}}, **members}  # fmt: skip
    response = city.client.post(SUBSCRIPTIONS, json=body, headers=city.key)
    assert response.status_code == 201, response.text
    return response.headers["location"].removeprefix(f"{SUBSCRIPTIONS}/")


def read(city: City, uri: str) -> dict:
    response = city.client.get(f"{SUBSCRIPTIONS}/{uri}", headers=city.key)
    assert response.status_code == 200, response.text
    return response.json()


def subscriptions_stored(url: str) -> int:
    with new_session(url) as session:
        return session.scalar(select(func.count()).select_from(Subscription))


def test_a_subscription_reads_back_as_created_with_its_state_and_is_the_apps_icity_subscription(city: City, receiver: Receiver):
    created = city.client.post(SUBSCRIPTIONS, headers=city.key, json={
        "id": "urn:ngsi-ld:Subscription:no2-centre", "type": "Subscription", "subscriptionName": "NO2 in the centre",
        "description": "High NO2 near Plaça Catalunya",
        "entities": [{"type": "AirQualityObserved", "idPattern": "urn:ngsi-ld:AirQualityObserved:alpha:.*"}],
        "watchedAttributes": ["no2"], "q": "no2>40",
        "geoQ": {"georel": "near;maxDistance==5000", "geometry": "Point", "coordinates": [2.10, 41.38]},
        "notification": {"attributes": ["no2"], "format": "keyValues",
                         "endpoint": {"uri": receiver.url, "accept": "application/json",
                                      "receiverInfo": [{"key": "X-Tenant", "value": "breathe"}]}},
        "throttling": 5, "expiresAt": "2040-01-01T00:00:00Z",
    })  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{SUBSCRIPTIONS}/urn:ngsi-ld:Subscription:no2-centre"
    assert created.content == b""
    assert read(city, "urn:ngsi-ld:Subscription:no2-centre") == {
        "id": "urn:ngsi-ld:Subscription:no2-centre", "type": "Subscription", "subscriptionName": "NO2 in the centre",
        "description": "High NO2 near Plaça Catalunya",
        "entities": [{"idPattern": "urn:ngsi-ld:AirQualityObserved:alpha:.*", "type": "AirQualityObserved"}],
        "watchedAttributes": ["no2"], "notificationTrigger": ["attributeCreated", "attributeUpdated"], "q": "no2>40",
        "geoQ": {"georel": "near;maxDistance==5000", "geometry": "Point", "coordinates": [2.10, 41.38]},
        "throttling": 5, "expiresAt": "2040-01-01T00:00:00Z", "isActive": True,
        "notification": {"attributes": ["no2"], "format": "keyValues",
                         "endpoint": {"uri": receiver.url, "accept": "application/json",
                                      "receiverInfo": [{"key": "X-Tenant", "value": "breathe"}]},
                         "timesSent": 0, "timesFailed": 0},
        "status": "active",
    }  # fmt: skip
    # the same row through /api/v1: the app's subscription, with its webhook endpoint
    [icity] = city.client.get("/api/v1/subscriptions", headers=city.key).json()["items"]
    assert (icity["uri"], icity["standard"], icity["name"], icity["endpoint"], icity["throttlingS"]) == (
        "urn:ngsi-ld:Subscription:no2-centre", "ngsi-ld", "NO2 in the centre", receiver.url, 5)
    assert city.client.post(SUBSCRIPTIONS, headers=city.key, json={
        "id": "urn:ngsi-ld:Subscription:no2-centre", "type": "Subscription", "entities": [{"type": "AirQualityObserved"}],
        "notification": {"endpoint": {"uri": receiver.url}}}).json()["type"].endswith("/AlreadyExists")  # fmt: skip


def test_a_change_is_notified_in_ngsi_ld_form_signed_with_the_subscriptions_secret(city: City, receiver: Receiver):
    created = city.client.post(SUBSCRIPTIONS, headers=city.key, json={
        "type": "Subscription", "entities": [{"type": "AirQualityObserved"}],
        "notification": {"attributes": ["no2"], "endpoint": {"uri": receiver.url}}})  # fmt: skip
    uri, secret = created.headers["location"].rsplit("/", 1)[1], created.headers["x-icity-webhook-secret"]
    assert uri == "urn:ngsi-ld:Subscription:1" and secret.startswith("whsec_")
    city.push("aq-00", {"no2": 33.0})
    assert city.dispatcher.run_once()["delivered"] == 1
    [request] = receiver.requests
    body = request.json
    assert body["id"].startswith("urn:ngsi-ld:Notification:") and body["notifiedAt"].endswith("Z")
    assert {k: body[k] for k in ("type", "subscriptionId", "data")} == {
        "type": "Notification", "subscriptionId": uri,
        "data": [{"id": S0, "type": "AirQualityObserved", "no2": {"type": "Property", "value": 33.0}}],
    }  # fmt: skip
    assert request.headers["content-type"] == "application/json"
    assert 'rel="http://www.w3.org/ns/json-ld#context"' in request.headers["link"]
    assert webhooks.verify(secret, request.headers["x-icity-signature"], request.body)
    state = read(city, uri)["notification"]
    assert (state["status"], state["timesSent"], state["timesFailed"]) == ("ok", 1, 0)
    assert state["lastNotification"].endswith("Z") and state["lastSuccess"].endswith("Z") and "lastFailure" not in state


def test_ld_json_endpoints_get_the_subscriptions_context_in_the_body_and_receiver_info_headers(city: City, receiver: Receiver):
    uri = subscribe(city, receiver, notification={
        "format": "concise", "endpoint": {"uri": receiver.url, "accept": LD, "receiverInfo": [{"key": "X-Tenant", "value": "t1"}]},
    })  # fmt: skip
    city.push("aq-00", {"no2": 12.5})
    city.dispatcher.run_once()
    [request] = receiver.requests
    assert request.headers["content-type"] == LD and request.headers["x-tenant"] == "t1" and "link" not in request.headers
    body = request.json
    assert body["subscriptionId"] == uri and body["@context"].endswith("/ngsi-ld/v1/contexts/icity.jsonld")
    assert body["data"][0]["no2"] == 12.5 and body["data"][0]["id"] == S0


def test_a_context_of_the_subscriber_compacts_the_notification(city: City, receiver: Receiver):
    context = {"@context": [CORE, {"nitrogen": "https://smartdatamodels.org/dataModel.Environment/no2",
                                   "Station": "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved"}]}
    response = city.client.post(SUBSCRIPTIONS, headers={**city.key, "Content-Type": LD}, json={
        **context, "type": "Subscription", "entities": [{"type": "Station"}], "watchedAttributes": ["nitrogen"],
        "notification": {"format": "keyValues", "attributes": ["nitrogen"], "endpoint": {"uri": receiver.url, "accept": LD}},
    })  # fmt: skip
    assert response.status_code == 201, response.text
    uri = response.headers["location"].rsplit("/", 1)[1]
    city.push("aq-00", {"no2": 7.0})
    city.dispatcher.run_once()
    body = receiver.requests[0].json
    assert body["@context"] == context["@context"]
    assert body["data"] == [{"id": S0, "type": "Station", "nitrogen": 7.0}]
    # read with iCity's context, the same subscription shows iCity's terms
    shown = read(city, uri)
    assert (shown["entities"], shown["watchedAttributes"]) == ([{"type": "AirQualityObserved"}], ["no2"])


def test_only_a_change_of_a_watched_attribute_notifies(city: City, receiver: Receiver):
    subscribe(city, receiver, watchedAttributes=["no2"], notification={"format": "keyValues", "endpoint": {"uri": receiver.url}})
    city.push("aq-00", {"o3": 50.0})
    city.push("aq-00", {"no2": 21.0})
    city.push("aq-00", {"no2": 21.0, "o3": 51.0})  # no2 unchanged: not told
    city.dispatcher.run_once()
    assert receiver.values(S0) == [21.0]


def test_q_and_the_entity_selectors_choose_what_is_notified(city: City, receiver: Receiver):
    subscribe(city, receiver, entities=[{"id": S1, "type": "AirQualityObserved"}], q="no2>40",
              notification={"format": "keyValues", "endpoint": {"uri": receiver.url}})  # fmt: skip
    city.push("aq-00", {"no2": 50.0})  # another entity
    city.push("aq-01", {"no2": 30.0})  # q does not hold
    city.push("aq-01", {"no2": 45.0})
    city.dispatcher.run_once()
    assert [(r.entity["id"], r.entity["no2"]) for r in receiver.requests] == [(S1, 45.0)]


def test_ngsi_ld_writes_notify_with_their_details_and_a_deletion_only_when_asked(city: City, receiver: Receiver):
    subscribe(city, receiver, notificationTrigger=["attributeUpdated", "entityDeleted"])
    now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1)
    patched = city.client.patch(f"{BASE}/entities/{S0}/attrs", headers=city.air, json={
        "no2": {"type": "Property", "value": 41.5, "unitCode": "GQ", "observedAt": now.isoformat().replace("+00:00", "Z")}})
    assert patched.status_code == 204, patched.text
    assert city.client.delete(f"{BASE}/entities/{S0}", headers=city.air).status_code == 204
    city.dispatcher.run_once()
    updated, deleted = (r.json["data"][0] for r in receiver.requests)
    assert updated["no2"] == {"type": "Property", "value": 41.5, "unitCode": "GQ", "observedAt": now.isoformat().replace("+00:00", "Z")}
    assert deleted["id"] == S0


def test_a_deletion_is_not_notified_by_default(city: City, receiver: Receiver):
    subscribe(city, receiver)
    assert city.client.delete(f"{BASE}/entities/{S0}", headers=city.air).status_code == 204
    assert city.dispatcher.run_once()["queued"] == 0 and receiver.requests == []


def test_throttling_sends_one_notification_per_period(city: City, receiver: Receiver):
    uri = subscribe(city, receiver, throttling=3600, notification={"format": "keyValues", "endpoint": {"uri": receiver.url}})
    city.push("aq-00", {"no2": 1.0})
    city.dispatcher.run_once()
    city.push("aq-00", {"no2": 2.0})
    city.dispatcher.run_once()
    assert receiver.values(S0) == [1.0]
    with transaction(city.url) as session:  # the period passes
        session.execute(update(Subscription).where(Subscription.uri == uri)
                        .values(last_notified_at=datetime.now(timezone.utc) - timedelta(hours=2)))  # fmt: skip
    city.dispatcher.run_once()
    assert receiver.values(S0) == [1.0, 2.0]


def test_a_periodic_subscription_is_sent_the_current_state_at_once_and_every_interval(city: City, receiver: Receiver):
    uri = subscribe(city, receiver, entities=[{"id": S0, "type": "AirQualityObserved"}], timeInterval=60,
                    notification={"attributes": ["no2"], "format": "keyValues", "endpoint": {"uri": receiver.url}})  # fmt: skip
    city.push("aq-00", {"no2": 5.0})  # a change is not notified: the interval is
    assert city.dispatcher.run_once()["delivered"] == 1
    assert [r.json["data"] for r in receiver.requests] == [[{"id": S0, "type": "AirQualityObserved", "no2": 5.0}]]
    city.dispatcher.run_once()
    assert len(receiver.requests) == 1  # not due yet
    with transaction(city.url) as session:
        session.execute(update(Subscription).where(Subscription.uri == uri)
                        .values(next_periodic_at=datetime.now(timezone.utc) - timedelta(seconds=1)))  # fmt: skip
    city.dispatcher.run_once()
    assert len(receiver.requests) == 2
    assert read(city, uri)["timeInterval"] == 60


def test_an_inactive_or_expired_subscription_is_told_nothing(city: City, receiver: Receiver):
    paused = subscribe(city, receiver, isActive=False)
    expiring = subscribe(city, receiver, expiresAt=(datetime.now(timezone.utc) + timedelta(hours=1)).isoformat())
    with transaction(city.url) as session:
        session.execute(update(Subscription).where(Subscription.uri == expiring)
                        .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))  # fmt: skip
    city.push("aq-00", {"no2": 1.0})
    city.dispatcher.run_once()
    assert receiver.requests == []
    assert (read(city, paused)["status"], read(city, paused)["isActive"]) == ("paused", False)
    assert read(city, expiring)["status"] == "expired"
    # made active again, it is told what changes from then on
    assert city.client.patch(f"{SUBSCRIPTIONS}/{paused}", json={"isActive": True}, headers=city.key).status_code == 204
    city.push("aq-00", {"no2": 2.0})
    city.dispatcher.run_once()
    assert [r.json["subscriptionId"] for r in receiver.requests] == [paused]


def test_a_grant_revoked_between_creation_and_delivery_delivers_nothing(city: City, receiver: Receiver):
    subscribe(city, receiver, entities=[{"type": "OffStreetParking"}])
    city.push("gate-1", {"availableSpotNumber": 5}, into="parking")
    assert webhooks.fill_outbox(city.url) == 1
    revoked = city.client.post(f"/api/v1/access-requests/{city.grant_id}/revoke", json={"reason": "Licence ended."}, headers=city.admin)
    assert revoked.status_code == 200
    assert city.dispatcher.run_once()["withheld"] == 1
    city.push("gate-1", {"availableSpotNumber": 6}, into="parking")
    city.dispatcher.run_once()
    assert receiver.requests == []


def test_list_page_count_update_and_delete(city: City, receiver: Receiver):
    first, second = subscribe(city, receiver), subscribe(city, receiver, subscriptionName="second")
    listed = city.client.get(SUBSCRIPTIONS, params={"limit": 1, "offset": 1, "count": "true"}, headers=city.key)
    assert listed.headers["ngsild-results-count"] == "2" and [s["id"] for s in listed.json()] == [second]
    assert city.client.get(f"{SUBSCRIPTIONS}/", headers=city.key).status_code == 200  # trailing slash
    patched = city.client.patch(f"{SUBSCRIPTIONS}/{first}", headers=city.key,
                                json={"watchedAttributes": ["no2"], "notification": {"format": "concise"}})  # fmt: skip
    assert patched.status_code == 204, patched.text
    shown = read(city, first)
    assert shown["watchedAttributes"] == ["no2"] and shown["notification"]["format"] == "concise"
    assert shown["notification"]["endpoint"] == {"uri": receiver.url, "accept": "application/json"}
    assert city.client.delete(f"{SUBSCRIPTIONS}/{first}", headers=city.key).status_code == 204
    gone = city.client.get(f"{SUBSCRIPTIONS}/{first}", headers=city.key)
    assert gone.status_code == 404 and gone.json()["type"].endswith("/ResourceNotFound")


def test_another_apps_subscription_is_not_found_and_anonymous_callers_are_refused(city: City, receiver: Receiver):
    uri = subscribe(city, receiver)
    assert city.client.get(f"{SUBSCRIPTIONS}/{uri}").status_code == 401
    assert city.client.get(f"{SUBSCRIPTIONS}/{uri}", headers=city.air).json()["type"].endswith("/ResourceNotFound")
    assert city.client.post(SUBSCRIPTIONS, json={}).status_code in (400, 401)


@pytest.mark.parametrize(
    ("members", "kind", "param"),
    [
        ({"entities": None}, "BadRequestData", "entities"),
        ({"entities": [{}]}, "BadRequestData", "entities"),
        ({"watchedAttributes": []}, "BadRequestData", "watchedAttributes"),
        ({"timeInterval": 10, "watchedAttributes": ["no2"]}, "BadRequestData", "timeInterval"),
        ({"timeInterval": 10, "throttling": 30}, "BadRequestData", "throttling"),
        ({"throttling": -1}, "BadRequestData", "throttling"),
        ({"q": "no2>>"}, "BadRequestData", None),
        ({"geoQ": {"georel": "near;maxDistance==10", "geometry": "Point"}}, "BadRequestData", "geoQ.coordinates"),
        ({"notificationTrigger": ["entityChanged"]}, "BadRequestData", "notificationTrigger"),
        ({"expiresAt": "2001-01-01T00:00:00Z"}, "BadRequestData", "expiresAt"),
        ({"isActive": "yes"}, "BadRequestData", "isActive"),
        ({"id": "not a uri"}, "BadRequestData", "id"),
        ({"type": "Registration"}, "BadRequestData", "type"),
        ({"notification": {"endpoint": {"uri": "ftp://example.org/x"}}}, "BadRequestData", "notification.endpoint.uri"),
        ({"notification": {"format": "xml", "endpoint": {"uri": "https://example.org/x"}}}, "BadRequestData", "notification.format"),
        ({"notification": {"endpoint": {"uri": "https://127.0.0.1:1/x", "accept": "text/csv"}}}, "BadRequestData",
         "notification.endpoint.accept"),
        ({"notification": {}}, "BadRequestData", "notification.endpoint"),
        ({"scopeQ": "/Madrid"}, "OperationNotSupported", None),
        ({"notification": {"endpoint": {"uri": "mqtt://127.0.0.1:1883/notify"}}}, "OperationNotSupported", None),
        ({"notification": {"endpoint": {"uri": "https://example.org/x", "accept": "application/geo+json"}}},
         "OperationNotSupported", None),
    ],
)  # fmt: skip
def test_a_bad_subscription_is_refused_and_nothing_is_stored(city: City, receiver: Receiver, members, kind, param):
    body = {"type": "Subscription", "entities": [{"type": "AirQualityObserved"}], "notification": {"endpoint": {"uri": receiver.url}},
            **members}  # fmt: skip
    body = {key: value for key, value in body.items() if value is not None}
    response = city.client.post(SUBSCRIPTIONS, json=body, headers=city.key)
    assert response.status_code == (422 if kind == "OperationNotSupported" else 400), response.text
    problem = response.json()
    assert problem["type"] == f"https://uri.etsi.org/ngsi-ld/errors/{kind}"
    if param is not None:
        assert problem.get("param") == param or param in problem["detail"], problem
    assert subscriptions_stored(city.url) == 0


def test_an_endpoint_in_the_platforms_own_network_is_refused(city: City, monkeypatch):
    monkeypatch.setenv("ICITY_WEBHOOK_PRIVATE_NETWORKS", "false")
    from icity.config import get_settings

    get_settings.cache_clear()
    response = city.client.post(SUBSCRIPTIONS, headers=city.key, json={
        "type": "Subscription", "entities": [{"type": "AirQualityObserved"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/hook"}}})  # fmt: skip
    assert response.status_code == 400 and response.json()["type"].endswith("/BadRequestData")
    assert subscriptions_stored(city.url) == 0
