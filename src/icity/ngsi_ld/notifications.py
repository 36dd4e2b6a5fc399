"""The NGSI-LD door of iCity's subscriptions: what an NGSI-LD subscription selects beyond iCity's
filters, and its notifications (CIM 009 clause 5.3.1), rendered as its entities are read.

An NGSI-LD subscription is an iCity subscription (services/subscriptions.py) whose `selection`
holds its entity selectors, `q` and `geoQ` in stored names and NGSI-LD's own language, and whose
`rendering` holds how its notifications look: format, the subscription's @context, the endpoint's
media type and receiverInfo headers. Those are parsed again when needed (a few per subscription),
and cached.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy.orm import Session

from icity.db.models import Subscription, utcnow
from icity.ngsi_ld.contexts import JSON_LD_CONTEXT_REL, Context, resolve, stored_name
from icity.ngsi_ld.geo_query import parse_geo_query_body
from icity.ngsi_ld.http import JSON, LD_JSON
from icity.ngsi_ld.query_language import parse_q
from icity.ngsi_ld.representation import CONCISE, NORMALIZED, SIMPLIFIED, View, render
from icity.services import entities, matching
from icity.services.access import Principal
from icity.services.subscription_doors import ChangedEntity, register_door

STANDARD = "ngsi-ld"
FORMS = {"normalized": NORMALIZED, "keyValues": SIMPLIFIED, "simplified": SIMPLIFIED, "concise": CONCISE}
MAX_PERIODIC_ENTITIES = 1000  # a periodic notification carries at most this many entities


def context_of(subscription: Subscription) -> Context:
    return _context(orjson.dumps((subscription.rendering or {}).get("context")).decode())


@lru_cache(maxsize=256)
def _context(key: str) -> Context:
    return resolve(orjson.loads(key))


class NgsiLdDoor:
    def selects(self, subscription: Subscription) -> Callable[[ChangedEntity], bool]:
        return _selects(orjson.dumps(subscription.selection or {}, option=orjson.OPT_SORT_KEYS).decode(),
                        orjson.dumps((subscription.rendering or {}).get("context")).decode())  # fmt: skip

    def body(self, subscription: Subscription, changed: list[Any]) -> dict[str, Any]:
        rendering = subscription.rendering or {}
        context = context_of(subscription)
        attributes = frozenset(subscription.attributes) if subscription.attributes else None
        view = View(context, FORMS.get(rendering.get("format"), NORMALIZED), attributes, bool(rendering.get("sysAttrs")))
        body: dict[str, Any] = {
            "id": f"urn:ngsi-ld:Notification:{uuid.uuid4()}",
            "type": "Notification",
            "subscriptionId": subscription.uri,
            "notifiedAt": utcnow().isoformat().replace("+00:00", "Z"),
            "data": [render(entity, view) for entity in changed],
        }
        if rendering.get("accept") == LD_JSON:
            body["@context"] = context.body_context()
        return body

    def headers(self, subscription: Subscription) -> dict[str, str]:
        rendering = subscription.rendering or {}
        accept = rendering.get("accept") or JSON
        headers = {"Content-Type": accept}
        context = context_of(subscription)
        if accept == JSON and context.urls:
            headers["Link"] = f'<{context.urls[0]}>; rel="{JSON_LD_CONTEXT_REL}"; type="application/ld+json"'
        for item in rendering.get("receiverInfo") or ():
            headers[item["key"]] = item["value"]
        return headers

    def current(self, session: Session, principal: Principal, subscription: Subscription) -> list[Any]:
        selection = subscription.selection or {}
        context = context_of(subscription)
        expression = parse_q(selection["q"], lambda term: stored_name(term, context)) if selection.get("q") else None
        geo = parse_geo_query_body(selection.get("geoQ"))
        found: dict[str, Any] = {}
        for selector in selection.get("entities") or [{}]:
            match = entities.EntityMatch(
                ids=(selector["id"],) if selector.get("id") else (),
                id_pattern=re.compile(selector["idPattern"]) if selector.get("idPattern") else None,
                types=(selector["type"],) if selector.get("type") else (),
                city=subscription.city_id, information_system=subscription.information_system_id,
                attributes_any=tuple(subscription.watched_attributes or ()), expression=expression, geo=geo,
                geo_attribute=(selection.get("geoQ") or {}).get("geoproperty", "location"), limit=MAX_PERIODIC_ENTITIES,
                with_times=True,
            )  # fmt: skip
            for row in entities.match_entities(session, principal, match).rows:
                found.setdefault(row.id, row)
        return [found[key] for key in sorted(found)][:MAX_PERIODIC_ENTITIES]


@lru_cache(maxsize=1024)
def _selects(selection_key: str, context_key: str) -> Callable[[ChangedEntity], bool]:
    """One test for an entity: one of the selectors (id, idPattern, type) holds, and q and geoQ do."""
    selection = orjson.loads(selection_key)
    context = _context(context_key)
    expression = parse_q(selection["q"], lambda term: stored_name(term, context)) if selection.get("q") else None
    geo_q = selection.get("geoQ")
    geo = parse_geo_query_body(geo_q)
    geo_attribute = (geo_q or {}).get("geoproperty", "location")
    selectors = [
        (s.get("id"), re.compile(s["idPattern"]) if s.get("idPattern") else None, s.get("type"))
        for s in selection.get("entities") or ()
    ]

    def selected(entity: ChangedEntity) -> bool:
        if selectors and not any(
            (i is None or i == entity.id) and (p is None or p.fullmatch(entity.id)) and (t is None or t == entity.type)
            for i, p, t in selectors
        ):
            return False
        if expression is not None and not matching.holds(expression, lambda path: entities.resolve_path(entity, path)):
            return False
        if geo is not None:
            where = entity.location if geo_attribute == "location" else entity.attributes.get(geo_attribute)
            return geo.matches(where if isinstance(where, dict) else None)
        return True

    return selected


register_door(STANDARD, NgsiLdDoor())
