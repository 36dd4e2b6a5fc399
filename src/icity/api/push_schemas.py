"""Request bodies and response shapes of push: observations and provider tokens."""

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from icity.api.access_schemas import Body
from icity.api.schemas import RowId, UtcTime, example


class MeasureIn(Body):
    device: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(examples=["aq-01"])
    observedAt: UtcTime = Field(description="When the device measured, with a time zone.")
    values: dict[str, Any] = Field(
        description="Attribute → value, named as the entity's Smart Data Model names them.", examples=[{"no2": 41.2}]
    )


class PushIn(Body):
    model_config = example(
        {
            "measures": [
                {"device": "aq-01", "observedAt": "2026-11-24T10:00:00Z", "values": {"no2": 41.2, "pm10": 18.5}},
                {"device": "aq-02", "observedAt": "2026-11-24T10:00:00Z", "values": {"no2": 27.0}},
            ]
        }
    )
    measures: list[MeasureIn] = Field(min_length=1, description="Up to 10,000 observations (attribute values) in all.")


class PushOut(BaseModel):
    model_config = example({"observations": 3, "devices": 2, "entitiesUpdated": 2})
    observations: int = Field(description="Attribute values stored (one already stored for the same device, attribute and time is kept as it was).")
    devices: int
    entitiesUpdated: int = Field(description="Entities whose current state moved to a newer observation.")


class ProviderTokenIn(Body):
    provider: RowId = Field(description="One of the IS's providers (GET …/providers).", examples=[3])
    name: Annotated[str, StringConstraints(max_length=200)] = Field("", examples=["gateway Zona Franca"])


class ProviderTokenPublic(BaseModel):
    model_config = example(
        {
            "id": 4,
            "informationSystem": "barcelona/air-quality",
            "provider": 3,
            "name": "gateway Zona Franca",
            "prefix": "9f2c61d0",
            "createdAt": "2026-11-24T09:00:00+00:00",
            "lastUsedAt": None,
            "active": True,
        }
    )
    id: int
    informationSystem: str
    provider: int
    name: str
    prefix: str
    createdAt: str
    lastUsedAt: str | None
    active: bool


class NewProviderTokenOut(ProviderTokenPublic):
    token: str = Field(description="The secret: shown this once, stored only as a digest.")
