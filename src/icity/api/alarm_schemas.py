"""Request bodies and response shapes of alarms: a city admin's rules and the alarms they raise."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from icity.api.access_schemas import Body, Name
from icity.api.schemas import example

Severity = Literal["informational", "low", "medium", "high", "critical"]


class AlarmRuleIn(Body):
    model_config = example(
        {
            "name": "NO2 above the hourly limit",
            "kind": "threshold",
            "entityType": "AirQualityObserved",
            "attribute": "no2",
            "operator": "above",
            "threshold": 200,
            "durationS": 3600,
            "severity": "high",
        }
    )
    name: Name
    kind: Literal["threshold", "silent"] = Field(
        description="`threshold`: an attribute above or below a value for `durationS`; "
        "`silent`: a device of the IS sends nothing for `durationS` past its reporting period."
    )
    entityType: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        None, description="Threshold rules: one of the types the IS serves; omitted, each of them that has `attribute`."
    )
    attribute: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        None, description="Threshold rules: a numeric attribute, named as the Smart Data Model names it."
    )
    operator: Literal["above", "below"] | None = None
    threshold: float | None = None
    durationS: int = Field(0, ge=0, description="How long the condition must hold before the alarm is raised.")
    severity: Severity = Field("medium", description="As the Smart Data Models Alert says it.")
    enabled: bool = True


class AlarmRulePublic(BaseModel):
    model_config = example(
        {
            "id": 3,
            "informationSystem": "barcelona/air-quality",
            "name": "NO2 above the hourly limit",
            "kind": "threshold",
            "entityType": "AirQualityObserved",
            "attribute": "no2",
            "operator": "above",
            "threshold": 200.0,
            "durationS": 3600,
            "severity": "high",
            "enabled": True,
            "createdAt": "2026-11-25T09:00:00+00:00",
        }
    )
    id: int
    informationSystem: str
    name: str
    kind: str
    entityType: str | None
    attribute: str | None
    operator: str | None
    threshold: float | None
    durationS: int
    severity: str
    enabled: bool
    createdAt: str


class AcknowledgementIn(Body):
    model_config = example({"note": "Roadworks on Aragó: traffic police informed"})
    note: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        description="What the operator saw or does about it; kept with the alarm and in the audit log."
    )


class AcknowledgementPublic(BaseModel):
    by: str | None = Field(description="The email of the operator who acknowledged it.")
    at: str
    note: str | None


class AlarmPublic(BaseModel):
    model_config = example(
        {
            "id": 12,
            "rule": 3,
            "ruleName": "NO2 above the hourly limit",
            "severity": "high",
            "entity": "urn:ngsi-ld:AirQualityObserved:barcelona:eixample",
            "alert": "urn:ngsi-ld:Alert:barcelona:3-eixample",
            "state": "raised",
            "since": "2026-11-25T08:00:00+00:00",
            "raisedAt": "2026-11-25T09:00:00+00:00",
            "clearedAt": None,
            "value": 231.0,
            "acknowledgement": {
                "by": "operator@barcelona.example",
                "at": "2026-11-25T09:05:00+00:00",
                "note": "Roadworks on Aragó: traffic police informed",
            },
        }
    )
    id: int
    rule: int
    ruleName: str
    severity: str
    entity: str = Field(description="The entity watched, or for a silent rule the device's id.")
    alert: str = Field(description="The id of the `Alert` entity that subscriptions are told the raise and clear as.")
    state: str = Field(description="pending (the condition holds, not yet for long enough), raised or cleared.")
    since: str = Field(description="When the condition started to hold (the observation's time).")
    raisedAt: str | None
    clearedAt: str | None
    value: Any = Field(None, description="The value that raised it (threshold rules).")
    acknowledgement: AcknowledgementPublic | None = Field(
        None,
        description="An operator's acknowledgement of this episode of the alarm (null: none yet). It stays when the "
        "alarm clears; a new raise starts an episode without one.",
    )
