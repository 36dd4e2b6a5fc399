"""The test network with one person for every role of the authorisation matrix.

alpha owns alpha/parking (policy `approval`). The granted developer's app holds
an approved grant for it and a second app has a pending request; the other
developer's app has nothing.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from icity.db.models import Alarm, ApiKey, Delivery, InformationSystem, Subscription, utcnow
from icity.services import (
    alarms,
    catalogue,
    certification,
    cities,
    commands,
    entity_store,
    messages,
    offers,
    openings,
    owners,
    provider_tokens,
    subscriptions,
)
from icity.services.access import CLI
from icity.services.authentication import principal_of_app, principal_of_user
from tests import people

ROLES = ("anonymous", "unapproved", "developer", "granted", "other_city_admin", "owning_city_admin", "platform_admin", "owner_admin")
APPROVAL_IS = "alpha/parking"
# an infrastructure owner's IS located in alpha: published (and managed) by the owner, not the city
OWNER = "gridco"
OWNER_IS = "alpha/chargers"
PARKING = entity_store.entity_urn("OffStreetParking", "alpha", "p0")
# gate-1's one command; the granted app has sent it once (world.ids["command"])
GATE_OPEN = {
    "name": "open",
    "description": "Open the barrier for a while",
    "parameters": {"type": "object", "properties": {"seconds": {"type": "integer", "minimum": 1, "maximum": 60}}, "required": ["seconds"]},
}


@dataclass
class World:
    sessions: dict[str, dict[str, str]]  # role → headers with its session token
    keys: dict[str, dict[str, str]]  # role → headers with its app's API key
    ids: dict[str, int]

    def headers(self, role: str, via: str) -> dict[str, str]:
        if via == "key" and role in self.keys:
            return self.keys[role]
        return self.sessions.get(role, {})


def build_world(session: Session) -> World:
    unapproved = people.person(session, "pending@dev.example", status="pending")
    developer = people.person(session, "dev@nogrant.example")
    granted = people.person(session, "dev@granted.example")
    other_admin = people.person(session, "admin@beta.example", role="city_admin", cities=("beta",))
    owning_admin = people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",))
    platform = people.person(session, "admin@icity.example", role="admin")
    owner_admin, notice, objected = _owner_with_systems(session)

    gate = catalogue.add_provider(session, APPROVAL_IS, name="Parking operator")
    catalogue.add_device(session, APPROVAL_IS, local_id="gate-1", provider_id=gate.id, entity_id=PARKING, commands=[GATE_OPEN])
    provider_token_id = provider_tokens.create_token(session, CLI, APPROVAL_IS, gate.id, "gate gateway")["id"]
    few_spaces = {"name": "Almost full", "kind": "threshold", "attribute": "availableSpotNumber", "operator": "below", "threshold": 5}
    alarm_rule_id = alarms.create_rule(session, CLI, APPROVAL_IS, few_spaces)["id"]
    # p0 had too few spaces: the rule's alarm, raised and not yet acknowledged
    raised = Alarm(rule_id=alarm_rule_id, entity_id=PARKING, state="raised", since=utcnow(), raised_at=utcnow(), value=3)
    session.add(raised)
    # the partner plan: these tests make many calls a second
    app_n, key_n = people.app_with_key(session, developer, "No grant", plan="partner")
    app_g, key_g = people.app_with_key(session, granted, "Granted", plan="partner")
    app_p, _ = people.app_with_key(session, granted, "Waiting")
    grant = people.grant(session, app_g, APPROVAL_IS)
    sent = commands.send(session, principal_of_app(session, app_g.id), APPROVAL_IS, "gate-1", "open", {"seconds": 5})
    pending = people.grant(session, app_p, APPROVAL_IS, status="pending")
    # alpha prices its approval IS (an allowance no test reaches); the developer's app accepted it
    offers.set_offer(session, CLI, APPROVAL_IS, {"currency": "EUR", "monthlyFee": "5.00", "freeCalls": 1_000_000, "terms": "Fair use."})
    offers.record_acceptance(session, principal_of_user(session, developer.user), app_n.id, session.get(InformationSystem, APPROVAL_IS), 1)
    # waiting in the certification queue
    app_s, _ = people.app_with_key(session, developer, "Submitted")
    certification.submit(session, principal_of_user(session, developer.user), app_s.id)
    note = messages.notify(session, granted.user, "Welcome", "Your app is approved.", sender_id=platform.user.id)
    roles = {
        "unapproved": unapproved,
        "developer": developer,
        "granted": granted,
        "other_city_admin": other_admin,
        "owning_city_admin": owning_admin,
        "platform_admin": platform,
        "owner_admin": owner_admin,
    }
    key_n_id = session.query(ApiKey.id).filter(ApiKey.app_id == app_n.id).scalar()
    # the developer's app subscribes to the approval IS it holds no grant for (access is checked at delivery)
    subscription = subscriptions.create_subscription(
        session, principal_of_app(session, app_n.id),
        {"entityTypes": ["OffStreetParking"], "informationSystem": APPROVAL_IS, "endpoint": "https://app.example/hooks"},
    )  # fmt: skip
    dead_letter = Delivery(
        subscription_id=subscription["id"], change_id=0, entity_id=PARKING, information_system_id=APPROVAL_IS,
        payload={}, status="dead", attempts=8,
    )  # fmt: skip
    session.add(dead_letter)
    # the same app's NGSI-LD subscription (a row of the same kind, made through the NGSI-LD door)
    ld_subscription = Subscription(
        app_id=app_n.id, entity_types=["OffStreetParking"], endpoint="https://app.example/hooks", secret="whsec_ld",
        uri="urn:ngsi-ld:Subscription:parking", standard="ngsi-ld", selection={"entities": [{"type": "OffStreetParking"}]},
        rendering={}, triggers=["attribute-created", "attribute-updated"],
    )  # fmt: skip
    session.add(ld_subscription)
    # and one that has expired: its SSE stream answers 409 at once instead of streaming
    expired = Subscription(
        app_id=app_n.id, entity_types=["OffStreetParking"], information_system_id=APPROVAL_IS,
        expires_at=utcnow() - timedelta(hours=1),
    )  # fmt: skip
    session.add(expired)
    # a follow-up with alpha whose next step is still open
    follow_up = cities.add_engagement_action(
        session, CLI, "alpha", kind="meeting", title="Parking data workshop", happened_on=date(2014, 6, 1),
        next_step="Send the minutes", next_step_due=date(2014, 6, 15),
    )  # fmt: skip
    session.flush()
    return World(
        sessions={role: person.headers for role, person in roles.items()},
        keys={"developer": {"X-API-Key": key_n}, "granted": {"X-API-Key": key_g}},
        ids={
            "app_n": app_n.id,
            "key_n": key_n_id,
            "app_g": app_g.id,
            "submitted_app": app_s.id,
            "grant": grant.id,
            "pending": pending.id,
            "unapproved_user": unapproved.user.id,
            "developer_user": developer.user.id,
            "granted_user": granted.user.id,
            "message": note.id,
            "owning_admin_user": owning_admin.user.id,
            "gate_provider": gate.id,
            "provider_token": provider_token_id,
            "alarm_rule": alarm_rule_id,
            "alarm": raised.id,
            "subscription": subscription["id"],
            "ld_subscription": ld_subscription.uri,
            "dead_letter": dead_letter.id,
            "expired_subscription": expired.id,
            "command": sent["id"],
            "engagement_action": follow_up.id,
            "notice": notice.id,
            "objected_notice": objected.id,
            "applicant_owner": "busco",
        },
    )


def _owner_with_systems(session: Session):
    """GridCo, a member owner: its open `approval` IS in alpha (alpha/chargers), and two drafts it asked
    to open there, one notice pending, one alpha objected to. Its admin is the matrix's owner_admin."""
    owners.create_owner(session, CLI, id=OWNER, name="GridCo Charging", kind="charge_point_operator", country="ES")
    owners.change_membership(
        session, CLI, OWNER, to_membership="member", effective_on=date(2026, 1, 5),
        evidence_kind="letter_of_commitment", evidence="Letter signed by the CEO",
    )  # fmt: skip
    admin = people.person(session, "admin@gridco.example", role="owner_admin", owners=(OWNER,))
    as_admin = principal_of_user(session, admin.user)
    for slug, status in (("chargers", "open"), ("fast-chargers", "draft"), ("depot", "draft")):
        catalogue.create_information_system(
            session, city_id="alpha", owner_id=OWNER, slug=slug, name=f"GridCo {slug}", category="energy",
            entity_types=["EVChargingStation"], access_policy="approval",
        )  # fmt: skip
        if status == "open":
            catalogue.set_status(session, f"alpha/{slug}", "open")
    notice = openings.request_opening(session, as_admin, session.get(InformationSystem, "alpha/fast-chargers"), "open")
    objected = openings.request_opening(session, as_admin, session.get(InformationSystem, "alpha/depot"), "open")
    openings.object_to(session, CLI, objected.id, "The depot's site is not authorised yet.")
    owners.create_owner(session, CLI, id="busco", name="BusCo", kind="transport_operator", country="ES")  # an applicant
    return admin, notice, objected
