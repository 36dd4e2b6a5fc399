"""Bodies and answers of /api/v1/projects: public-interest projects, their cities and apps.

Bodies check shapes and lengths only; services/projects decides who may change a project and
what its cities and apps may be, so its refusals read the same from the API and the portal."""

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from icity.api.schemas import RowId, example

Slug = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Long = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
TypeName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
CityRef = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
EntityTypes = Annotated[list[TypeName], Field(max_length=50)]


class ProjectIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "slug": "clean-air-for-schools",
                    "name": "Clean air for schools",
                    "description": "Air quality around schools, and the walking routes that avoid the worst of it.",
                    "entityTypes": ["AirQualityObserved"],
                    "city": "barcelona",
                }
            ]
        },
    )
    slug: Slug = Field(description="Lower-case letters, digits and hyphens: the project's URL.")
    name: Name
    description: Long = ""
    entity_types: EntityTypes = Field(alias="entityTypes", description="Smart Data Model types the goal needs.")
    city: CityRef | None = Field(
        None, description="Its first member city: required from a city admin (one of their cities), optional for the platform admin."
    )
    joined_on: date | None = Field(None, alias="joinedOn", description="When the first city joined; default: today (UTC).")

    def arguments(self) -> dict[str, Any]:
        return self.model_dump()


class ProjectChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={"examples": [{"entityTypes": ["AirQualityObserved", "NoiseLevelObserved"]}]},
    )
    name: Name | None = None
    description: Long | None = None
    entity_types: EntityTypes | None = Field(None, alias="entityTypes")

    def arguments(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class MemberIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={"examples": [{"city": "genova", "role": "member", "joinedOn": "2014-10-01"}]},
    )
    city: CityRef
    role: Annotated[str, StringConstraints(max_length=16)] = Field(
        "member", description="member (a city of the network), or invited (any city, prospects included)"
    )
    joined_on: date | None = Field(None, alias="joinedOn", description="Default: today (UTC).")

    def arguments(self) -> dict[str, Any]:
        return self.model_dump()


class PartnerIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_extra={"examples": [{"owner": "tper", "joinedOn": "2014-11-01"}]}
    )
    owner: CityRef = Field(description="An infrastructure owner that is a member of the network.")
    joined_on: date | None = Field(None, alias="joinedOn", description="Default: today (UTC).")

    def arguments(self) -> dict[str, Any]:
        return self.model_dump()


class AttachedAppIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"app": 7}]})
    app: RowId = Field(description="A certified app of your organisation.")


class ProjectSummary(BaseModel):
    model_config = example(
        {
            "slug": "clean-air-for-schools",
            "name": "Clean air for schools",
            "description": "Air quality around schools.",
            "entityTypes": ["AirQualityObserved"],
            "createdBy": "coordinator@icity.example",
            "createdAt": "2026-12-06T02:00:00+00:00",
            "memberCount": 4,
            "invitedCount": 1,
            "partnerCount": 0,
            "appCount": 1,
        }
    )
    slug: str
    name: str
    description: str
    entityTypes: list[str]
    createdBy: str
    createdAt: str
    memberCount: int | None = None
    invitedCount: int | None = None
    partnerCount: int | None = None
    appCount: int | None = None


READY_CITY = {
    "city": "genova",
    "name": "Genova",
    "level": "consortium",
    "role": "member",
    "joinedOn": "2014-10-01",
    "opens": ["AirQualityObserved"],
    "workList": [
        {"entityType": "NoiseLevelObserved", "status": "missing", "neededBy": ["project", "BreatheEasy"], "informationSystems": []}
    ],
    "canRun": [],
}


class ProjectDetail(ProjectSummary):
    model_config = example(
        {
            "slug": "clean-air-for-schools",
            "name": "Clean air for schools",
            "description": "Air quality around schools.",
            "entityTypes": ["AirQualityObserved", "NoiseLevelObserved"],
            "createdBy": "coordinator@icity.example",
            "createdAt": "2026-12-06T02:00:00+00:00",
            "members": [READY_CITY],
            "invited": [],
            "partners": [
                {
                    "owner": "tper",
                    "name": "TPER",
                    "kind": "transport_operator",
                    "joinedOn": "2014-11-01",
                    "informationSystems": [
                        {"id": "bologna/tper-air", "name": "TPER bus-stop air sensors", "city": "bologna", "status": "open",
                         "accessPolicy": "public", "entityTypes": ["AirQualityObserved"], "servesProject": ["AirQualityObserved"]}
                    ],
                }
            ],
            "apps": [
                {
                    "id": 1,
                    "name": "BreatheEasy",
                    "description": "Air quality near you.",
                    "developer": {"id": 3, "name": "Analytical Engines SL"},
                    "entityTypes": ["AirQualityObserved", "NoiseLevelObserved"],
                    "certification": "certified",
                    "status": "active",
                    "attachedAt": "2026-12-06T02:10:00+00:00",
                    "runsIn": [],
                    "cities": [
                        {
                            "city": "genova",
                            "canRun": False,
                            "entityTypes": [
                                {"entityType": "AirQualityObserved", "status": "ready", "informationSystems": []},
                                {"entityType": "NoiseLevelObserved", "status": "missing", "informationSystems": []},
                            ],
                        }
                    ],
                }
            ],
        }
    )
    members: list[dict] = Field(
        description="Member cities, each with the entity types it opens, its work list (types it does not open yet: "
        "`not-opened` when an IS of it serves the type but is not open, `missing` when none does) and the apps it can run."
    )
    invited: list[dict] = Field(description="Invited cities (prospects among them), with the same readiness.")
    partners: list[dict] = Field(
        description="Infrastructure owners working on the project, with the IS they open (those serving what the project "
        "needs first). Their IS lie in cities and count in those cities' readiness."
    )
    apps: list[dict] = Field(
        description="Attached apps; per city, per entity type: ready, needs-access (opened, but the app needs an access "
        "grant), not-opened or missing. `runsIn`: the cities that open every type the app needs."
    )


class ProjectMemberOut(BaseModel):
    model_config = example({"project": "clean-air-for-schools", "city": "genova", "role": "member", "joinedOn": "2014-10-01"})
    project: str
    city: str
    role: str
    joinedOn: str


class ProjectPartnerOut(BaseModel):
    model_config = example({"project": "clean-air-for-schools", "owner": "tper", "joinedOn": "2014-11-01"})
    project: str
    owner: str
    joinedOn: str


class ProjectAppOut(BaseModel):
    model_config = example({"project": "clean-air-for-schools", "app": 7, "attachedAt": "2026-12-06T02:10:00+00:00"})
    project: str
    app: int
    attachedAt: str
