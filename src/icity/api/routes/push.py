"""Routes: providers push observations into their IS; the city's admins issue their tokens."""

from fastapi import APIRouter

from icity.api.deps import PrincipalDep, SessionDep, TransactionDep, WriteTransactionDep
from icity.api.push_schemas import NewProviderTokenOut, ProviderTokenIn, ProviderTokenPublic, PushIn, PushOut
from icity.api.responses import JSONResponse
from icity.api.schemas import Problem, RowId
from icity.services import ingest, provider_tokens

router = APIRouter(tags=["push"])


@router.post(
    "/information-systems/{city_id}/{slug}/observations",
    response_model=PushOut,
    summary="Push a batch of observations (provider token); answered once they are stored",
    responses={
        401: {"model": Problem, "description": "No provider token, or not a valid one."},
        403: {"model": Problem, "description": "Not a provider token of this IS."},
        422: {"model": Problem, "description": "Unknown devices or attributes, wrong types: `errors` has each path; nothing is stored."},
    },
)
def push_observations(city_id: str, slug: str, body: PushIn, principal: PrincipalDep, session: WriteTransactionDep):
    # the principal first: authentication is not done while holding the write lock
    measures = [ingest.Measure(m.device, m.observedAt, m.values) for m in body.measures]
    stored = ingest.push(session, principal, f"{city_id}/{slug}", measures)
    # committed in this thread, not in a later one: the rows it locked (PostgreSQL) or the write lock
    # it holds (SQLite) are never held while waiting for one of the few request threads, which
    # pushes waiting for those same rows or that lock could all hold (the server hung)
    session.commit()
    return JSONResponse(stored)


@router.get(
    "/information-systems/{city_id}/{slug}/provider-tokens",
    response_model=list[ProviderTokenPublic],
    summary="The IS's provider tokens (prefix and dates; never the secret)",
)
def list_provider_tokens(city_id: str, slug: str, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(provider_tokens.list_tokens(session, principal, f"{city_id}/{slug}"))


@router.post(
    "/information-systems/{city_id}/{slug}/provider-tokens",
    status_code=201,
    response_model=NewProviderTokenOut,
    summary="Issue a provider token (the secret is in this answer only)",
)
def create_provider_token(city_id: str, slug: str, body: ProviderTokenIn, session: TransactionDep, principal: PrincipalDep):
    token = provider_tokens.create_token(session, principal, f"{city_id}/{slug}", body.provider, body.name)
    return JSONResponse(token, status_code=201)


@router.delete(
    "/information-systems/{city_id}/{slug}/provider-tokens/{token_id}",
    response_model=ProviderTokenPublic,
    summary="Revoke a provider token, effective on its next push",
)
def revoke_provider_token(city_id: str, slug: str, token_id: RowId, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(provider_tokens.revoke_token(session, principal, f"{city_id}/{slug}", token_id))
