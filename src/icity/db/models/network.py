"""The city network, its information systems and their data: cities and their levels, categories,
information systems, providers and devices, harmonised entities and their history, harvest runs."""

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from icity.db.models.base import Base, utcnow


class City(Base):
    __tablename__ = "cities"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # slug, e.g. "barcelona"
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    level: Mapped[str] = mapped_column(String(16), index=True)  # prospect | sig | pilot | consortium
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    bbox: Mapped[list[Any]] = mapped_column()  # [min_lon, min_lat, max_lon, max_lat]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LevelChange(Base):
    """A dated, attributed change of a city's level of involvement. Never updated."""

    __tablename__ = "level_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    city_id: Mapped[str] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    from_level: Mapped[str] = mapped_column(String(16))
    to_level: Mapped[str] = mapped_column(String(16))
    effective_on: Mapped[date] = mapped_column(Date)
    evidence_kind: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class EngagementAction(Base):
    __tablename__ = "engagement_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    city_id: Mapped[str] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    happened_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(Text, default="")
    next_step: Mapped[str | None] = mapped_column(Text)
    next_step_due: Mapped[date | None] = mapped_column(Date, index=True)
    next_step_done: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class InformationSystem(Base):
    __tablename__ = "information_systems"

    id: Mapped[str] = mapped_column(String(140), primary_key=True)  # "<city>/<slug>"
    city_id: Mapped[str] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)  # where it lies
    # the infrastructure owner publishing it; None: the city publishes it
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("infrastructure_owners.id"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[str] = mapped_column(ForeignKey("categories.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    access_policy: Mapped[str] = mapped_column(String(16), default="public")
    licence: Mapped[str] = mapped_column(String(200), default="")
    provider: Mapped[str] = mapped_column(String(200), default="")  # operator of the source system
    documentation_url: Mapped[str | None] = mapped_column(String(500))
    properties_in: Mapped[list[Any]] = mapped_column(default=list)
    properties_out: Mapped[list[Any]] = mapped_column(default=list)
    # How the platform reads the city's own system: {"kind": "csv", "url": ..., <kind's settings>}
    connector: Mapped[dict[str, Any] | None] = mapped_column()
    mapping: Mapped[dict[str, Any] | None] = mapped_column()  # None: the connector kind's standard mapping
    schedule: Mapped[str | None] = mapped_column(String(100))  # "15m", "1h", "1d" or a cron expression
    retire_missing: Mapped[bool] = mapped_column(Boolean, default=True)  # entities gone from the source
    # days of observation history kept (icity.services.observation_history); None: everything
    observation_retention_days: Mapped[int | None] = mapped_column(Integer)
    # smart-data-models: types and attributes must be the models' (ids urn:ngsi-ld:<Type>:<city>:<local>);
    # open: any type, attribute and URI id, for cities bringing their own models through their own context
    validation: Mapped[str] = mapped_column(String(24), default="smart-data-models", server_default="smart-data-models")
    opened_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("city_id", "slug"),)


class InformationSystemEntityType(Base):
    """The canonical entity types an IS serves (one row each, so they can be queried)."""

    __tablename__ = "information_system_entity_types"

    information_system_id: Mapped[str] = mapped_column(
        ForeignKey("information_systems.id", ondelete="CASCADE"), primary_key=True
    )
    entity_type: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class Provider(Base):
    """Operator or manufacturer of devices within an IS."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    information_system_id: Mapped[str] = mapped_column(
        ForeignKey("information_systems.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="operator")  # operator | manufacturer
    url: Mapped[str | None] = mapped_column(String(500))


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    information_system_id: Mapped[str] = mapped_column(
        ForeignKey("information_systems.id", ondelete="CASCADE"), index=True
    )
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id", ondelete="SET NULL"), index=True)
    local_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200), default="")
    device_type: Mapped[str] = mapped_column(String(100), default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    entity_id: Mapped[str | None] = mapped_column(String(300))  # entity this device reports into
    commands: Mapped[list[Any]] = mapped_column(default=list)  # properties IN it accepts: [{name, parameters: JSON Schema}]
    command_url: Mapped[str | None] = mapped_column(String(1000))  # commands go here by HTTP POST; None: over MQTT
    reporting_period_s: Mapped[int | None] = mapped_column(Integer)
    last_seen_at: Mapped[datetime | None] = mapped_column()  # latest observation pushed (its own time)
    # last_seen_at + the reporting period: silent once past (kept as a column so that it can be queried)
    silent_after: Mapped[datetime | None] = mapped_column(index=True)
    # messages of this device refused (MQTT push: malformed, unknown attribute, bad token…), the last one's why and when
    rejected_messages: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_rejection: Mapped[str | None] = mapped_column(Text)
    last_rejection_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (UniqueConstraint("information_system_id", "local_id"),)

    @staticmethod
    def silent_after_seen(seen: datetime, reporting_period_s: int | None) -> datetime | None:
        """When a device last heard at `seen` turns silent; never without a declared period."""
        return seen + timedelta(seconds=reporting_period_s) if reporting_period_s else None


class Entity(Base):
    """Current state of a harmonised, NGSI-LD shaped entity."""

    __tablename__ = "entities"

    id: Mapped[str] = mapped_column(String(300), primary_key=True)  # urn:ngsi-ld:<Type>:<city>:<local>
    type: Mapped[str] = mapped_column(String(100))
    city_id: Mapped[str] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    # indexed with the id (ix_entities_system_id): an IS's entities in id order, a page at a time
    information_system_id: Mapped[str] = mapped_column(ForeignKey("information_systems.id", ondelete="CASCADE"))
    location: Mapped[dict[str, Any] | None] = mapped_column()  # GeoJSON geometry
    # Representative point of `location` (the point itself, or the centre of its
    # bounding box), indexed so that bbox and near queries need no spatial extension.
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    # half the larger side of `location`'s bounding box in degrees (0: a point), so that geo-queries
    # prefilter polygons as well as points on the indexed columns
    extent: Mapped[float | None] = mapped_column(Float)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    observed_at: Mapped[datetime | None] = mapped_column()
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    # What an attribute carries beyond its value, by attribute name (None: nothing): its kind when
    # not a plain property, its own observedAt, unitCode, sub-attributes, further instances (datasetId)
    details: Mapped[dict[str, Any] | None] = mapped_column()

    __table_args__ = (
        Index("ix_entities_type_city_lat", "type", "city_id", "lat", "lon"),
        Index("ix_entities_lat_lon", "lat", "lon"),
        Index("ix_entities_city_type", "city_id", "type"),
        Index("ix_entities_extent", "extent"),
        Index("ix_entities_system_id", "information_system_id", "id"),
    )


class ProviderToken(Base):
    """A provider's credential to push observations into one IS: `icp_<prefix>_<secret>`,
    shown once and stored as a SHA-256 digest, like an API key."""

    __tablename__ = "provider_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), index=True)
    information_system_id: Mapped[str] = mapped_column(
        ForeignKey("information_systems.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_digest: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class HarvestRun(Base):
    """One reading of an IS's source: what came in, what changed, what was refused and why."""

    __tablename__ = "harvest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    information_system_id: Mapped[str] = mapped_column(
        ForeignKey("information_systems.id", ondelete="CASCADE"), index=True
    )
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | manual | cli
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | succeeded | unchanged | failed
    # while running: renewed by the worker executing it; a running run whose lease ended was abandoned
    lease_until: Mapped[datetime | None] = mapped_column()
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    rejections: Mapped[list[Any]] = mapped_column(default=list)  # the first ones: {record, reason, field}
    etag: Mapped[str | None] = mapped_column(String(500))  # the source's validators, sent on the next run
    last_modified: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (Index("ix_harvest_runs_system_started", "information_system_id", "started_at"),)


class Observation(Base):
    """One value of one time-varying attribute of an entity at one time."""

    __tablename__ = "observations"

    entity_id: Mapped[str] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True)
    attribute: Mapped[str] = mapped_column(String(100), primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(primary_key=True)
    value_number: Mapped[float | None] = mapped_column(Float)
    value: Mapped[Any | None] = mapped_column(JSON, nullable=True)  # the value as given (numbers too), for non-numeric attributes
    # when the platform stored it (a correction stores it again): NGSI-LD's createdAt/modifiedAt of an instance
    recorded_at: Mapped[datetime | None] = mapped_column()

    # on PostgreSQL, one partition per month (migration 0016, icity.db.partitions); the primary
    # key holds the partition key, as PostgreSQL requires of a unique constraint
    __table_args__ = {"postgresql_partition_by": "RANGE (observed_at)"}
