"""An IS's alarm console for those who manage it: its alarm rules (create, edit, pause,
resume, delete) and its alarms, newest first, each acknowledged by an operator with a note.
The rules and rights are services/alarms.py's, as for /api/v1/…/alarm-rules and …/alarms."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from icity.api.alarm_schemas import AcknowledgementIn, AlarmRuleIn
from icity.api.deps import SessionDep, TransactionDep
from icity.errors import ICityError
from icity.services import alarms, catalogue
from icity.services.access import Principal
from icity.web import session as web_session
from icity.web.forms import blank_as_none, problems
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

ALARMS_SHOWN = 100
DONE = {
    "created": "The rule is saved: it judges what comes in from now on.",
    "changed": "The rule is changed.",
    "paused": "The rule is paused: it raises nothing until it is resumed (its raised alarms are cleared).",
    "resumed": "The rule is resumed.",
    "deleted": "The rule is deleted (its raised alarms were cleared first).",
    "acknowledged": "The alarm is acknowledged: your note is kept with it.",
}
LABELS = {
    "name": "Name",
    "kind": "Kind",
    "entityType": "Entity type",
    "attribute": "Attribute",
    "operator": "Condition",
    "threshold": "Threshold",
    "durationS": "For at least (seconds)",
    "severity": "Severity",
    "note": "Note",
}
THRESHOLD_ONLY = ("entityType", "attribute", "operator", "threshold")


def _path(system_id: str) -> str:
    return f"/manage/information-systems/{system_id}/alarms"


def _page(
    request: Request, session: Session, viewer: Principal, system_id: str, status_code: int = 200, **extra: Any
):
    rules = alarms.list_rules(session, viewer, system_id)  # refuses whoever does not manage the IS
    system = catalogue.get_system(session, viewer, system_id)
    listed = alarms.list_alarms(session, viewer, system_id, state=None, limit=ALARMS_SHOWN, cursor=None).items
    editing = next((r for r in rules if str(r["id"]) == request.query_params.get("edit")), None)
    posted = extra.pop("posted", None) or _posted_of(editing)
    return render(
        request,
        "manage/alarms.html",
        status_code=status_code,
        system=system,
        rules=rules,
        alarms=listed,
        editing=extra.pop("editing", None) or editing,
        posted=posted,
        severities=alarms.SEVERITIES,
        operators=alarms.OPERATORS,
        done=DONE.get(request.query_params.get("done", "")),
        **extra,
    )


def _posted_of(rule: dict[str, Any] | None) -> dict[str, Any]:
    """The rule form's values: the rule being edited, or a new rule's defaults."""
    if rule is None:
        return {"kind": "threshold", "operator": "above", "severity": "medium", "durationS": 0, "enabled": True}
    return {**rule, "threshold": "" if rule["threshold"] is None else f"{rule['threshold']:g}"}


@router.get("/manage/information-systems/{city_id}/{slug}/alarms")
def alarms_page(request: Request, city_id: str, slug: str, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _page(request, session, viewer, f"{city_id}/{slug}")


class RuleForm(BaseModel):
    """The rule form as posted: text fields, checked by the API's AlarmRuleIn in _rule_body."""

    name: str = ""
    kind: str = "threshold"
    entity_type: str = ""
    attribute: str = ""
    operator: str = ""
    threshold: str = ""
    duration_s: str = ""
    severity: str = "medium"
    enabled: str = ""

    def api_fields(self) -> dict[str, str]:
        return {
            "name": self.name, "kind": self.kind, "entityType": self.entity_type, "attribute": self.attribute,
            "operator": self.operator, "threshold": self.threshold, "durationS": self.duration_s, "severity": self.severity,
        }  # fmt: skip

    def as_posted(self) -> dict[str, Any]:
        """What the form shows again after a refusal."""
        return {**self.api_fields(), "enabled": self.enabled == "yes"}


RuleFormDep = Annotated[RuleForm, Form()]


def _rule_body(form: RuleForm) -> dict[str, Any]:
    """The API's rule body from the form (AlarmRuleIn checks its types as the API does); a silent
    rule watches devices, so the threshold fields its form also shows are not part of it."""
    body: dict[str, Any] = {name: blank_as_none(value) for name, value in form.api_fields().items()}
    body["enabled"] = form.enabled == "yes"
    body["durationS"] = body["durationS"] or 0
    if body["kind"] == "silent":
        body.update(dict.fromkeys(THRESHOLD_ONLY))
    return AlarmRuleIn.model_validate(body).model_dump()


def _refused(
    request: Request, session: Session, viewer: Principal, system_id: str, error: ICityError | ValidationError, **extra: Any
):
    """The page again with the refusal's problems, nothing written; a caller who may not manage the IS gets its error page."""
    session.rollback()
    code = error.status if isinstance(error, ICityError) else 422
    if isinstance(error, ICityError) and code in (401, 403, 404):
        raise error  # not theirs to manage: the error page, as for a GET
    return _page(request, session, viewer, system_id, code, errors=problems(error, LABELS), **extra)


@router.post("/manage/information-systems/{city_id}/{slug}/alarm-rules", dependencies=[Depends(web_session.check_csrf)])
def create_rule(request: Request, city_id: str, slug: str, viewer: ViewerDep, session: TransactionDep, form: RuleFormDep):
    system_id = f"{city_id}/{slug}"
    try:
        alarms.create_rule(session, viewer, system_id, _rule_body(form))
    except (ICityError, ValidationError) as error:
        return _refused(request, session, viewer, system_id, error, posted=form.as_posted())
    return RedirectResponse(f"{_path(system_id)}?done=created#rules", status_code=303)


@router.post("/manage/information-systems/{city_id}/{slug}/alarm-rules/{rule_id}", dependencies=[Depends(web_session.check_csrf)])
def change_rule(
    request: Request, city_id: str, slug: str, rule_id: int, viewer: ViewerDep, session: TransactionDep, form: RuleFormDep
):
    system_id = f"{city_id}/{slug}"
    try:
        alarms.replace_rule(session, viewer, system_id, rule_id, _rule_body(form))
    except (ICityError, ValidationError) as error:
        return _refused(request, session, viewer, system_id, error, posted=form.as_posted(), editing={"id": rule_id})
    return RedirectResponse(f"{_path(system_id)}?done=changed#rules", status_code=303)


def _switch(request: Request, session: Session, viewer: Principal, system_id: str, rule_id: int, enabled: bool):
    """Pause (enabled=false) or resume a rule: the rule as it is, with `enabled` switched."""
    try:
        rule = alarms.get_rule(session, viewer, system_id, rule_id)
        fields = {key: rule[key] for key in ("name", "kind", *THRESHOLD_ONLY, "durationS", "severity")}
        alarms.replace_rule(session, viewer, system_id, rule_id, {**fields, "enabled": enabled})
    except ICityError as error:
        return _refused(request, session, viewer, system_id, error)
    return RedirectResponse(f"{_path(system_id)}?done={'resumed' if enabled else 'paused'}#rules", status_code=303)


@router.post("/manage/information-systems/{city_id}/{slug}/alarm-rules/{rule_id}/pause", dependencies=[Depends(web_session.check_csrf)])
def pause_rule(request: Request, city_id: str, slug: str, rule_id: int, viewer: ViewerDep, session: TransactionDep):
    return _switch(request, session, viewer, f"{city_id}/{slug}", rule_id, enabled=False)


@router.post("/manage/information-systems/{city_id}/{slug}/alarm-rules/{rule_id}/resume", dependencies=[Depends(web_session.check_csrf)])
def resume_rule(request: Request, city_id: str, slug: str, rule_id: int, viewer: ViewerDep, session: TransactionDep):
    return _switch(request, session, viewer, f"{city_id}/{slug}", rule_id, enabled=True)


@router.post(
    "/manage/information-systems/{city_id}/{slug}/alarm-rules/{rule_id}/deletion", dependencies=[Depends(web_session.check_csrf)]
)
def delete_rule(request: Request, city_id: str, slug: str, rule_id: int, viewer: ViewerDep, session: TransactionDep):
    system_id = f"{city_id}/{slug}"
    try:
        alarms.delete_rule(session, viewer, system_id, rule_id)
    except ICityError as error:
        return _refused(request, session, viewer, system_id, error)
    return RedirectResponse(f"{_path(system_id)}?done=deleted#rules", status_code=303)


@router.post(
    "/manage/information-systems/{city_id}/{slug}/alarms/{alarm_id}/acknowledgement",
    dependencies=[Depends(web_session.check_csrf)],
)
def acknowledge(
    request: Request,
    city_id: str,
    slug: str,
    alarm_id: int,
    viewer: ViewerDep,
    session: TransactionDep,
    note: Annotated[str, Form()] = "",
):
    system_id = f"{city_id}/{slug}"
    try:
        alarms.acknowledge(session, viewer, system_id, alarm_id, AcknowledgementIn.model_validate({"note": note}).note)
    except (ICityError, ValidationError) as error:
        return _refused(request, session, viewer, system_id, error, acknowledging=alarm_id, note=note)
    return RedirectResponse(f"{_path(system_id)}?done=acknowledged#alarms", status_code=303)
