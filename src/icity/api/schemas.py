"""Response shapes, for the OpenAPI document. Routes render service results
directly (fast); these models document them, with examples."""

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from annotated_types import Interval
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from icity.services.filters import to_utc
from icity.services.messages import BODY_MAX, RECIPIENTS_MAX, SUBJECT_MAX

T = TypeVar("T")

MAX_ID = 2**31 - 1  # the largest INTEGER, the type of row ids on PostgreSQL
MAX_BIG_ID = 2**63 - 1  # the largest BIGINT: ids of the change log and of webhook deliveries
RowId = Annotated[int, Interval(ge=1, le=MAX_ID)]
"""The one type of every integer id the API reads (path, query or body): an id no row can
have is a 400 naming it, never sent to the database (PostgreSQL fails on an INTEGER out of range)."""
BigRowId = Annotated[int, Interval(ge=1, le=MAX_BIG_ID)]
"""The same for the rows counted in BIGINT (changes, deliveries)."""

UtcTime = Annotated[AwareDatetime, AfterValidator(to_utc)]
"""A time read from a request, with its zone, converted to UTC (filters.to_utc: one rule for
every time on the wire); one that has no UTC equivalent is a 400 naming it."""
UtcTimeOrNaive = Annotated[datetime, AfterValidator(to_utc)]
"""The same, a time without a zone taken as UTC."""


def example(value: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [value]}, populate_by_name=True)


class Problem(BaseModel):
    model_config = example(
        {
            "type": "https://icity.example/problems/bad-parameter",
            "title": "Bad parameter",
            "status": 400,
            "detail": "bbox must be minLon,minLat,maxLon,maxLat in WGS84 degrees with min ≤ max",
            "instance": "/api/v1/entities",
            "param": "bbox",
            "errors": [{"path": "bbox", "detail": "bbox must be 4 numbers separated by commas"}],
        }
    )
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    param: str | None = None
    errors: list[dict[str, str]] | None = None


class Point(BaseModel):
    type: str = "Point"
    coordinates: list[float]


class CityPublic(BaseModel):
    model_config = example(
        {
            "id": "cornella",
            "name": "Cornellà de Llobregat",
            "country": "ES",
            "level": "pilot",
            "location": {"type": "Point", "coordinates": [2.0737, 41.3550]},
            "bbox": [2.05, 41.34, 2.10, 41.37],
            "openedInformationSystems": 1,
            "openedByCategory": {"e-government": 1},
        }
    )
    id: str
    name: str
    country: str
    level: str = Field(description="prospect, sig, pilot or consortium")
    location: Point
    bbox: list[float]
    openedInformationSystems: int
    openedByCategory: dict[str, int]


class LevelChangePublic(BaseModel):
    model_config = example(
        {
            "from": "sig",
            "to": "pilot",
            "effectiveOn": "2014-09-01",
            "evidenceKind": "technical_trial",
            "evidence": "City Agenda trial with the Citilab living lab",
            "recordedBy": "network coordinator",
            "recordedAt": "2014-09-02T09:00:00+00:00",
        }
    )
    from_: str = Field(alias="from")
    to: str
    effectiveOn: str
    evidenceKind: str
    evidence: str
    recordedBy: str
    recordedAt: str


class EngagementActionPublic(BaseModel):
    model_config = example(
        {
            "id": 3,
            "city": "manchester",
            "kind": "event",
            "title": "FIA event, Athens",
            "happenedOn": "2014-03-18",
            "outcome": "Contact made with Manchester and the Citadel on the move project",
            "nextStep": "Send the letter of commitment",
            "nextStepDue": "2014-04-30",
            "nextStepDone": True,
            "overdue": False,
        }
    )
    id: int
    city: str
    kind: str
    title: str
    happenedOn: str
    outcome: str
    nextStep: str | None
    nextStepDue: str | None
    nextStepDone: bool
    overdue: bool


class CityDetail(CityPublic):
    levelHistory: list[LevelChangePublic]
    engagementActions: list[EngagementActionPublic]


class FollowUp(BaseModel):
    model_config = example(
        {
            "city": "torino",
            "name": "Torino",
            "level": "sig",
            "daysOverdue": 45,
            "overdueActions": [
                {
                    "id": 12,
                    "city": "torino",
                    "kind": "letter_signed",
                    "title": "Letter of commitment signed",
                    "happenedOn": "2014-05-20",
                    "outcome": "Torino joins the Special Interest Group",
                    "nextStep": "Propose a technical trial of the agenda",
                    "nextStepDue": "2014-09-30",
                    "nextStepDone": False,
                    "overdue": True,
                }
            ],
        }
    )
    city: str
    name: str
    level: str
    daysOverdue: int
    overdueActions: list[EngagementActionPublic]


class CategoryPublic(BaseModel):
    model_config = example({"id": "environment", "name": "Environment", "description": "Air quality, noise, water…"})
    id: str
    name: str
    description: str


class ProviderPublic(BaseModel):
    model_config = example({"id": 1, "name": "Ajuntament de Barcelona", "kind": "operator", "url": "https://ajuntament.barcelona.cat"})
    id: int
    name: str
    kind: str
    url: str | None


class InformationSystemPublic(BaseModel):
    model_config = example(
        {
            "id": "barcelona/air-quality",
            "city": "barcelona",
            "publisher": {"kind": "city", "id": "barcelona", "name": "Barcelona"},
            "slug": "air-quality",
            "name": "Air quality monitoring network",
            "description": "Hourly pollutant concentrations from the city's monitoring stations.",
            "category": "environment",
            "status": "open",
            "accessPolicy": "public",
            "validation": "smart-data-models",
            "licence": "CC-BY-4.0",
            "provider": "Ajuntament de Barcelona",
            "documentationUrl": "https://opendata.example/air-quality",
            "entityTypes": ["AirQualityObserved"],
            "propertiesIn": [],
            "propertiesOut": [{"name": "no2", "type": "number", "unit": "µg/m³", "description": "NO2, hourly mean"}],
            "openedAt": "2014-06-01T00:00:00+00:00",
        }
    )
    id: str
    city: str = Field(description="Where it lies: apps find it there.")
    publisher: dict = Field(description="Who publishes it: {kind: city|owner, id, name}.")
    slug: str
    name: str
    description: str
    category: str
    status: str
    accessPolicy: str
    validation: str
    licence: str
    provider: str
    documentationUrl: str | None
    entityTypes: list[str]
    propertiesIn: list[dict[str, Any]]
    propertiesOut: list[dict[str, Any]] = Field(
        description="What it returns: each property's name, type, description and, optionally, unit "
        "(shown beside its values where the Smart Data Model gives none)."
    )
    openedAt: str | None
    openingNotice: dict[str, Any] | None = Field(
        None, description="To its manager: an owner's request to open it, pending or objected by its city."
    )


class InformationSystemDetail(InformationSystemPublic):
    providers: list[ProviderPublic]


class DevicePublic(BaseModel):
    model_config = example(
        {
            "id": "noise-042",
            "informationSystem": "barcelona/noise",
            "provider": 2,
            "name": "Sonometer Pl. Catalunya",
            "deviceType": "sonometer",
            "location": {"type": "Point", "coordinates": [2.1700, 41.3870]},
            "entity": "urn:ngsi-ld:NoiseLevelObserved:barcelona:noise-042",
            "commands": [
                {
                    "name": "setReportingPeriod",
                    "description": "Seconds between two reports",
                    "parameters": {
                        "type": "object",
                        "properties": {"seconds": {"type": "integer", "minimum": 60, "maximum": 3600}},
                        "required": ["seconds"],
                    },
                }
            ],
            "commandUrl": None,
            "reportingPeriodSeconds": 300,
            "lastSeenAt": "2026-11-24T10:00:00+00:00",
            "silent": False,
            "rejectedMessages": 1,
            "lastRejection": "no2: must be a number",
            "lastRejectionAt": "2026-11-24T09:55:00+00:00",
        }
    )
    id: str
    informationSystem: str
    provider: int | None
    name: str
    deviceType: str
    location: Point | None
    entity: str | None
    commands: list[dict[str, Any]] = Field(
        description="Commands it accepts (properties IN): name, description, parameters (JSON Schema of the parameters object)."
    )
    commandUrl: str | None = Field(None, description="Where commands go by HTTP POST; null: over MQTT (…/<device>/cmd).")
    reportingPeriodSeconds: int | None
    lastSeenAt: str | None = Field(description="Time of the latest observation pushed for it.")
    silent: bool = Field(description="It declared a reporting period and has sent nothing for longer than that.")
    rejectedMessages: int = Field(0, description="Messages pushed for it over MQTT and refused (malformed, unknown attribute, bad token…).")
    lastRejection: str | None = Field(None, description="Why the latest refused message was refused.")
    lastRejectionAt: str | None = Field(None, description="When the latest refused message arrived.")


class EntityPublic(BaseModel):
    """NGSI-LD keyValues-like: the Smart Data Model attributes sit beside the core members."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "id": "urn:ngsi-ld:AirQualityObserved:barcelona:eixample",
                    "type": "AirQualityObserved",
                    "city": "barcelona",
                    "informationSystem": "barcelona/air-quality",
                    "no2": 41.2,
                    "airQualityLevel": "moderate",
                    "location": {"type": "Point", "coordinates": [2.1538, 41.3853]},
                    "observedAt": "2024-05-01T10:00:00+00:00",
                    "modifiedAt": "2024-05-01T10:00:05+00:00",
                }
            ]
        },
    )
    id: str
    type: str
    city: str
    informationSystem: str
    location: dict[str, Any] | None
    observedAt: str | None
    modifiedAt: str
    distance: float | None = Field(None, description="Metres from the `near` point, when `near` is given.")


class Page(BaseModel, Generic[T]):
    items: list[T]
    nextCursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")
    totalCount: int | None = Field(None, description="Only with count=true.")


class HistoryValue(BaseModel):
    attribute: str
    observedAt: str
    value: Any


class HistoryBucket(BaseModel):
    start: str
    value: float | int | None
    count: int


class History(BaseModel):
    model_config = example(
        {
            "id": "urn:ngsi-ld:AirQualityObserved:barcelona:eixample",
            "type": "AirQualityObserved",
            "informationSystem": "barcelona/air-quality",
            "attribute": "no2",
            "aggregate": "avg",
            "interval": 3600,
            "buckets": [{"start": "2024-05-01T10:00:00+00:00", "value": 41.5, "count": 6}],
        }
    )
    id: str
    type: str
    informationSystem: str = Field(description="The information system the entity belongs to.")
    attribute: str | None
    values: list[HistoryValue] | None = Field(None, description="Raw values (without aggregate).")
    nextCursor: str | None = None
    aggregate: str | None = None
    interval: int | None = Field(None, description="Bucket length in seconds.")
    buckets: list[HistoryBucket] | None = Field(None, description="Aggregated values (with aggregate).")


# ---- messages and audit ---------------------------------------------------------

class MessageToSend(BaseModel):
    """Request body of POST /messages: either `to` or `toAllDevelopers`."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {
                    "to": [12, 14],
                    "subject": "Parking data of Alpha: new attributes",
                    "body": "From 1 June the parking IS also serves availableSpotNumber per level.",
                },
                {"toAllDevelopers": True, "subject": "Maintenance on Sunday", "body": "The API is read-only 06:00–08:00 UTC."},
            ]
        },
    )
    to: list[RowId] | None = Field(
        None, min_length=1, max_length=RECIPIENTS_MAX, description="User ids of the recipients."
    )
    toAllDevelopers: bool = Field(False, description="Send to every approved developer (platform admin only).")
    subject: str = Field(min_length=1, max_length=SUBJECT_MAX, description="One line.")
    body: str = Field(min_length=1, max_length=BODY_MAX, description="Plain text.")


class MessagesSent(BaseModel):
    model_config = example({"sent": 2, "recipients": [12, 14], "messageIds": [301, 302]})
    sent: int = Field(description="Number of messages sent, one per recipient.")
    recipients: list[int]
    messageIds: list[int]


class MessageSender(BaseModel):
    id: int
    name: str
    role: str


class MessagePublic(BaseModel):
    model_config = example(
        {
            "id": 301,
            "subject": "Access to alpha/parking approved",
            "body": "Your app Park&Go may now read alpha/parking.",
            "sender": {"id": 3, "name": "Alpha mobility office", "role": "city_admin"},
            "createdAt": "2024-05-02T09:30:00+00:00",
            "read": False,
            "readAt": None,
        }
    )
    id: int
    subject: str
    body: str
    sender: MessageSender | None = Field(description="null: sent by the platform itself.")
    createdAt: str
    read: bool
    readAt: str | None


class Inbox(BaseModel):
    items: list[MessagePublic]
    nextCursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")
    unreadCount: int = Field(description="Messages not yet read, in the whole inbox.")


class AuditEventPublic(BaseModel):
    model_config = example(
        {
            "id": 57,
            "at": "2024-05-02T09:30:00+00:00",
            "actor": "mobility@alpha.example",
            "actorId": 3,
            "action": "access.approved",
            "targetType": "access_request",
            "targetId": "18",
            "city": "alpha",
            "details": {"app": 7, "informationSystem": "alpha/parking"},
        }
    )
    id: int
    at: str
    actor: str = Field(description="Email of the user who acted, or `cli` for the command line.")
    actorId: int | None
    action: str
    targetType: str
    targetId: str
    city: str | None
    details: dict[str, Any]


class UsageRow(BaseModel):
    app: int
    appName: str
    informationSystem: str | None = Field(description="null for calls that served no information system's data.")
    day: str = Field(description="UTC day, YYYY-MM-DD.")
    calls: int
    errors: int = Field(description="Calls answered with a status ≥ 400.")
    bytesOut: int = Field(description="Response body bytes; a call serving several systems splits them evenly.")


class UsageTotals(BaseModel):
    calls: int
    errors: int
    bytesOut: int


class UsageReport(BaseModel):
    model_config = example(
        {
            "items": [
                {
                    "app": 7,
                    "appName": "BreatheBCN",
                    "informationSystem": "barcelona/air-quality",
                    "day": "2024-05-01",
                    "calls": 1250,
                    "errors": 3,
                    "bytesOut": 4718230,
                }
            ],
            "nextCursor": None,
            "totals": {"calls": 1250, "errors": 3, "bytesOut": 4718230},
        }
    )
    items: list[UsageRow]
    nextCursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")
    totals: UsageTotals = Field(description="Sums over every row matching the filters, not only this page.")
