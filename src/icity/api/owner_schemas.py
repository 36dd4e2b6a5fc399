"""Request bodies and response shapes of infrastructure owners: a new owner, a change of membership,
an owner's IS located in a city, opening notices and the city's objection. Shapes and lengths only:
services/owners and services/openings decide who may and what is allowed."""

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from icity.api.network_schemas import CityId, Country, Long, Short
from icity.api.schemas import example
from icity.api.source_schemas import SystemIn
from icity.db.models import utctoday


class OwnerIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"id": "voltia", "name": "Voltia Charging SL", "kind": "charge_point_operator", "country": "ES",
                 "website": "https://voltia.example", "description": "Public EV charge points in Barcelona and Genova."}
            ]
        },
    )  # fmt: skip
    id: CityId = Field(description="Lower-case letters, digits and hyphens; one namespace with the cities' ids.")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    kind: Short = Field(
        description="transport_operator, utility, port_authority, car_park_operator, charge_point_operator, campus or other"
    )
    country: Country = Field(description="ISO 3166-1 alpha-2 code of its seat.")
    website: Annotated[str, StringConstraints(max_length=500)] | None = None
    description: Long = ""


class MembershipChangeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {"membership": "member", "effectiveOn": "2026-11-02", "evidenceKind": "letter_of_commitment",
                 "evidence": "Letter of commitment signed by the CEO, 2 November 2026"}
            ]
        },
    )  # fmt: skip
    membership: Short = Field(description="member (evidence: letter_of_commitment) or applicant (evidence: withdrawal)")
    effective_on: date | None = Field(None, alias="effectiveOn", description="Default: today (UTC).")
    evidence_kind: Short = Field(alias="evidenceKind")
    evidence: Long = ""

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of services.owners.change_membership."""
        return {
            "to_membership": self.membership,
            "effective_on": self.effective_on or utctoday(),
            "evidence_kind": self.evidence_kind,
            "evidence": self.evidence,
        }


class OwnerSystemIn(SystemIn):
    city: CityId = Field(description="Where the IS lies: apps find it there; its id is <city>/<slug>.", examples=["barcelona"])


class ObjectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)] = Field(
        examples=["The charge points on Passeig de Gràcia are not authorised yet; see our letter of 3 December."]
    )


class MembershipChangePublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    effectiveOn: str
    evidenceKind: str
    evidence: str
    recordedBy: str


class OwnerPublic(BaseModel):
    model_config = example(
        {"id": "voltia", "name": "Voltia Charging SL", "kind": "charge_point_operator", "country": "ES",
         "website": "https://voltia.example", "description": "Public EV charge points.", "membership": "member",
         "cities": ["barcelona", "genova"]}
    )  # fmt: skip
    id: str
    name: str
    kind: str
    country: str
    website: str | None
    description: str
    membership: str = Field(description="applicant or member; only members open information systems")
    cities: list[str] = Field(description="Cities where it opens information systems (trial or open).")


class OwnerDetail(OwnerPublic):
    history: list[MembershipChangePublic] = Field(description="Membership changes, newest first.")


class OpeningNoticePublic(BaseModel):
    model_config = example(
        {"id": 4, "informationSystem": "barcelona/voltia-charging", "requestedStatus": "open",
         "requestedAt": "2026-12-01T09:00:00+00:00", "objectionDeadline": "2026-12-15T09:00:00+00:00",
         "status": "pending", "objection": None, "settledAt": None}
    )  # fmt: skip
    id: int
    informationSystem: str
    requestedStatus: str
    requestedAt: str
    objectionDeadline: str
    status: str = Field(description="pending, objected, opened or withdrawn")
    objection: str | None
    settledAt: str | None
