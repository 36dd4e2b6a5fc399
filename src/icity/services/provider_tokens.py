"""Provider tokens: what a sensor network's operator pushes observations with, one IS each.

Issued, listed and revoked by the IS's city admins and the platform admin; the
secret is shown once and stored as a SHA-256 digest, like an API key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.db.models import Provider, ProviderToken, utcnow
from icity.errors import bad_parameter, conflict, not_found
from icity.services import audit, catalogue
from icity.services.access import Principal, administered_system
from icity.services.secrets import PROVIDER_PREFIX, new_api_key


def token_dict(token: ProviderToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "informationSystem": token.information_system_id,
        "provider": token.provider_id,
        "name": token.name,
        "prefix": token.prefix,
        "createdAt": token.created_at.isoformat(),
        "lastUsedAt": token.last_used_at.isoformat() if token.last_used_at else None,
        "active": token.revoked_at is None,
    }


def create_token(session: Session, principal: Principal, system_id: str, provider_id: int, name: str = "") -> dict[str, Any]:
    """A new token for one of the IS's providers; the answer holds the secret, shown this once."""
    system = administered_system(session, principal, system_id)
    provider = session.get(Provider, provider_id)
    if provider is None or provider.information_system_id != system.id:
        raise bad_parameter("provider", f"{system.id} has no provider {provider_id}; see GET …/providers.")
    new = new_api_key(PROVIDER_PREFIX)
    token = ProviderToken(
        provider_id=provider.id,
        information_system_id=system.id,
        name=name,
        prefix=new.prefix,
        secret_digest=new.digest,
        created_by=principal.user_id,
    )
    session.add(token)
    session.flush()
    audit.record(session, principal, "provider_token.created", "provider_token", token.id, city_id=system.city_id, owner_id=system.owner_id)
    return {**token_dict(token), "token": new.key}


def list_tokens(session: Session, principal: Principal, system_id: str) -> list[dict[str, Any]]:
    system = administered_system(session, principal, system_id)
    tokens = session.scalars(
        select(ProviderToken).where(ProviderToken.information_system_id == system.id).order_by(ProviderToken.id)
    )
    return [token_dict(token) for token in tokens]


def revoke_token(session: Session, principal: Principal, system_id: str, token_id: int) -> dict[str, Any]:
    """Effective on the provider's next push."""
    system = administered_system(session, principal, system_id)
    token = session.get(ProviderToken, token_id)
    if token is None or token.information_system_id != system.id:
        raise not_found("provider token", str(token_id))
    if token.revoked_at is not None:
        raise conflict(f"Provider token {token_id} is already revoked.")
    token.revoked_at = utcnow()
    audit.record(session, principal, "provider_token.revoked", "provider_token", token.id, city_id=system.city_id, owner_id=system.owner_id)
    return token_dict(token)


def issue_token(
    session: Session, principal: Principal, system_id: str, provider_id: int | None, provider_name: str = "", name: str = ""
) -> dict[str, Any]:
    """A token for one of the IS's providers or, when none is named, for a new provider of that
    name (an IS that nobody pushes into yet has none): the portal's "issue a provider token"."""
    system = administered_system(session, principal, system_id)
    if provider_id is None:
        if not provider_name.strip():
            raise bad_parameter("providerName", "Choose one of the IS's providers, or name the new one this token is for.")
        provider_id = catalogue.add_provider(session, system.id, name=provider_name.strip()[:200]).id
    return create_token(session, principal, system.id, provider_id, name)
