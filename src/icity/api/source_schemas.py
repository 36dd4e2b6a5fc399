"""Request bodies and response shapes of opening an IS: registration, status, source
setup, preview and harvest runs. Bodies forbid unknown fields."""

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from icity.api.access_schemas import Body, Name, Text
from icity.api.schemas import example
from icity.services.sources import PREVIEW_DEFAULT, PREVIEW_MAX

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]

CSV_CONNECTOR = {"kind": "csv", "url": "https://opendata.example/qualitat_aire.csv", "delimiter": ";", "encoding": "latin-1"}
CSV_MAPPING = {
    "entityType": "AirQualityObserved",
    "id": {"field": "ESTACIO"},
    "observedAt": {"field": "DATA", "format": "%d/%m/%Y %H:%M", "timezone": "Europe/Madrid"},
    "location": {"x": "UTM_X", "y": "UTM_Y", "crs": "EPSG:25831"},
    "decimalSeparator": ",",
    "attributes": {
        "name": {"field": "NOM"},
        "no2": {"field": "NO2", "type": "number", "unit": {"from": "mg/m3", "to": "ug/m3"}},
    },
}


class SystemIn(Body):
    slug: Slug = Field(description="Unique within the city; the IS id is <city>/<slug>.", examples=["air-quality"])
    name: Name = Field(examples=["Air quality monitoring network"])
    category: str = Field(examples=["environment"])
    entity_types: list[str] = Field(alias="entityTypes", min_length=1, examples=[["AirQualityObserved"]])
    description: Text = ""
    access_policy: str = Field("public", alias="accessPolicy", description="public, registered or approval")
    validation: str = Field(
        "smart-data-models",
        description="smart-data-models: entities must be of the Smart Data Models (types, attributes, ids "
        "urn:ngsi-ld:<Type>:<city>:<local-id>); open: any type, attribute and URI id, for a city bringing its own "
        "models through its own JSON-LD @context (NGSI-LD).",
    )
    licence: Annotated[str, StringConstraints(max_length=200)] = ""
    provider: Annotated[str, StringConstraints(max_length=200)] = Field("", description="Who runs the source system.")
    documentation_url: Annotated[str, StringConstraints(max_length=500)] | None = Field(None, alias="documentationUrl")


class StatusIn(Body):
    status: str = Field(description="draft, trial, open or retired", examples=["trial"])


class RetentionIn(Body):
    model_config = example({"observationRetentionDays": 365})
    observation_retention_days: int | None = Field(
        alias="observationRetentionDays", ge=1, le=36_500, strict=True,
        description="Days of observation history kept (older observations are deleted hourly); null: keep everything.",
    )  # fmt: skip


class RetentionPublic(BaseModel):
    model_config = example({"informationSystem": "barcelona/air-quality", "observationRetentionDays": 365})
    informationSystem: str
    observationRetentionDays: int | None


class SourceIn(Body):
    model_config = example({"connector": CSV_CONNECTOR, "mapping": CSV_MAPPING, "schedule": "15m", "retireMissing": True})
    connector: dict[str, Any] = Field(
        description="`kind` (csv, json, geojson, icalendar, gtfs, open311, ngsi-v2, ngsi-ld), `url`, and the kind's settings."
    )
    mapping: dict[str, Any] | None = Field(
        None, description="Source fields → Smart Data Model attributes. Omit for kinds with a standard model (icalendar, gtfs, open311)."
    )
    schedule: Annotated[str, StringConstraints(max_length=100)] | None = Field(
        None, description="'15m', '1h', '1d' or a cron expression in UTC; none: runs only when asked."
    )
    retire_missing: bool = Field(True, alias="retireMissing", description="Mark entities gone from the source as retired.")


class PreviewIn(Body):
    model_config = example({"connector": CSV_CONNECTOR, "mapping": CSV_MAPPING, "limit": 5})
    connector: dict[str, Any] | None = Field(None, description="A setup to try; none: the stored one.")
    mapping: dict[str, Any] | None = None
    limit: int = Field(PREVIEW_DEFAULT, ge=1, le=PREVIEW_MAX, description="How many mapped entities to show.")
    # Accepted (and not used) so that the very body to be saved with PUT …/source can be previewed first.
    schedule: Annotated[str, StringConstraints(max_length=100)] | None = None
    retire_missing: bool | None = Field(None, alias="retireMissing")


class Rejection(BaseModel):
    record: int = Field(description="1-based number of the record in the source (data rows for CSV).")
    reason: str
    field: str | None = None


class PreviewOut(BaseModel):
    model_config = example(
        {
            "informationSystem": "barcelona/air-quality",
            "fetched": 3,
            "valid": 2,
            "rejected": 1,
            "entities": [
                {
                    "id": "urn:ngsi-ld:AirQualityObserved:barcelona:Sants",
                    "type": "AirQualityObserved",
                    "location": {"type": "Point", "coordinates": [2.1331, 41.3788]},
                    "observedAt": "2026-11-24T09:00:00+00:00",
                    "name": "Sants",
                    "no2": 12.5,
                }
            ],
            "rejections": [{"record": 2, "reason": "field 'NO2': 'n/d' is not a number", "field": "NO2"}],
        }
    )
    informationSystem: str
    fetched: int
    valid: int
    rejected: int
    entities: list[dict[str, Any]]
    rejections: list[Rejection] = Field(description="The first 100 rejected records.")


class HarvestRunPublic(BaseModel):
    model_config = example(
        {
            "id": 12,
            "informationSystem": "barcelona/air-quality",
            "trigger": "schedule",
            "status": "succeeded",
            "startedAt": "2026-11-24T10:00:00+00:00",
            "finishedAt": "2026-11-24T10:00:02+00:00",
            "fetched": 41,
            "created": 0,
            "updated": 39,
            "unchanged": 1,
            "rejected": 1,
            "retired": 0,
            "error": None,
            "rejections": [{"record": 17, "reason": "field 'NO2': 'n/d' is not a number", "field": "NO2"}],
        }
    )
    id: int
    informationSystem: str
    trigger: str = Field(description="schedule, manual (API) or cli")
    status: str = Field(description="running, succeeded, unchanged (the source said not modified) or failed")
    startedAt: str
    finishedAt: str | None
    fetched: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    retired: int
    error: str | None
    rejections: list[Rejection] = Field(description="The first 100 rejected records.")


class SourceHealth(BaseModel):
    state: str = Field(description="not-configured, never-run, healthy, failing or stale (older than two periods)")
    lastRun: HarvestRunPublic | None
    lastSuccessAt: str | None
    consecutiveFailures: int
    freshnessSeconds: int | None = Field(description="Age of the last successful read.")
    nextRunAt: str | None


class SourcePublic(BaseModel):
    model_config = example(
        {
            "informationSystem": "barcelona/air-quality",
            "connector": CSV_CONNECTOR,
            "mapping": CSV_MAPPING,
            "usesStandardMapping": False,
            "schedule": "15m",
            "retireMissing": True,
            "health": {
                "state": "healthy",
                "lastRun": None,
                "lastSuccessAt": "2026-11-24T10:00:02+00:00",
                "consecutiveFailures": 0,
                "freshnessSeconds": 412,
                "nextRunAt": "2026-11-24T10:15:00+00:00",
            },
        }
    )
    informationSystem: str
    connector: dict[str, Any] | None
    mapping: dict[str, Any] | None
    usesStandardMapping: bool
    schedule: str | None
    retireMissing: bool
    health: SourceHealth
