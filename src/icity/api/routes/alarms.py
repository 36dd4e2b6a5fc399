"""Routes: a city's admins set alarm rules on an IS; whoever reads the IS's data sees its alarms."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from icity.api.alarm_schemas import AcknowledgementIn, AlarmPublic, AlarmRuleIn, AlarmRulePublic
from icity.api.deps import DEFAULT_LIMIT, CursorParam, LimitParam, PrincipalDep, SessionDep, TransactionDep
from icity.api.responses import JSONResponse, json_page
from icity.api.schemas import Page, Problem, RowId
from icity.services import alarms

router = APIRouter(tags=["alarms"])

ADMIN_ONLY = {
    401: {"model": Problem, "description": "Not logged in."},
    403: {"model": Problem, "description": "Not an admin of this city."},
    404: {"model": Problem, "description": "No such information system or rule (or not visible to you)."},
}
RULE_PROBLEMS = {
    **ADMIN_ONLY,
    422: {
        "model": Problem,
        "description": "The rule is not valid (e.g. not a numeric attribute of the IS's types): `errors` names each field.",
    },
}


def _system(city_id: str, slug: str) -> str:
    return f"{city_id}/{slug}"


@router.post(
    "/information-systems/{city_id}/{slug}/alarm-rules",
    status_code=201,
    response_model=AlarmRulePublic,
    summary="Add an alarm rule: an attribute above/below a threshold for a duration, or a device silent",
    responses=RULE_PROBLEMS,
)
def create_rule(city_id: str, slug: str, body: AlarmRuleIn, session: TransactionDep, principal: PrincipalDep):
    rule = alarms.create_rule(session, principal, _system(city_id, slug), body.model_dump())
    return JSONResponse(rule, status_code=201)


@router.get(
    "/information-systems/{city_id}/{slug}/alarm-rules",
    response_model=list[AlarmRulePublic],
    summary="The IS's alarm rules",
    responses=ADMIN_ONLY,
)
def list_rules(city_id: str, slug: str, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(alarms.list_rules(session, principal, _system(city_id, slug)))


@router.get(
    "/information-systems/{city_id}/{slug}/alarm-rules/{rule_id}",
    response_model=AlarmRulePublic,
    summary="One alarm rule",
    responses=ADMIN_ONLY,
)
def get_rule(city_id: str, slug: str, rule_id: RowId, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(alarms.get_rule(session, principal, _system(city_id, slug), rule_id))


@router.put(
    "/information-systems/{city_id}/{slug}/alarm-rules/{rule_id}",
    response_model=AlarmRulePublic,
    summary="Replace an alarm rule (its pending alarms start again under the new condition)",
    responses=RULE_PROBLEMS,
)
def replace_rule(city_id: str, slug: str, rule_id: RowId, body: AlarmRuleIn, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(alarms.replace_rule(session, principal, _system(city_id, slug), rule_id, body.model_dump()))


@router.delete(
    "/information-systems/{city_id}/{slug}/alarm-rules/{rule_id}",
    status_code=204,
    summary="Delete an alarm rule and its alarms (those raised are cleared first)",
    responses=ADMIN_ONLY,
)
def delete_rule(city_id: str, slug: str, rule_id: RowId, session: TransactionDep, principal: PrincipalDep):
    alarms.delete_rule(session, principal, _system(city_id, slug), rule_id)
    return Response(status_code=204)


@router.get(
    "/information-systems/{city_id}/{slug}/alarms",
    response_model=Page[AlarmPublic],
    summary="The IS's alarms, the latest to start first: pending, raised and cleared",
    responses={404: {"model": Problem, "description": "No such information system, or you may not read its data."}},
)
def list_alarms(
    city_id: str,
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    state: Annotated[str | None, Query(description="pending, raised or cleared", examples=["raised"])] = None,
    acknowledged: Annotated[
        bool | None, Query(description="true: only those acknowledged; false: only those not", examples=[False])
    ] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    page = alarms.list_alarms(
        session, principal, _system(city_id, slug), state=state, acknowledged=acknowledged, limit=limit, cursor=cursor
    )
    return json_page(page.as_dict(), request)


@router.post(
    "/information-systems/{city_id}/{slug}/alarms/{alarm_id}/acknowledgement",
    response_model=AlarmPublic,
    summary="Acknowledge an alarm with a note (once per episode: raised, or cleared before anyone did)",
    responses={
        **ADMIN_ONLY,
        404: {"model": Problem, "description": "No such information system or alarm (or not visible to you)."},
        409: {"model": Problem, "description": "The alarm is still pending, or this episode is already acknowledged."},
        400: {"model": Problem, "description": "No note, or one too long."},
    },
)
def acknowledge(
    city_id: str, slug: str, alarm_id: RowId, body: AcknowledgementIn, session: TransactionDep, principal: PrincipalDep
):
    return JSONResponse(alarms.acknowledge(session, principal, _system(city_id, slug), alarm_id, body.note))
