"""Request bodies and response shapes of developer access: accounts, apps, keys,
access requests. Bodies forbid unknown fields, so a misspelt field is a 400
naming it rather than silently ignored."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from icity.api.schemas import RowId, example

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=5000)]
Item = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Password = Annotated[str, StringConstraints(min_length=10, max_length=256)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class OrganisationIn(Body):
    name: Name
    website: AnyHttpUrl | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = Field(None, description="ISO 3166-1 alpha-2")


class Platform(Body):
    platform: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] = Field(
        examples=["android"]
    )
    url: AnyHttpUrl = Field(description="Download or launch link.")


class AppFields(Body):
    description: Text = ""
    functionalities: Annotated[list[Item], Field(max_length=50)] = []
    advantages: Annotated[list[Item], Field(max_length=50)] = []
    platforms: Annotated[list[Platform], Field(max_length=20)] = []
    entity_types: Annotated[list[Item], Field(alias="entityTypes", max_length=50)] = []


class AppIn(AppFields):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "BreatheEasy",
                    "description": "Air quality near you, and the cleanest walking route.",
                    "functionalities": ["live air quality map", "alerts"],
                    "advantages": ["works in every iCity city"],
                    "platforms": [{"platform": "android", "url": "https://play.example/breatheeasy"}],
                    "entityTypes": ["AirQualityObserved"],
                }
            ]
        },
    )
    name: Name


class AppChanges(AppFields):
    """Only the fields given change; a field cannot be null (leave it out to keep it)."""

    name: Name = None  # not `Name | None`: a null is refused (400 naming it), never stored
    description: Text = None
    functionalities: Annotated[list[Item], Field(max_length=50)] = None
    advantages: Annotated[list[Item], Field(max_length=50)] = None
    platforms: Annotated[list[Platform], Field(max_length=20)] = None
    entity_types: Annotated[list[Item], Field(max_length=50)] = Field(None, alias="entityTypes")


class Registration(Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Ada Lovelace",
                    "email": "ada@analytical.example",
                    "password": "a long passphrase",
                    "organisation": {"name": "Analytical Engines SL", "website": "https://analytical.example", "country": "ES"},
                    "app": {"name": "BreatheEasy", "entityTypes": ["AirQualityObserved"]},
                }
            ]
        },
    )
    name: Name
    email: EmailStr
    password: Password = Field(description="10 to 256 characters.")
    phone: Annotated[str, StringConstraints(max_length=50)] | None = None
    organisation: OrganisationIn
    app: AppIn | None = Field(None, description="Optionally, a first app.")


class EmailIn(Body):
    email: EmailStr


class PasswordReset(Body):
    token: Annotated[str, StringConstraints(max_length=2000)] = Field(description="The token of the mailed link.")
    password: Password = Field(description="The new password: 10 to 256 characters.")


class PasswordChange(Body):
    current_password: Annotated[str, StringConstraints(max_length=256)] = Field(alias="currentPassword")
    new_password: Password = Field(alias="newPassword", description="10 to 256 characters.")


class Credentials(Body):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "ada@analytical.example", "password": "a long passphrase"}]}
    )
    email: Annotated[str, StringConstraints(max_length=320)]
    password: Annotated[str, StringConstraints(max_length=256)]


class NewUser(Body):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"email": "opendata@bcn.example", "name": "Open data office", "password": "a long passphrase", "role": "city_admin", "cities": ["barcelona"]}
            ]
        },
    )
    email: EmailStr
    name: Name
    password: Password
    role: Literal["developer", "city_admin", "owner_admin", "admin"]
    cities: list[Annotated[str, StringConstraints(max_length=64)]] = []
    owners: list[Annotated[str, StringConstraints(max_length=64)]] = Field([], description="The infrastructure owners an owner_admin acts for.")
    organisation: Name | None = None


class CitiesIn(Body):
    cities: Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Field(min_length=1, examples=[["barcelona"]])]


class ReasonIn(Body):
    reason: Reason = Field(examples=["The purpose does not match the licence of this data."])


class OptionalReason(Body):
    reason: Reason | None = None


class PlanIn(Body):
    plan: str = Field(examples=["standard"])


class KeyIn(Body):
    name: Annotated[str, StringConstraints(max_length=100)] = Field("", examples=["production"])


class RotationIn(Body):
    overlap_hours: float | None = Field(
        None, alias="overlapHours", description="How long the old key keeps working. Default: ICITY_KEY_OVERLAP_HOURS.", examples=[24]
    )


class AccessRequestIn(Body):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={"examples": [{"app": 1, "informationSystem": "london/parking", "purpose": "Show free parking spaces near the user."}]},
    )
    app: RowId
    information_system: Annotated[str, StringConstraints(max_length=140)] = Field(alias="informationSystem")
    purpose: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000)]
    offer_version: int | str | None = Field(
        None, alias="offerVersion", examples=[1],
        description="The version of the IS's offer the app accepts with its request; needed when the IS is priced (else 402 `offer-not-accepted`).",
    )  # fmt: skip


# ---- responses --------------------------------------------------------------------


class Accepted(BaseModel):
    model_config = example({"detail": "If the address can be used, a mail is on its way to it."})
    detail: str


class Verified(BaseModel):
    model_config = example({"email": "ada@analytical.example", "status": "pending"})
    email: str
    status: str


class UserPublic(BaseModel):
    model_config = example(
        {
            "id": 7,
            "email": "ada@analytical.example",
            "name": "Ada Lovelace",
            "phone": None,
            "role": "developer",
            "status": "approved",
            "organisation": {"id": 3, "name": "Analytical Engines SL"},
            "cities": [],
            "owners": [],
            "emailVerifiedAt": "2026-11-25T09:12:00+00:00",
            "createdAt": "2026-11-25T09:10:00+00:00",
        }
    )
    id: int
    email: str
    name: str
    phone: str | None
    role: str
    status: str
    organisation: dict | None
    cities: list[str]
    owners: list[str]
    emailVerifiedAt: str | None
    createdAt: str


class SessionOut(BaseModel):
    model_config = example(
        {"token": "ics_3q2…", "expiresAt": "2026-11-25T21:10:00+00:00", "user": UserPublic.model_config["json_schema_extra"]["examples"][0]}
    )
    token: str = Field(description="Send as `Authorization: Bearer <token>`; also set as the `icity_session` cookie.")
    expiresAt: datetime
    user: UserPublic


class AppPublic(BaseModel):
    model_config = example(
        {
            "id": 1,
            "name": "BreatheEasy",
            "description": "Air quality near you.",
            "functionalities": ["live air quality map"],
            "advantages": ["works in every iCity city"],
            "platforms": [{"platform": "android", "url": "https://play.example/breatheeasy"}],
            "entityTypes": ["AirQualityObserved"],
            "organisation": 3,
            "plan": "free",
            "status": "active",
            "certification": "certified",
            "createdAt": "2026-11-25T09:20:00+00:00",
            "updatedAt": "2026-11-25T09:20:00+00:00",
        }
    )
    id: int
    name: str
    description: str
    functionalities: list[str]
    advantages: list[str]
    platforms: list[dict]
    entityTypes: list[str]
    organisation: int
    plan: str
    status: str
    certification: str = Field(description="draft, submitted, certified or returned: only certified apps are in the app portal")
    createdAt: str
    updatedAt: str


KEY_EXAMPLE = {
    "id": 4,
    "name": "production",
    "prefix": "9f1c2a7b",
    "createdAt": "2026-11-25T09:21:00+00:00",
    "lastUsedAt": None,
    "expiresAt": None,
    "revokedAt": None,
    "active": True,
}


class KeyPublic(BaseModel):
    model_config = example(KEY_EXAMPLE)
    id: int
    name: str
    prefix: str
    createdAt: str
    lastUsedAt: str | None
    expiresAt: str | None
    revokedAt: str | None
    active: bool


class NewKeyOut(KeyPublic):
    model_config = example({**KEY_EXAMPLE, "key": "ick_9f1c2a7b_…"})
    key: str = Field(description="The secret, shown this once only: store it now.")
    replaces: dict | None = Field(None, description="After a rotation: the old key and when it stops working.")


class AccessRequestPublic(BaseModel):
    model_config = example(
        {
            "id": 12,
            "app": {"id": 1, "name": "BreatheEasy", "organisation": 3, "organisationName": "Analytical Engines SL"},
            "informationSystem": "london/parking",
            "purpose": "Show free parking spaces near the user.",
            "status": "approved",
            "requestedAt": "2026-11-25T09:30:00+00:00",
            "decidedAt": "2026-11-25T10:02:00+00:00",
            "reason": None,
            "revokedAt": None,
        }
    )
    id: int
    app: dict
    informationSystem: str
    purpose: str
    status: str
    requestedAt: str
    decidedAt: str | None
    reason: str | None
    revokedAt: str | None
