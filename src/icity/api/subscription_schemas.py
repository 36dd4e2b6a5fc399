"""Request bodies and response shapes of subscriptions and their webhook delivery log.

Bodies check the JSON types; the services check the rest (entity types known, q and
area readable, the IS and city known, the expiry in the future) and name each bad field.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from icity.api.access_schemas import Body
from icity.api.schemas import UtcTime, example

Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
TypeName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
AttributeName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class Area(Body):
    bbox: str | None = Field(None, description="minLon,minLat,maxLon,maxLat", examples=["2.15,41.37,2.20,41.40"])
    near: str | None = Field(None, description="lat,lon,radiusInMetres", examples=["41.3874,2.1686,500"])


class SelectionFields(Body):
    entityTypes: Annotated[list[TypeName], Field(max_length=50)] | None = Field(
        None, description="Smart Data Models types; empty or absent: any type."
    )
    city: Annotated[str, StringConstraints(max_length=64)] | None = None
    informationSystem: Annotated[str, StringConstraints(max_length=140)] | None = Field(None, examples=["barcelona/air-quality"])
    q: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, description="Attribute filter, as on GET /entities: `no2>40;airQualityLevel==moderate`."
    )
    area: Area | None = Field(None, description="Only entities inside a bounding box, or near a point.")
    attributes: Annotated[list[AttributeName], Field(max_length=100)] | None = Field(
        None, description="Attributes the notifications carry (with id, type, city, IS and times); empty: all."
    )
    throttlingS: int | None = Field(None, description="At least this many seconds between two notifications.")
    expiresAt: UtcTime | None = Field(None, description="Nothing is notified after this time.")
    endpoint: Url | None = Field(None, description="Webhook URL (http or https); absent: read it as a stream only.")


class SubscriptionIn(SelectionFields):
    model_config = example(
        {
            "name": "NO2 alerts",
            "entityTypes": ["AirQualityObserved"],
            "q": "no2>40",
            "area": {"near": "41.3874,2.1686,2000"},
            "attributes": ["no2", "airQualityLevel"],
            "throttlingS": 60,
            "expiresAt": "2027-01-01T00:00:00Z",
            "endpoint": "https://breatheeasy.example/hooks/icity",
        }
    )
    appId: int | None = Field(
        None, description="The app subscribing: implied by an API key; required with a developer's session."
    )
    name: Name = ""


class SubscriptionChanges(SelectionFields):
    model_config = example({"status": "paused"})
    name: Name | None = None
    status: Literal["active", "paused"] | None = Field(None, description="Pause or resume.")


class SubscriptionPublic(BaseModel):
    model_config = example(
        {
            "id": 7,
            "app": 3,
            "name": "NO2 alerts",
            "entityTypes": ["AirQualityObserved"],
            "city": None,
            "informationSystem": None,
            "q": "no2>40",
            "area": {"near": "41.3874,2.1686,2000"},
            "attributes": ["no2", "airQualityLevel"],
            "throttlingS": 60,
            "expiresAt": "2027-01-01T00:00:00+00:00",
            "endpoint": "https://breatheeasy.example/hooks/icity",
            "status": "active",
            "expired": False,
            "lastNotifiedAt": None,
            "createdAt": "2026-11-25T09:00:00+00:00",
            "standard": None,
            "uri": None,
        }
    )
    id: int
    app: int
    name: str
    entityTypes: list[str]
    city: str | None
    informationSystem: str | None
    q: str | None
    area: dict[str, str] | None
    attributes: list[str]
    throttlingS: int
    expiresAt: str | None
    endpoint: str | None
    status: str = Field(description="active or paused")
    expired: bool
    lastNotifiedAt: str | None
    createdAt: str
    standard: str | None = Field(None, description="Made through a standard's API (ngsi-ld), which shows and changes it its own way.")
    uri: str | None = Field(None, description="Its id in that standard, e.g. urn:ngsi-ld:Subscription:7.")


class NewSubscriptionOut(SubscriptionPublic):
    secret: str = Field(
        description="Signs each webhook body (X-iCity-Signature): shown in this answer only.",
        examples=["whsec_5mJ0u6…"],
    )


class DeliveryPublic(BaseModel):
    model_config = example(
        {
            "id": 912,
            "subscription": 7,
            "change": 40211,
            "entityId": "urn:ngsi-ld:AirQualityObserved:barcelona:eixample",
            "informationSystem": "barcelona/air-quality",
            "status": "pending",
            "attempts": 2,
            "lastStatusCode": 503,
            "lastError": "HTTP 503: Service Unavailable",
            "createdAt": "2026-11-25T09:00:00+00:00",
            "nextAttemptAt": "2026-11-25T09:00:06+00:00",
            "deliveredAt": None,
        }
    )
    id: int
    subscription: int
    change: int
    entityId: str
    informationSystem: str
    status: str = Field(description="pending, delivered, dead (a dead letter) or withheld (the app may no longer read the IS)")
    attempts: int
    lastStatusCode: int | None
    lastError: str | None
    createdAt: str
    nextAttemptAt: str | None
    deliveredAt: str | None
