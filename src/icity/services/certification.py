"""App certification: a developer submits an app, the platform admin reviews it
against a checklist and certifies it or returns it with comments. Only certified
apps are listed in the app portal (services/app_portal.py).

    draft ──submit──▶ submitted ──review──▶ certified
                          ▲   └────review──▶ returned ──submit──┐
                          └─────────────────────────────────────┘

A certified app whose entity types change goes back to `submitted`, not
`returned`: the change is the developer's own act, so it is taken as a request to
certify the new data use. The app leaves the portal at once and joins the queue
without the developer having to do anything more; `returned` is kept for what a
reviewer found wrong.

The checklist is computed from what the platform knows — the entity types the
app declares against the information systems its keys may read and the grants
it holds, its links, its description — and shown to the reviewer, who records
their own verdict on each check (overruling a computed result needs a note).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.datamodels import get_registry
from icity.db.models import (
    AccessRequest,
    App,
    AppReview,
    InformationSystem,
    InformationSystemEntityType,
    Organisation,
    User,
    utcnow,
)
from icity.errors import bad_parameter, rule_violation
from icity.services import audit, messages
from icity.services.recertification import approved_developers, open_review
from icity.services.access import Principal, readable_systems, require_admin
from icity.services.app_access import managed_app, visible_app
from icity.services.authentication import principal_of_app
from icity.services.pagination import Page, SortKey, keyset_page, parse_datetime

STATUSES = ("draft", "submitted", "certified", "returned")
DECISIONS = ("certified", "returned")
CHECKS = {
    "dataUse": "Declared data use matches its grants",
    "links": "Working links",
    "description": "Description complete",
}
DESCRIPTION_MIN = 20  # characters: a sentence a citizen can understand the app from
PROBE_TIMEOUT_S = 5.0


# ---- the checklist -----------------------------------------------------------------


def _check(name: str, findings: list[str], **details: Any) -> dict[str, Any]:
    return {"check": name, "label": CHECKS[name], "passed": not findings, "findings": findings, **details}


def check_data_use(session: Session, app: App) -> dict[str, Any]:
    """Every declared entity type is served by an IS the app's keys may read, and
    every grant the app holds serves a declared type (no undeclared data use)."""
    declared = list(app.entity_types)
    findings: list[str] = []
    if not declared:
        findings.append("The app declares no entity types: say which data it uses.")
    registry = get_registry()
    findings += [f"'{t}' is not a Smart Data Model entity type." for t in declared if t not in registry]
    principal = principal_of_app(session, app.id)
    readable: dict[str, list[str]] = {t: [] for t in declared}
    if principal is None:
        findings.append("The app's keys read nothing: the app was withdrawn or its developer's account is not active.")
    else:
        rows = session.execute(
            select(InformationSystemEntityType.entity_type, InformationSystem.id)
            .join(InformationSystem, InformationSystem.id == InformationSystemEntityType.information_system_id)
            .where(InformationSystemEntityType.entity_type.in_(declared), readable_systems(principal))
            .order_by(InformationSystem.id)
        ).all()
        for entity_type, system_id in rows:
            readable[entity_type].append(system_id)
        findings += [
            f"No information system the app may read serves {t}: ask the city for access, or drop the type."
            for t in declared
            if t in registry and not readable[t]
        ]
    grants = session.execute(
        select(AccessRequest.information_system_id, InformationSystemEntityType.entity_type)
        .join(
            InformationSystemEntityType,
            InformationSystemEntityType.information_system_id == AccessRequest.information_system_id,
        )
        .where(AccessRequest.app_id == app.id, AccessRequest.status == "approved")
        .order_by(AccessRequest.information_system_id)
    ).all()
    served_by_grant: dict[str, set[str]] = {}
    for system_id, entity_type in grants:
        served_by_grant.setdefault(system_id, set()).add(entity_type)
    findings += [
        f"The app holds a grant for {system_id} ({', '.join(sorted(types))}) but declares none of its types."
        for system_id, types in served_by_grant.items()
        if not types & set(declared)
    ]
    return _check("dataUse", findings, readable=readable, grants=sorted(served_by_grant))


def _probe(url: str) -> str | None:
    """Why `url` does not work, or None when it answers."""
    try:
        with httpx.Client(timeout=PROBE_TIMEOUT_S, follow_redirects=True) as client:
            with client.stream("GET", url) as response:
                if response.status_code >= 400:
                    return f"answered {response.status_code}"
    except httpx.HTTPError as exc:
        return f"did not answer ({type(exc).__name__})"
    return None


def check_links(app: App, probe: bool = False) -> dict[str, Any]:
    """Every download or launch link is http(s); with `probe`, each also answers."""
    findings: list[str] = []
    if not app.platforms:
        findings.append("The app gives no download or launch link.")
    for platform in app.platforms:
        url = str(platform.get("url") or "")
        label = platform.get("platform") or "link"
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            findings.append(f"The {label} link '{url}' is not an http(s) address.")
        elif probe and (problem := _probe(url)) is not None:
            findings.append(f"The {label} link {url} {problem}.")
    return _check("links", findings, probed=probe)


def check_description(app: App) -> dict[str, Any]:
    """What the app portal shows a citizen is there: a description, functionalities, advantages."""
    findings: list[str] = []
    if len(app.description.strip()) < DESCRIPTION_MIN:
        findings.append(f"The description needs at least {DESCRIPTION_MIN} characters.")
    if not app.functionalities:
        findings.append("List at least one functionality.")
    if not app.advantages:
        findings.append("List at least one advantage.")
    return _check("description", findings)


def compute_checklist(session: Session, app: App, probe_links: bool = False) -> list[dict[str, Any]]:
    return [check_data_use(session, app), check_links(app, probe_links), check_description(app)]


# ---- shapes ------------------------------------------------------------------------


def _person(session: Session, user_id: int | None) -> dict[str, Any] | None:
    user = session.get(User, user_id) if user_id is not None else None
    return {"id": user.id, "name": user.name} if user else None


def review_dict(session: Session, review: AppReview) -> dict[str, Any]:
    return {
        "id": review.id,
        "trigger": review.trigger,
        "submittedAt": review.submitted_at.isoformat(),
        "submittedBy": _person(session, review.submitted_by),
        "note": review.note,
        "decision": review.decision,
        "decidedAt": review.decided_at.isoformat() if review.decided_at else None,
        "reviewer": _person(session, review.reviewer_id),
        "checklist": review.checklist,
        "comments": review.comments,
    }


def _app_summary(session: Session, app: App) -> dict[str, Any]:
    organisation = session.get(Organisation, app.organisation_id)
    return {
        "id": app.id,
        "name": app.name,
        "organisation": {"id": organisation.id, "name": organisation.name},
        "entityTypes": app.entity_types,
    }


def _reviews(session: Session, app: App) -> list[AppReview]:
    return list(
        session.scalars(select(AppReview).where(AppReview.app_id == app.id).order_by(AppReview.submitted_at.desc(), AppReview.id.desc()))
    )


def _pending_review(session: Session, app: App) -> AppReview | None:
    return session.scalar(
        select(AppReview).where(AppReview.app_id == app.id, AppReview.decision.is_(None)).order_by(AppReview.id.desc())
    )


def _certification_dict(session: Session, app: App, probe_links: bool = False) -> dict[str, Any]:
    return {
        "app": _app_summary(session, app),
        "status": app.certification,
        "checklist": compute_checklist(session, app, probe_links),
        "reviews": [review_dict(session, r) for r in _reviews(session, app)],
    }


# ---- use cases ---------------------------------------------------------------------


def get_certification(session: Session, principal: Principal, app_id: int, probe_links: bool = False) -> dict[str, Any]:
    """Where the app stands, the checklist as computed now, and its reviews (newest first).
    Only the platform admin probes links: it makes the server fetch addresses a developer typed."""
    app = visible_app(session, principal, app_id)
    if probe_links:
        require_admin(principal)
    body = _certification_dict(session, app, probe_links)
    pending = _pending_review(session, app)
    if probe_links and pending is not None:
        # what the probe found stays with the review: a link seen dead cannot be certified without a note
        links = next(c for c in body["checklist"] if c["check"] == "links")
        pending.checklist = [{**links, "urls": _link_urls(app)}]
        session.flush()
    return body


def _link_urls(app: App) -> list[str]:
    return [str(p.get("url") or "") for p in app.platforms]


def _recorded_probe(pending: AppReview, app: App) -> dict[str, Any] | None:
    """The links check of the last probe of this review, while the app's links are still those probed."""
    for check in pending.checklist or []:
        if check.get("check") == "links" and check.get("probed") and check.get("urls") == _link_urls(app):
            return {k: v for k, v in check.items() if k != "urls"}
    return None


def submit(session: Session, principal: Principal, app_id: int, note: str | None = None) -> dict[str, Any]:
    """A developer of the app's organisation asks for certification (a draft or a returned app)."""
    app = managed_app(session, principal, app_id)  # an approved developer of its organisation
    if app.certification == "submitted":
        raise rule_violation(f"{app.name} is already waiting for review.", code="already-submitted")
    if app.certification == "certified":
        raise rule_violation(f"{app.name} is already certified.", code="already-certified")
    note = (note or "").strip() or None
    review = open_review(session, principal, app, "developer", note)
    audit.record(session, principal, "app.submitted", "app", app.id, details={"review": review.id})
    return _certification_dict(session, app)


def _verdicts(computed: list[dict[str, Any]], given: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The reviewer's verdict on each check: theirs where given, else the computed one."""
    for name in given:
        if name not in CHECKS:
            raise bad_parameter(f"checklist.{name}", f"'{name}' is not a check; the checks are {', '.join(CHECKS)}")
    verdicts = []
    for check in computed:
        name = check["check"]
        mine = given.get(name) or {}
        passed = check["passed"] if mine.get("passed") is None else bool(mine["passed"])
        note = (mine.get("note") or "").strip()
        if passed != check["passed"] and not note:
            raise bad_parameter(
                f"checklist.{name}.note",
                f"You {'pass' if passed else 'fail'} '{check['label']}' against what the platform computed: say why in a note.",
            )
        verdicts.append({**check, "computed": check["passed"], "passed": passed, "note": note})
    return verdicts


def review(
    session: Session,
    principal: Principal,
    app_id: int,
    *,
    decision: str,
    comments: str | None = None,
    checklist: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The platform admin certifies a submitted app (every check passed) or returns it (with comments)."""
    require_admin(principal)
    if decision not in DECISIONS:
        raise bad_parameter("decision", f"decision must be one of {', '.join(DECISIONS)}")
    app = visible_app(session, principal, app_id)
    pending = _pending_review(session, app)
    if app.certification != "submitted" or pending is None or app.status != "active":
        raise rule_violation(
            f"{app.name} is {app.certification if app.status == 'active' else 'withdrawn'}, not waiting for review: "
            "a developer submits it first.",
            code="not-submitted",
        )
    comments = (comments or "").strip() or None
    computed = compute_checklist(session, app)
    if (probed := _recorded_probe(pending, app)) is not None and not probed["passed"]:
        computed = [probed if c["check"] == "links" else c for c in computed]
    verdicts = _verdicts(computed, checklist or {})
    failed = [v["label"] for v in verdicts if not v["passed"]]
    if decision == "certified" and failed:
        raise rule_violation(
            f"An app is certified only when every check passes; these do not: {'; '.join(failed)}. Return it with comments instead.",
            code="checklist-failed",
            param="checklist",
        )
    if decision == "returned" and comments is None:
        raise bad_parameter("comments", "Say what to fix: a returned app comes back to its developer with your comments.")
    pending.reviewer_id, pending.decided_at, pending.decision = principal.user_id, utcnow(), decision
    pending.checklist, pending.comments = verdicts, comments
    app.certification = decision
    audit.record(
        session, principal, f"app.{decision}", "app", app.id, details={
            "review": pending.id,
            "failedChecks": failed,
            "overruled": {v["check"]: v["note"] for v in verdicts if v["passed"] != v["computed"]},
        },
    )
    subject = f"{app.name} is certified: it is in the app portal" if decision == "certified" else f"{app.name} was returned"
    body = "\n".join(
        [comments or ("Your app passed every check." if decision == "certified" else "")]
        + [f"- {v['label']}: {v['note'] or '; '.join(v['findings'])}" for v in verdicts if not v["passed"]]
    ).strip()
    for developer in approved_developers(session, app):
        messages.notify(session, developer, subject, body or subject, sender_id=principal.user_id)
    session.flush()
    return _certification_dict(session, app)


def queue(session: Session, principal: Principal, *, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    """Apps waiting for review, longest waiting first, with their computed checklists."""
    require_admin(principal)
    statement = (
        select(AppReview, App)
        .join(App, App.id == AppReview.app_id)
        .where(AppReview.decision.is_(None), App.certification == "submitted", App.status == "active")
        .add_columns(AppReview.submitted_at, AppReview.id)
    )
    keys = [SortKey(AppReview.submitted_at, parse=parse_datetime), SortKey(AppReview.id)]
    rows, next_cursor = keyset_page(statement, keys, "submittedAt", limit, cursor, lambda s: session.execute(s).all())
    return Page(
        [
            {
                "app": _app_summary(session, app),
                "review": review_dict(session, pending),
                "checklist": compute_checklist(session, app),
            }
            for pending, app, *_ in rows
        ],
        next_cursor,
    )
