"""Who publishes an information system: the city it lies in, or the infrastructure owner that opened it
there. The one place that names publishers, for the catalogue, IS pages, the API, DCAT-AP and the app portal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.db.models import City, CityAdmin, InfrastructureOwner, InformationSystem, OwnerAdmin, User

KINDS = ("city", "owner")


@dataclass(frozen=True)
class Publisher:
    kind: str  # city | owner
    id: str
    name: str
    owner_kind: str | None = None  # an owner's: transport_operator, utility, campus…

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "name": self.name}


def publisher_of(session: Session, system: InformationSystem) -> Publisher:
    if system.owner_id is not None:
        owner = session.get(InfrastructureOwner, system.owner_id)
        return Publisher("owner", owner.id, owner.name, owner.kind)
    city = session.get(City, system.city_id)
    return Publisher("city", city.id, city.name)


def publishers_of(session: Session, systems: list[InformationSystem]) -> dict[str, Publisher]:
    """Each IS's publisher by IS id, in two queries whatever the number of systems."""
    city_ids = {s.city_id for s in systems if s.owner_id is None}
    owner_ids = {s.owner_id for s in systems if s.owner_id is not None}
    cities = dict(session.execute(select(City.id, City.name).where(City.id.in_(city_ids))).all()) if city_ids else {}
    owners = {owner.id: owner for owner in session.scalars(select(InfrastructureOwner).where(InfrastructureOwner.id.in_(owner_ids)))} if owner_ids else {}
    return {
        s.id: Publisher("owner", s.owner_id, owners[s.owner_id].name, owners[s.owner_id].kind)
        if s.owner_id
        else Publisher("city", s.city_id, cities[s.city_id])
        for s in systems
    }


def publisher_admins(session: Session, system: InformationSystem) -> list[User]:
    """The approved admins of the IS's publisher: those told of its access requests."""
    if system.owner_id is not None:
        scope = select(OwnerAdmin.user_id).where(OwnerAdmin.owner_id == system.owner_id)
    else:
        scope = select(CityAdmin.user_id).where(CityAdmin.city_id == system.city_id)
    return list(session.scalars(select(User).where(User.id.in_(scope), User.status == "approved").order_by(User.id)))


def city_admins(session: Session, city_id: str) -> list[User]:
    scope = select(CityAdmin.user_id).where(CityAdmin.city_id == city_id)
    return list(session.scalars(select(User).where(User.id.in_(scope), User.status == "approved").order_by(User.id)))


def platform_admins(session: Session) -> list[User]:
    """Those told when a publisher has no admin of its own yet."""
    return list(session.scalars(select(User).where(User.role == "admin", User.status == "approved").order_by(User.id)))
