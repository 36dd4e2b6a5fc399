"""Every endpoint × every role → the expected status, from this one table.

A new endpoint without a row fails `test_every_endpoint_is_in_the_matrix`.
Rows that write run each cell on a fresh copy of the world, so one role's
change never decides another role's answer. Data rows (`via="key"`) are called
by developers with their app's API key; the others with a session.
"""

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from icity.app import create_app
from icity.db.engine import transaction
from icity.ngsi_ld.temporal_representation import instance_id
from icity.services import entity_store, harvest, sources
from icity.services.access import CLI
from tests import people
from tests.connectors.feed_server import Feed
from tests.api.project_world import matrix_project
from tests.open311.world import matrix_incidents
from tests.world import APPROVAL_IS, GATE_OPEN, OWNER, PARKING, ROLES, World, build_world

pytestmark = pytest.mark.postgres_ok


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # the route's path, its {parameters} filled from `args`, then PLACES
    expected: tuple[int, ...]  # one status per role, in ROLES order
    body: Any = None
    via: str = "session"
    writes: bool = False
    params: dict[str, str] | None = None
    args: dict[str, str] | None = None  # path parameter → key of World.ids
    headers: dict[str, str] | None = None
    form: dict[str, str] | None = None  # a form-encoded body (Open311)

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


ALL_OK = (200,) * 8
EVERY_USER = (401,) + (200,) * 7
ADMIN_ONLY = (401, 403, 403, 403, 403, 403, 200, 403)
ADMIN_ONLY_CREATE = (401, 403, 403, 403, 403, 403, 201, 403)
READERS_OF_APPROVAL_IS = (404, 404, 404, 200, 404, 200, 200, 404)  # granted key, owning city, platform
# the IS is listed in the catalogue: the others are told its data are not readable to them
DATA_OF_LISTED_APPROVAL_IS = (401, 403, 403, 200, 403, 200, 200, 403)
OWN_APP_N = (401, 404, 200, 404, 404, 404, 200, 404)  # the developer's organisation, or the platform admin
CHANGE_APP_N = (401, 404, 200, 404, 404, 404, 403, 404)  # only the developers of the organisation
STATEMENT_OF_APP_N = (401, 403, 200, 404, 404, 200, 200, 404)  # its organisation, its publisher (alpha), the platform admin
DECIDE = (401, 404, 404, 403, 404, 200, 200, 404)  # the owning city decides; the requester sees but may not
CITY_ADMINS = (401, 403, 403, 403, 403, 200, 200, 403)  # the IS is served, so others learn it exists but may not
CITY_ADMINS_CREATE = (401, 403, 403, 403, 403, 201, 201, 403)
CITY_ADMINS_START = (401, 403, 403, 403, 403, 202, 202, 403)
OWN_SUBSCRIPTION = (401, 404, 200, 404, 404, 404, 200, 404)  # the app's key (the developer's), the platform admin
SUBSCRIPTION = "/api/v1/subscriptions/{subscription_id}"
COMMANDERS = (401, 404, 404, 202, 404, 202, 202, 404)  # the granted app's key, the owning city, the platform admin
GATE = "/api/v1/information-systems/{city_id}/{slug}/devices/{device}"
ALARM_RULES = "/api/v1/information-systems/{city_id}/{slug}/alarm-rules"
FEW_SPACES = {"name": "Almost full", "kind": "threshold", "attribute": "availableSpotNumber", "operator": "below", "threshold": 5}
REASON = {"reason": "Outside the purpose of the licence."}
PUSH = {"measures": [{"device": "gate-1", "observedAt": "2026-11-24T10:00:00Z", "values": {"availableSpotNumber": 41}}]}
NEW_SYSTEM = {"slug": "bikes", "name": "Bicing", "category": "transport-mobility", "entityTypes": ["BikeHireDockingStation"]}
PARKING_CSV = b"id;name;free;lat;lon\r\np0;Aparcament Central;42;41.38;2.10\r\n"
PARKING_SOURCE = {
    "connector": {"kind": "csv", "url": "{parking_csv}", "delimiter": ";"},
    "mapping": {
        "entityType": "OffStreetParking",
        "id": {"field": "id"},
        "location": {"lat": "lat", "lon": "lon"},
        "attributes": {"name": {"field": "name"}, "availableSpotNumber": {"field": "free", "type": "integer"}},
    },
    "retireMissing": False,  # p0 stays what the data rows above read
}
LD = "/ngsi-ld/v1"
LD_WRITERS = (401, 403, 403, 403, 403, 204, 204, 403)
LD_WRITERS_CREATE = (401, 403, 403, 403, 403, 201, 201, 403)
TENANT = {"NGSILD-Tenant": APPROVAL_IS}
NEW_PARKING = {"id": "urn:ngsi-ld:OffStreetParking:alpha:p9", "type": "OffStreetParking", "name": "P9"}
LD_SUBSCRIPTION = {"type": "Subscription", "entities": [{"type": "OffStreetParking"}],
                   "notification": {"endpoint": {"uri": "https://app.example/hooks/ngsi-ld"}}}  # fmt: skip
LD_SUBSCRIPTION_PATH = f"{LD}/subscriptions/{{subscription_id}}"
SPOTS_AT = datetime(2026, 11, 24, 10, tzinfo=timezone.utc)  # p0's one observation in the world (world_url)
SPOTS = [{"type": "Property", "value": 3, "observedAt": "2026-11-24T11:00:00Z"}]
TEMPORAL_PARKING = {"id": "urn:ngsi-ld:OffStreetParking:alpha:p9", "type": "OffStreetParking", "availableSpotNumber": SPOTS}
INSTANCE = "/temporal/entities/{entity_id}/attrs/{attribute}/{instance_id}"
NEW_USER = {"email": "new@bcn.example", "name": "New", "password": people.PASSWORD, "role": "city_admin", "cities": ["beta"]}
# alpha (consortium, with open IS) back to pilot: allowed, since pilots may open IS
BACK_TO_PILOT = {"level": "pilot", "effectiveOn": "2026-01-01", "evidenceKind": "technical_trial", "evidence": "New trials"}
NEW_CITY = {"id": "oulu", "name": "Oulu", "country": "FI", "lon": 25.47, "lat": 65.01, "bbox": [25.2, 64.9, 25.8, 65.1]}
PROJECT_MANAGERS = (401, 403, 403, 403, 403, 200, 200, 403)  # alpha is the project's member city
# alpha's admins start it for alpha; beta's are refused (403: not their city)
NEW_PROJECT = {"slug": "noise-maps", "name": "Noise maps", "entityTypes": ["NoiseLevelObserved"], "city": "alpha"}
NEW_ACTION = {"kind": "call", "title": "Call about the parking feed", "happenedOn": "2026-01-05"}
REGISTRATION = {
    "name": "Grace",
    "email": "grace@new.example",
    "password": people.PASSWORD,
    "organisation": {"name": "New Ltd"},
}

NEW_OWNER = {"id": "tramco", "name": "TramCo", "kind": "transport_operator", "country": "ES"}
MEMBER = {"membership": "member", "evidenceKind": "letter_of_commitment", "evidence": "Letter of 2 March"}
OWNER_SYSTEM = {"city": "beta", "slug": "chargers", "name": "GridCo in Beta", "category": "energy", "entityTypes": ["EVChargingStation"]}
OWNER_ADMINS_CREATE = (401, 403, 403, 403, 403, 403, 201, 201)  # the owner's admins and the platform admin
OBJECTORS = (401, 404, 404, 404, 404, 200, 200, 403)  # alpha's admins (where it lies) and the platform admin

O311 = "/open311/v2"
IN_ALPHA = {"jurisdiction_id": "alpha"}
# alpha/incidents is an `approval` IS: read with the granted app's key, by alpha's admins and the platform admin
O311_READERS = (403, 403, 403, 200, 403, 200, 200, 403)
O311_REPORTERS = (403, 403, 403, 200, 403, 403, 403, 403)  # a report needs an app key that may read it
O311_REPORT = {"jurisdiction_id": "alpha", "service_code": "pothole", "lat": "41.4", "long": "2.1", "attribute[depth]": "deep"}

MATRIX = [
    # the city network and the catalogue: public
    Row("GET", "/health", ALL_OK),
    Row("GET", "/api/v1/cities", ALL_OK),
    Row("GET", "/api/v1/cities/follow-ups", ALL_OK),
    Row("GET", "/api/v1/cities/{city_id}", ALL_OK),
    # the city network's changes: the platform admin
    Row("POST", "/api/v1/cities", ADMIN_ONLY_CREATE, body=NEW_CITY, writes=True),
    Row("POST", "/api/v1/cities/{city_id}/level-changes", ADMIN_ONLY_CREATE, body=BACK_TO_PILOT, writes=True),
    Row("POST", "/api/v1/cities/{city_id}/engagement-actions", ADMIN_ONLY_CREATE, body=NEW_ACTION, writes=True),
    Row("POST", "/api/v1/cities/{city_id}/engagement-actions/{action_id}/next-step-done", ADMIN_ONLY, writes=True),
    Row("GET", "/api/v1/categories", ALL_OK),
    Row("GET", "/api/v1/information-systems", ALL_OK, via="key"),
    Row("GET", "/api/v1/information-systems/{city_id}/{slug}", ALL_OK, via="key"),
    # data of the approval IS
    Row("GET", "/api/v1/information-systems/{city_id}/{slug}/providers", DATA_OF_LISTED_APPROVAL_IS, via="key"),
    Row("GET", "/api/v1/information-systems/{city_id}/{slug}/devices", DATA_OF_LISTED_APPROVAL_IS, via="key"),
    Row("GET", "/api/v1/entities", ALL_OK, via="key", params={"informationSystem": APPROVAL_IS}),
    Row("GET", "/api/v1/entities/{entity_id}", READERS_OF_APPROVAL_IS, via="key"),
    Row("GET", "/api/v1/entities/{entity_id}/history", READERS_OF_APPROVAL_IS, via="key"),
    # whole downloads: the same readers as the data they carry
    Row("GET", "/api/v1/information-systems/{city_id}/{slug}/download.csv", DATA_OF_LISTED_APPROVAL_IS, via="key"),
    Row("GET", "/api/v1/information-systems/{city_id}/{slug}/download.geojson", DATA_OF_LISTED_APPROVAL_IS, via="key"),
    Row("GET", "/api/v1/entities/{entity_id}/history.csv", READERS_OF_APPROVAL_IS, via="key", params={"attribute": "availableSpotNumber"}),
    Row("GET", "/api/v1/where-can-app-run", ALL_OK, via="key", params={"entityTypes": "OffStreetParking"}),
    # public-interest projects: anyone reads; the platform admin and the member cities' admins (alpha's) manage;
    # developers attach their own organisation's certified apps
    Row("GET", "/api/v1/projects", ALL_OK, via="key"),
    Row("GET", "/api/v1/projects/{slug}", ALL_OK, via="key", args={"slug": "project"}),
    Row("POST", "/api/v1/projects", CITY_ADMINS_CREATE, body=NEW_PROJECT, writes=True),
    Row("PATCH", "/api/v1/projects/{slug}", PROJECT_MANAGERS, args={"slug": "project"}, body={"description": "Cleaner"}, writes=True),
    Row("POST", "/api/v1/projects/{slug}/members", CITY_ADMINS_CREATE, args={"slug": "project"}, body={"city": "beta"}, writes=True),
    Row("DELETE", "/api/v1/projects/{slug}/members/{city_id}", (401, 403, 403, 403, 403, 204, 204, 403), args={"slug": "project"}, writes=True),
    Row("POST", "/api/v1/projects/{slug}/partners", CITY_ADMINS_CREATE, args={"slug": "project"}, body={"owner": "{candidate_owner}"}, writes=True),
    Row("DELETE", "/api/v1/projects/{slug}/partners/{owner_id}", (401, 403, 403, 403, 403, 204, 204, 403),
        args={"slug": "project", "owner_id": "partner_owner"}, writes=True),
    Row("POST", "/api/v1/projects/{slug}/apps", (401, 403, 201, 403, 403, 403, 403, 403), args={"slug": "project"},
        body={"app": "{certified_app}"}, writes=True),
    Row("DELETE", "/api/v1/projects/{slug}/apps/{app_id}", (401, 403, 204, 403, 403, 204, 204, 403),
        args={"slug": "project", "app_id": "attached_app"}, writes=True),
    # accounts
    Row("POST", "/api/v1/registrations", (202,) * 8, body=REGISTRATION, writes=True),
    Row("GET", "/api/v1/registrations/verify", (400,) * 8, params={"token": "forged"}),
    Row("POST", "/api/v1/registrations/resend", (202,) * 8, body={"email": "pending@dev.example"}, writes=True),
    Row("POST", "/api/v1/auth/login", ALL_OK, body={"email": "dev@nogrant.example", "password": people.PASSWORD}, writes=True),
    Row("POST", "/api/v1/auth/logout", (401,) + (204,) * 7, writes=True),
    Row("POST", "/api/v1/auth/forgot-password", (202,) * 8, body={"email": "dev@nogrant.example"}, writes=True),
    Row("POST", "/api/v1/auth/reset-password", (400,) * 8, body={"token": "forged", "password": people.PASSWORD}),
    # the current password given wrong: each user is told so, and nothing changes
    Row("POST", "/api/v1/me/password", (401,) + (400,) * 7, body={"currentPassword": "not it", "newPassword": people.PASSWORD}),
    Row("GET", "/api/v1/me", EVERY_USER),
    Row("GET", "/api/v1/users", ADMIN_ONLY),
    Row("POST", "/api/v1/users", ADMIN_ONLY_CREATE, body=NEW_USER, writes=True),
    Row("PUT", "/api/v1/users/{user_id}/cities", ADMIN_ONLY, args={"user_id": "owning_admin_user"}, body={"cities": ["alpha", "beta"]}, writes=True),
    Row("POST", "/api/v1/users/{user_id}/approve", ADMIN_ONLY, args={"user_id": "unapproved_user"}, writes=True),
    Row("POST", "/api/v1/users/{user_id}/refuse", ADMIN_ONLY, args={"user_id": "unapproved_user"}, body=REASON, writes=True),
    Row("POST", "/api/v1/users/{user_id}/suspend", ADMIN_ONLY, args={"user_id": "developer_user"}, body=REASON, writes=True),
    # apps and keys
    Row("GET", "/api/v1/apps", EVERY_USER),
    Row("POST", "/api/v1/apps", (401, 403, 201, 201, 403, 403, 403, 403), body={"name": "Another"}, writes=True),
    Row("GET", "/api/v1/apps/{app_id}", OWN_APP_N),
    Row("PATCH", "/api/v1/apps/{app_id}", CHANGE_APP_N, body={"description": "Better"}, writes=True),
    Row("DELETE", "/api/v1/apps/{app_id}", CHANGE_APP_N, writes=True),
    Row("PUT", "/api/v1/apps/{app_id}/plan", ADMIN_ONLY, body={"plan": "standard"}, writes=True),
    Row("GET", "/api/v1/apps/{app_id}/keys", OWN_APP_N),
    Row("POST", "/api/v1/apps/{app_id}/keys", (401, 404, 201, 404, 404, 404, 403, 404), writes=True),
    Row("DELETE", "/api/v1/apps/{app_id}/keys/{key_id}", OWN_APP_N, writes=True),
    Row("POST", "/api/v1/apps/{app_id}/keys/{key_id}/rotate", (401, 404, 201, 404, 404, 404, 403, 404), writes=True),
    # app certification: the organisation's developers submit; the platform admin reviews; anyone reads the portal
    Row("POST", "/api/v1/apps/{app_id}/submission", (401, 404, 201, 404, 404, 404, 403, 404), writes=True),
    Row("GET", "/api/v1/apps/{app_id}/certification", OWN_APP_N),
    # offers: anyone reads an IS's offer; its city's admins set it; an app's developers accept it (the world's
    # developer accepted version 1 already: 200); statements to those of the app's organisation or the publisher
    Row("GET", "/api/v1/information-systems/{city_id}/{slug}/offer", ALL_OK),
    Row("GET", "/api/v1/information-systems/{city_id}/{slug}/offer/versions", ALL_OK),
    Row("PUT", "/api/v1/information-systems/{city_id}/{slug}/offer", CITY_ADMINS_CREATE, body={"currency": "EUR", "monthlyFee": "9.00", "terms": "Fair use."}, writes=True),
    Row("POST", "/api/v1/apps/{app_id}/offers", CHANGE_APP_N, body={"informationSystem": APPROVAL_IS, "version": 1}, writes=True),
    Row("GET", "/api/v1/apps/{app_id}/offers", OWN_APP_N),
    Row("GET", "/api/v1/statements", (401, 403, 200, 200, 200, 200, 200, 200)),
    Row("GET", "/api/v1/statements/{publisher_kind}/{publisher_id}/{app_id}", STATEMENT_OF_APP_N),
    Row("GET", "/api/v1/statements/{publisher_kind}/{publisher_id}/{app_id}.csv", STATEMENT_OF_APP_N),
    Row("GET", "/api/v1/certification-queue", ADMIN_ONLY),
    Row(
        "POST",
        "/api/v1/apps/{app_id}/review",
        ADMIN_ONLY,
        args={"app_id": "submitted_app"},
        body={"decision": "returned", "comments": "Describe what the app does."},
        writes=True,
    ),
    Row("GET", "/api/v1/app-portal", ALL_OK, via="key"),
    # access requests
    Row(
        "POST",
        "/api/v1/access-requests",
        (401, 403, 201, 404, 403, 403, 403, 403),
        body={"app": "{app_n}", "informationSystem": APPROVAL_IS, "purpose": "Free spaces near the user."},
        writes=True,
    ),
    Row("GET", "/api/v1/access-requests", EVERY_USER),
    Row("GET", "/api/v1/access-requests/{request_id}", (401, 404, 404, 200, 404, 200, 200, 404)),
    Row("POST", "/api/v1/access-requests/{request_id}/approve", DECIDE, writes=True),
    Row("POST", "/api/v1/access-requests/{request_id}/refuse", DECIDE, body=REASON, writes=True),
    Row("POST", "/api/v1/access-requests/{request_id}/revoke", DECIDE, args={"request_id": "grant"}, body=REASON, writes=True),
    Row("POST", "/api/v1/access-requests/{request_id}/withdraw", (401, 404, 404, 200, 404, 403, 403, 404), writes=True),
    # usage, messages, audit
    Row("GET", "/api/v1/usage", (401, 403, 200, 200, 200, 200, 200, 200)),  # an approved account
    # a city admin writes to developers who asked for its IS; the platform admin to anyone
    Row(
        "POST",
        "/api/v1/messages",
        (401, 403, 403, 403, 403, 201, 201, 403),
        body={"to": ["{granted_user}"], "subject": "Parking data", "body": "The feed moves on Monday."},
        writes=True,
    ),
    Row("GET", "/api/v1/messages", EVERY_USER),
    Row("GET", "/api/v1/messages/{message_id}", (401, 404, 404, 200, 404, 404, 404, 404)),  # the recipient's only
    Row("POST", "/api/v1/messages/{message_id}/read", (401, 404, 404, 200, 404, 404, 404, 404), writes=True),
    Row("GET", "/api/v1/audit", (401, 403, 403, 403, 200, 200, 200, 200)),
    # opening information systems: the owning city's admins and the platform admin
    Row("POST", "/api/v1/cities/{city_id}/information-systems", CITY_ADMINS_CREATE, body=NEW_SYSTEM, writes=True),
    Row("PUT", "/api/v1/information-systems/{city_id}/{slug}/status", CITY_ADMINS, body={"status": "trial"}, writes=True),
    Row("PUT", "/api/v1/information-systems/{city_id}/{slug}/observation-retention", CITY_ADMINS, body={"observationRetentionDays": 30}, writes=True),
    Row("GET", "/api/v1/information-systems/{city_id}/{slug}/source", CITY_ADMINS),
    Row("PUT", "/api/v1/information-systems/{city_id}/{slug}/source", CITY_ADMINS, body=PARKING_SOURCE, writes=True),
    Row("POST", "/api/v1/information-systems/{city_id}/{slug}/preview", CITY_ADMINS, body={"limit": 1}),
    Row("POST", "/api/v1/information-systems/{city_id}/{slug}/harvests", CITY_ADMINS_START, writes=True),
    Row("GET", "/api/v1/information-systems/{city_id}/{slug}/harvests", CITY_ADMINS),
    Row("GET", "/api/v1/information-systems/{city_id}/{slug}/harvests/{run_id}", CITY_ADMINS),
    # push: only a provider token of the IS pushes (tests/api/test_push.py); its city's admins issue tokens
    Row("POST", "/api/v1/information-systems/{city_id}/{slug}/observations", (401,) + (403,) * 7, body=PUSH, writes=True),
    Row("GET", "/api/v1/information-systems/{city_id}/{slug}/provider-tokens", CITY_ADMINS),
    Row(
        "POST",
        "/api/v1/information-systems/{city_id}/{slug}/provider-tokens",
        CITY_ADMINS_CREATE,
        body={"provider": "{gate_provider}"},
        writes=True,
    ),
    Row("DELETE", "/api/v1/information-systems/{city_id}/{slug}/provider-tokens/{token_id}", CITY_ADMINS, writes=True),
    # alarms: the city's admins set the rules; whoever reads the IS's data reads its alarms
    Row("POST", ALARM_RULES, CITY_ADMINS_CREATE, body=FEW_SPACES, writes=True),
    Row("GET", ALARM_RULES, CITY_ADMINS),
    Row("GET", f"{ALARM_RULES}/{{rule_id}}", CITY_ADMINS),
    Row("PUT", f"{ALARM_RULES}/{{rule_id}}", CITY_ADMINS, body={**FEW_SPACES, "threshold": 3}, writes=True),
    Row("DELETE", f"{ALARM_RULES}/{{rule_id}}", (401, 403, 403, 403, 403, 204, 204, 403), writes=True),
    Row("GET", "/api/v1/information-systems/{city_id}/{slug}/alarms", DATA_OF_LISTED_APPROVAL_IS, via="key"),
    Row("POST", "/api/v1/information-systems/{city_id}/{slug}/alarms/{alarm_id}/acknowledgement", CITY_ADMINS,
        body={"note": "Seen: the car park is full for the match"}, writes=True),  # fmt: skip
    # device commands: the city's admins declare them; apps with a grant (and the city's admins) send them
    Row("PUT", f"{GATE}/commands", CITY_ADMINS, body={"commands": [GATE_OPEN], "commandUrl": None}, writes=True),
    Row("POST", f"{GATE}/commands", COMMANDERS, via="key", body={"command": "open", "parameters": {"seconds": 5}}, writes=True),
    Row("GET", f"{GATE}/commands", (401, 404, 404, 200, 404, 200, 200, 404), via="key"),
    Row("GET", f"{GATE}/commands/{{command_id}}", (401, 404, 404, 200, 404, 200, 200, 404), via="key", args={"command_id": "command"}),
    # subscriptions: created with an app's key (read access is checked at delivery, not here); read and
    # changed by the app, its organisation's developers and the platform admin
    Row(
        "POST",
        "/api/v1/subscriptions",
        (401, 403, 201, 201, 403, 403, 403, 403),
        via="key",
        body={"entityTypes": ["OffStreetParking"], "informationSystem": APPROVAL_IS, "endpoint": "https://app.example/hooks"},
        writes=True,
    ),
    Row("GET", "/api/v1/subscriptions", EVERY_USER, via="key"),
    Row("GET", SUBSCRIPTION, OWN_SUBSCRIPTION, via="key", args={"subscription_id": "subscription"}),
    Row("PATCH", SUBSCRIPTION, OWN_SUBSCRIPTION, via="key", args={"subscription_id": "subscription"}, body={"status": "paused"}, writes=True),
    Row("DELETE", SUBSCRIPTION, (401, 404, 204, 404, 404, 404, 204, 404), via="key", args={"subscription_id": "subscription"}, writes=True),
    Row("GET", f"{SUBSCRIPTION}/deliveries", OWN_SUBSCRIPTION, via="key", args={"subscription_id": "subscription"}),
    # the SSE stream of an expired subscription: those who may open it get 409 at once (streams: tests/api/test_streams.py)
    Row("GET", f"{SUBSCRIPTION}/events", (401, 404, 409, 404, 404, 404, 409, 404), via="key", args={"subscription_id": "expired_subscription"}),
    Row(
        "POST",
        f"{SUBSCRIPTION}/deliveries/{{delivery_id}}/retry",
        OWN_SUBSCRIPTION,
        via="key",
        args={"subscription_id": "subscription", "delivery_id": "dead_letter"},
        writes=True,
    ),
    # NGSI-LD: the same readers as /api/v1 (keys of granted apps, the owning city, the platform) …
    Row("GET", f"{LD}/entities", ALL_OK, via="key", params={"type": "OffStreetParking"}),
    Row("GET", f"{LD}/entities/{{entity_id}}", READERS_OF_APPROVAL_IS, via="key"),
    Row("POST", f"{LD}/entityOperations/query", ALL_OK, via="key", body={"type": "Query", "entities": [{"type": "OffStreetParking"}]}),
    Row("GET", f"{LD}/types", ALL_OK, via="key"),
    Row("GET", f"{LD}/types/{{type_name}}", READERS_OF_APPROVAL_IS, via="key"),
    Row("GET", f"{LD}/attributes", ALL_OK, via="key"),
    Row("GET", f"{LD}/attributes/{{attribute}}", READERS_OF_APPROVAL_IS, via="key", args={"attribute": "parking_attribute"}),
    Row("GET", f"{LD}/contexts/icity.jsonld", ALL_OK),
    Row("GET", f"{LD}/contexts/ngsi-ld-core-context.jsonld", ALL_OK),
    # DCAT-AP: the catalogue (metadata only, restricted IS included without their data) is public; keys are metered
    *(Row("GET", f"{catalog}{extension}", ALL_OK, via="key")
      for catalog in ("/catalog", "/cities/{city_id}/catalog") for extension in ("", ".ttl", ".jsonld", ".rdf")),
    # … and the writers: its city's admins and the platform admin (provider tokens: tests/ngsi_ld)
    Row("POST", f"{LD}/entities", LD_WRITERS_CREATE, body=NEW_PARKING, headers=TENANT, writes=True),
    Row("PUT", f"{LD}/entities/{{entity_id}}", LD_WRITERS, body={"type": "OffStreetParking", "name": "P0"}, headers=TENANT, writes=True),
    Row("PATCH", f"{LD}/entities/{{entity_id}}", LD_WRITERS, body={"name": "P0"}, headers=TENANT, writes=True),
    Row("DELETE", f"{LD}/entities/{{entity_id}}", LD_WRITERS, headers=TENANT, writes=True),
    Row("POST", f"{LD}/entities/{{entity_id}}/attrs", LD_WRITERS, body={"name": "P0"}, headers=TENANT, writes=True),
    Row("PATCH", f"{LD}/entities/{{entity_id}}/attrs", LD_WRITERS, body={"name": "P0"}, headers=TENANT, writes=True),
    Row("PATCH", f"{LD}/entities/{{entity_id}}/attrs/{{attribute}}", LD_WRITERS, body={"value": "P0"}, headers=TENANT, writes=True),
    Row("PUT", f"{LD}/entities/{{entity_id}}/attrs/{{attribute}}", LD_WRITERS, body={"type": "Property", "value": "P0"}, headers=TENANT, writes=True),
    Row("DELETE", f"{LD}/entities/{{entity_id}}/attrs/{{attribute}}", LD_WRITERS, headers=TENANT, writes=True),
    Row("POST", f"{LD}/entityOperations/create", LD_WRITERS_CREATE, body=[NEW_PARKING], headers=TENANT, writes=True),
    Row("POST", f"{LD}/entityOperations/upsert", LD_WRITERS_CREATE, body=[NEW_PARKING], headers=TENANT, writes=True),
    Row("POST", f"{LD}/entityOperations/update", LD_WRITERS, body=[{"id": PARKING, "type": "OffStreetParking", "name": "P0"}], headers=TENANT, writes=True),
    Row("POST", f"{LD}/entityOperations/merge", LD_WRITERS, body=[{"id": PARKING, "type": "OffStreetParking", "name": "P0"}], headers=TENANT, writes=True),
    Row("POST", f"{LD}/entityOperations/delete", LD_WRITERS, body=[PARKING], headers=TENANT, writes=True),
    # NGSI-LD subscriptions: an app's key subscribes; those who may read its /api/v1 subscriptions read and change them
    Row("POST", f"{LD}/subscriptions", (401, 403, 201, 201, 403, 403, 403, 403), via="key", body=LD_SUBSCRIPTION, writes=True),
    Row("GET", f"{LD}/subscriptions", EVERY_USER, via="key"),
    Row("GET", LD_SUBSCRIPTION_PATH, OWN_SUBSCRIPTION, via="key", args={"subscription_id": "ld_subscription"}),
    Row("PATCH", LD_SUBSCRIPTION_PATH, (401, 404, 204, 404, 404, 404, 204, 404), via="key", args={"subscription_id": "ld_subscription"},
        body={"isActive": False}, writes=True),
    Row("DELETE", LD_SUBSCRIPTION_PATH, (401, 404, 204, 404, 404, 404, 204, 404), via="key", args={"subscription_id": "ld_subscription"},
        writes=True),
    # the temporal API: the same readers and writers
    Row("GET", f"{LD}/temporal/entities", ALL_OK, via="key", params={"type": "OffStreetParking"}),
    Row("GET", f"{LD}/temporal/entities/{{entity_id}}", READERS_OF_APPROVAL_IS, via="key"),
    Row("POST", f"{LD}/temporal/entityOperations/query", ALL_OK, via="key", body={"type": "Query", "entities": [{"type": "OffStreetParking"}]}),
    Row("POST", f"{LD}/temporal/entities", LD_WRITERS_CREATE, body=TEMPORAL_PARKING, headers=TENANT, writes=True),
    Row("POST", f"{LD}/temporal/entities/{{entity_id}}/attrs", LD_WRITERS, body={"availableSpotNumber": SPOTS}, headers=TENANT, writes=True),
    Row("DELETE", f"{LD}/temporal/entities/{{entity_id}}", LD_WRITERS, headers=TENANT, writes=True),
    Row("DELETE", f"{LD}/temporal/entities/{{entity_id}}/attrs/{{attribute}}", LD_WRITERS, args={"attribute": "parking_attribute"}, headers=TENANT, writes=True),
    Row("PATCH", f"{LD}{INSTANCE}", LD_WRITERS, args={"attribute": "parking_attribute", "instance_id": "parking_instance"}, body={"value": 4}, headers=TENANT, writes=True),
    Row("DELETE", f"{LD}{INSTANCE}", LD_WRITERS, args={"attribute": "parking_attribute", "instance_id": "parking_instance"}, headers=TENANT, writes=True),
    # infrastructure owners: anyone sees members; the platform admin records them; the owner's admins register its IS;
    # the city where one lies (alpha) objects to opening it, or lifts its objection
    Row("GET", "/api/v1/owners", ALL_OK),
    Row("POST", "/api/v1/owners", ADMIN_ONLY_CREATE, body=NEW_OWNER, writes=True),
    Row("GET", "/api/v1/owners/{owner_id}", ALL_OK),
    Row("POST", "/api/v1/owners/{owner_id}/membership", ADMIN_ONLY_CREATE, args={"owner_id": "applicant_owner"}, body=MEMBER, writes=True),
    Row("POST", "/api/v1/owners/{owner_id}/information-systems", OWNER_ADMINS_CREATE, body=OWNER_SYSTEM, writes=True),
    Row("GET", "/api/v1/opening-notices", (401, 403, 403, 403, 200, 200, 200, 200)),
    Row("POST", "/api/v1/opening-notices/{notice_id}/object", OBJECTORS, body=REASON, writes=True),
    Row("POST", "/api/v1/opening-notices/{notice_id}/lift", OBJECTORS, args={"notice_id": "objected_notice"}, writes=True),
    # Open311 GeoReport v2: errors are the spec's arrays, key errors its 403
    Row("GET", f"{O311}/discovery.{{format}}", ALL_OK, via="key"),
    Row("GET", f"{O311}/services.{{format}}", O311_READERS, via="key", params=IN_ALPHA),
    Row("GET", f"{O311}/services/{{service_code}}.{{format}}", O311_READERS, via="key", params=IN_ALPHA),
    Row("GET", f"{O311}/requests.{{format}}", O311_READERS, via="key", params=IN_ALPHA),
    Row("GET", f"{O311}/requests/{{service_request_id}}.{{format}}", O311_READERS, via="key", params=IN_ALPHA),
    Row("GET", f"{O311}/tokens/{{token}}.{{format}}", O311_READERS, via="key", params=IN_ALPHA),
    Row("POST", f"{O311}/requests.{{format}}", O311_REPORTERS, via="key", form=O311_REPORT, writes=True),
]

PLACES = {"city_id": "alpha", "slug": "parking", "entity_id": PARKING, "device": "gate-1",
          "type_name": "OffStreetParking", "attribute": "name", "format": "json", "service_code": "pothole",
          "service_request_id": "R-1", "token": "R-1", "owner_id": OWNER, "publisher_kind": "city", "publisher_id": "alpha"}  # fmt: skip
DEFAULT_ARGS = {"app_id": "app_n", "key_id": "key_n", "request_id": "pending", "message_id": "message", "run_id": "run", "token_id": "provider_token", "rule_id": "alarm_rule", "alarm_id": "alarm", "action_id": "engagement_action", "notice_id": "notice"}


@pytest.fixture(scope="module")
def world_url(databases, network_url, feeds):
    url = databases.copy(network_url)
    with transaction(url) as session:
        world = build_world(session)
    world.ids["parking_csv"] = feeds.serve("/parking.csv", Feed(PARKING_CSV, "text/csv"))
    source = fill(PARKING_SOURCE, world.ids)
    with transaction(url) as session:
        sources.configure(
            session, CLI, APPROVAL_IS, connector=source["connector"], mapping=source["mapping"], schedule=None,
            retire_missing=False,
        )
    world.ids["parking_attribute"] = "availableSpotNumber"  # only the parking entities have it
    world.ids["run"] = harvest.run_now(APPROVAL_IS, CLI, database_url=url)["id"]
    with transaction(url) as session:  # one observation of p0, for the temporal API's instance rows
        entity_store.add_observations(session, [entity_store.observation_row(PARKING, "availableSpotNumber", SPOTS_AT, 41)])
    world.ids["parking_instance"] = instance_id(PARKING, "availableSpotNumber", SPOTS_AT)
    with transaction(url) as session:
        matrix_incidents(session, world.ids["app_g"])
    with transaction(url) as session:
        world.ids.update(matrix_project(session, world.ids["app_n"]))
    return url, world


@pytest.fixture(scope="module")
def client(world_url):
    return TestClient(create_app(world_url[0]))


def fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


def test_every_endpoint_is_in_the_matrix(client):
    paths = client.get("/openapi.json").json()["paths"]  # every endpoint the app serves
    routes = {f"{method.upper()} {path}" for path, methods in paths.items() for method in methods}
    assert routes - {row.route for row in MATRIX} == set(), "add these endpoints to MATRIX"
    assert {row.route for row in MATRIX} - routes == set(), "these MATRIX rows match no endpoint"


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.route)
def test_each_role_gets_the_expected_status(row: Row, client, world_url, databases):
    url, world = world_url
    args = {name: world.ids[key] for name, key in {**DEFAULT_ARGS, **(row.args or {})}.items()}
    ids = {**PLACES, **world.ids, **args}
    answers = {}
    for role, expected in zip(ROLES, row.expected, strict=True):
        client.app.state.database_url = databases.copy(url) if row.writes else url
        response = client.request(
            row.method,
            fill(row.path, ids),
            json=fill(row.body, ids),
            data=row.form,
            params=row.params,
            headers={**World.headers(world, role, row.via), **(row.headers or {})},
        )
        answers[role] = response.status_code
        if response.status_code >= 400:
            error_type = "application/json" if row.path.startswith(O311) else "application/problem+json"
            assert response.headers["content-type"] == error_type, (role, response.text)
    assert answers == dict(zip(ROLES, row.expected, strict=True))
