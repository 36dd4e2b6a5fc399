"""Request bodies and response shapes of device commands: declaring them, sending them, their way."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from icity.api.access_schemas import Body
from icity.api.schemas import example
from icity.services.command_declarations import MAX_DECLARED
from icity.services.commands import MAX_TTL_S

SET_PERIOD = {
    "name": "setReportingPeriod",
    "description": "Seconds between two reports",
    "parameters": {
        "type": "object",
        "properties": {"seconds": {"type": "integer", "minimum": 60, "maximum": 3600}},
        "required": ["seconds"],
        "additionalProperties": False,
    },
}


class CommandDeclarationIn(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(examples=["setReportingPeriod"])
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object"},
        description="JSON Schema (Draft 2020-12) of the parameters object; references only inside it (#…).",
    )


class DeviceCommandsIn(Body):
    model_config = example({"commands": [SET_PERIOD, {"name": "restart"}], "commandUrl": None})
    commands: list[CommandDeclarationIn] = Field(max_length=MAX_DECLARED, description="Replaces what was declared.")
    commandUrl: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        None, description="The device's HTTP endpoint for commands; null: they go over MQTT to …/<device>/cmd."
    )


class CommandIn(Body):
    model_config = example({"command": "setReportingPeriod", "parameters": {"seconds": 300}, "expiresInS": 120})
    command: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(description="A declared command's name.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Checked against the command's declared schema.")
    expiresInS: int | None = Field(
        None, ge=1, le=MAX_TTL_S, description="Seconds it may wait to be delivered and answered (default: ICITY_COMMAND_TTL_S)."
    )


class CommandPublic(BaseModel):
    model_config = example(
        {
            "id": 31,
            "informationSystem": "barcelona/noise",
            "device": "noise-042",
            "command": "setReportingPeriod",
            "parameters": {"seconds": 300},
            "app": 7,
            "status": "acknowledged",
            "result": "OK",
            "error": None,
            "attempts": 1,
            "createdAt": "2026-11-25T10:00:00+00:00",
            "sentAt": "2026-11-25T10:00:00.120000+00:00",
            "completedAt": "2026-11-25T10:00:00.480000+00:00",
            "expiresAt": "2026-11-25T10:02:00+00:00",
        }
    )
    id: int
    informationSystem: str
    device: str
    command: str
    parameters: dict[str, Any]
    app: int | None = Field(description="The app that sent it; null when a city or platform admin did.")
    status: Literal["pending", "sent", "acknowledged", "failed", "expired"]
    result: Any = Field(description="What the device answered.")
    error: str | None = Field(description="Why it failed or expired, or the last failed attempt while pending.")
    attempts: int = Field(description="Deliveries tried.")
    createdAt: str
    sentAt: str | None
    completedAt: str | None
    expiresAt: str
