"""Request bodies of the city network's writes: a change of level, an engagement action.

They check shapes and lengths only; services/cities decides what a level change
or an action may be (evidence kinds, dates, the opening rule), so its refusals
read the same wherever the request came from."""

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Long = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]


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
            "effective_on": self.effective_on or date.today(),
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
