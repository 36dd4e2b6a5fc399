"""Request bodies of the city network's writes: a new (prospect) city, a change of level,
an engagement action.

They check shapes and lengths only; services/cities decides who may write and what a
city, a level change or an action may be (evidence kinds, dates, the opening rule), so
its refusals read the same wherever the request came from."""

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from icity.db.models import utctoday

Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Long = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
# a city's id goes into its entities' ids (urn:ngsi-ld:<Type>:<city>:<local id>) and into URLs
CityId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]


class CityIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"id": "oulu", "name": "Oulu", "country": "FI", "lon": 25.47, "lat": 65.01, "bbox": [25.2, 64.9, 25.8, 65.1]}
            ]
        },
    )
    id: CityId = Field(description="Lower-case letters, digits and hyphens, e.g. reggio-emilia.")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    country: Country = Field(description="ISO 3166-1 alpha-2 code.")
    lon: float = Field(description="The centre, WGS84 degrees.")
    lat: float
    bbox: list[float] = Field(description="[min lon, min lat, max lon, max lat] around the centre.")


class LevelChangeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "level": "pilot",
                    "effectiveOn": "2014-09-01",
                    "evidenceKind": "technical_trial",
                    "evidence": "City Agenda trial with the Citilab living lab",
                }
            ]
        },
    )
    level: Short
    effective_on: date | None = Field(None, alias="effectiveOn", description="Default: today (UTC).")
    evidence_kind: Short = Field(alias="evidenceKind")
    evidence: Long = ""

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of services.cities.change_level."""
        return {
            "to_level": self.level,
            "effective_on": self.effective_on or utctoday(),
            "evidence_kind": self.evidence_kind,
            "evidence": self.evidence,
        }


class EngagementActionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "kind": "presentation",
                    "title": "Platform presentation to the smart-city team",
                    "happenedOn": "2014-06-12",
                    "outcome": "Interested in opening its WiFi hotspots",
                    "nextStep": "Send the letter of commitment",
                    "nextStepDue": "2014-07-15",
                }
            ]
        },
    )
    kind: Short
    title: Short = ""
    happened_on: date = Field(alias="happenedOn")
    outcome: Long = ""
    next_step: Short | None = Field(None, alias="nextStep")
    next_step_due: date | None = Field(None, alias="nextStepDue")

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of services.cities.add_engagement_action (named as its fields)."""
        return self.model_dump()
