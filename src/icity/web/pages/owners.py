"""The infrastructure owners of the network, in public: who they are, their membership and its
history, the cities where they open IS and those IS. services/owners decides who sees which
(members to everyone; applicants to the platform admin and their own admins)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from icity.api.deps import SessionDep
from icity.services import catalogue, cities, owners
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

EVERY_SYSTEM = 1000  # an owner opens a handful of IS: one page holds them all
KIND_NAMES = {
    "transport_operator": "Transport operator",
    "utility": "Utility",
    "port_authority": "Port authority",
    "car_park_operator": "Car-park operator",
    "charge_point_operator": "Charge-point operator",
    "campus": "Campus",
    "other": "Other",
}
MEMBERSHIP_NAMES = {"applicant": "Applicant", "member": "Member"}


def city_names(session) -> dict[str, str]:
    return {c["id"]: c["name"] for c in cities.list_cities(session, level="all", limit=1000, cursor=None).items}


@router.get("/owners")
def owners_page(request: Request, viewer: ViewerDep, session: SessionDep):
    return render(
        request,
        "owners/index.html",
        owners=owners.list_owners(session, viewer),
        city_names=city_names(session),
        kind_names=KIND_NAMES,
        membership_names=MEMBERSHIP_NAMES,
    )


@router.get("/owners/{owner_id}")
def owner_page(request: Request, owner_id: str, viewer: ViewerDep, session: SessionDep):
    owner = owners.get_owner(session, viewer, owner_id)  # 404 for an applicant others may not see
    systems = catalogue.list_systems(session, viewer, publisher=owner_id, limit=EVERY_SYSTEM, cursor=None).items
    return render(
        request,
        "owners/owner.html",
        owner=owner,
        systems=systems,
        city_names=city_names(session),
        categories={c["id"]: c["name"] for c in catalogue.list_categories(session)},
        kind_names=KIND_NAMES,
        membership_names=MEMBERSHIP_NAMES,
    )
