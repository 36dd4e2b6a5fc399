"""Routes: information systems' commercial offers, apps' acceptances, monthly statements."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from icity.api.deps import PrincipalDep, SessionDep, TransactionDep
from icity.api.offer_schemas import AcceptanceIn, AcceptancePublic, OfferIn, OfferPublic, OfferSummary, Statement, StatementList
from icity.api.responses import JSONResponse
from icity.api.schemas import Problem, RowId
from icity.services import offers, statements

router = APIRouter(tags=["offers"])

PROBLEMS = {
    401: {"model": Problem, "description": "Not logged in."},
    403: {"model": Problem, "description": "Not allowed for your role."},
    404: {"model": Problem, "description": "No such item, or not visible to you."},
}
OFFER_NOT_ACCEPTED = {
    402: {
        "model": Problem,
        "description": "`offer-not-accepted`: the IS is priced and the app has not accepted its offer. The problem names "
        "`informationSystem`, `offerVersion` and `offer` (where to read it); accept it with POST /api/v1/apps/{appId}/offers.",
    }
}
Month = Annotated[str | None, Query(description="The month, YYYY-MM (UTC); default the current one.", examples=["2026-12"])]


@router.get("/information-systems/{city_id}/{slug}/offer", response_model=OfferSummary, summary="An IS's offer: in effect this month, and the next one", responses=PROBLEMS)
def get_offer(city_id: str, slug: str, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(offers.get_offer(session, principal, f"{city_id}/{slug}"))


@router.put(
    "/information-systems/{city_id}/{slug}/offer",
    status_code=201,
    response_model=OfferPublic,
    summary="Set an IS's offer: a new version, in effect from next month (an IS's first offer: this month)",
    responses={**PROBLEMS, 422: {"model": Problem, "description": "A field is wrong (negative price, unknown currency, …); nothing is written."}},
)
def put_offer(city_id: str, slug: str, body: OfferIn, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(offers.set_offer(session, principal, f"{city_id}/{slug}", body.as_body()), status_code=201)


@router.get("/information-systems/{city_id}/{slug}/offer/versions", response_model=list[OfferPublic], summary="Every version of an IS's offer, newest first", responses=PROBLEMS)
def get_offer_versions(city_id: str, slug: str, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(offers.list_versions(session, principal, f"{city_id}/{slug}"))


@router.post(
    "/apps/{app_id}/offers",
    status_code=201,
    response_model=AcceptancePublic,
    summary="Accept an IS's offer for an app (201; 200 when it was accepted already)",
    responses={**PROBLEMS, 409: {"model": Problem, "description": "The version is not acceptable (not in effect nor next, or free)."}},
)
def accept_offer(app_id: RowId, body: AcceptanceIn, session: TransactionDep, principal: PrincipalDep):
    acceptance, created = offers.accept_offer(session, principal, app_id, body.information_system, body.version)
    return JSONResponse(acceptance, status_code=201 if created else 200)


@router.get("/apps/{app_id}/offers", response_model=list[AcceptancePublic], summary="The offers an app accepted, newest first", responses=PROBLEMS)
def list_accepted_offers(app_id: RowId, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(offers.list_acceptances(session, principal, app_id))


@router.get(
    "/statements",
    response_model=StatementList,
    summary="Monthly statements you may see: your organisation's apps (developer), your IS (publisher's admin), all (platform admin)",
    responses=PROBLEMS,
)
def list_statements(session: SessionDep, principal: PrincipalDep, month: Month = None, app: Annotated[RowId | None, Query(description="Only this app.", examples=[7])] = None):
    return JSONResponse(statements.list_statements(session, principal, month, app))


CSV_EXAMPLE = (
    "month,publisherKind,publisherId,app,informationSystem,offerVersion,accepted,currency,calls,freeCalls,billableCalls,"
    "pricePer1000,usageAmount,monthlyFee,amount\r\n2026-12,city,london,7,london/parking,2,true,GBP,12345,1000,11345,0.50,5.67,10.00,15.67\r\n"
)
CSV_RESPONSE = {200: {"content": {"text/csv": {"schema": {"type": "string", "examples": [CSV_EXAMPLE]}}}, "description": "The statement's lines as CSV."}}


@router.get(
    "/statements/{publisher_kind}/{publisher_id}/{app_id}.csv",
    summary="One monthly statement as CSV (one row per IS)",
    responses={**PROBLEMS, **CSV_RESPONSE},
    response_class=Response,
)
def get_statement_csv(publisher_kind: str, publisher_id: str, app_id: RowId, session: SessionDep, principal: PrincipalDep, month: Month = None):
    return _csv(statements.get_statement(session, principal, publisher_kind, publisher_id, app_id, month))


@router.get(
    "/statements/{publisher_kind}/{publisher_id}/{app_id}",
    response_model=Statement,
    summary="One monthly statement of a publisher to an app: calls, billable calls and amount per IS, totals per currency",
    description="JSON, or CSV with `Accept: text/csv` (as the `.csv` path). Amounts are exact decimals as strings.",
    responses={**PROBLEMS, **CSV_RESPONSE},
)
def get_statement(request: Request, publisher_kind: str, publisher_id: str, app_id: RowId, session: SessionDep, principal: PrincipalDep, month: Month = None):
    statement = statements.get_statement(session, principal, publisher_kind, publisher_id, app_id, month)
    if "text/csv" in request.headers.get("accept", ""):
        return _csv(statement)
    return JSONResponse(statement)


def _csv(statement: dict) -> Response:
    name = f"statement-{statement['publisher']['kind']}-{statement['publisher']['id']}-{statement['app']['id']}-{statement['month']}.csv"
    return Response(
        statements.statement_csv(statement),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
