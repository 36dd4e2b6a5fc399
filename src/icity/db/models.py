"""Tables. The one place that knows how iCity's domain is stored."""

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from icity.db.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


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
    city_id: Mapped[str] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
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


class Entity(Base):
    """Current state of a harmonised, NGSI-LD shaped entity."""

    __tablename__ = "entities"

    id: Mapped[str] = mapped_column(String(300), primary_key=True)  # urn:ngsi-ld:<Type>:<city>:<local>
    type: Mapped[str] = mapped_column(String(100))
    city_id: Mapped[str] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    information_system_id: Mapped[str] = mapped_column(
        ForeignKey("information_systems.id", ondelete="CASCADE"), index=True
    )
    location: Mapped[dict[str, Any] | None] = mapped_column()  # GeoJSON geometry
    # Representative point of `location` (the point itself, or the centre of its
    # bounding box), indexed so that bbox and near queries need no spatial extension.
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    observed_at: Mapped[datetime | None] = mapped_column()
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_entities_type_city_lat", "type", "city_id", "lat", "lon"),
        Index("ix_entities_lat_lon", "lat", "lon"),
        Index("ix_entities_city_type", "city_id", "type"),
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


# --- Developer access: accounts, apps, keys, grants, usage, messages, audit ---


class Organisation(Base):
    """An IT partner: the company or group developers belong to and apps belong to."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    website: Mapped[str | None] = mapped_column(String(500))
    country: Mapped[str | None] = mapped_column(String(2))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    role: Mapped[str] = mapped_column(String(16), index=True)  # developer | city_admin | admin
    # unverified → pending (email verified) → approved | refused; approved ↔ suspended
    status: Mapped[str] = mapped_column(String(16), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    email_verified_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CityAdmin(Base):
    """A city admin's scope: one row per city the user administers."""

    __tablename__ = "city_admins"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    city_id: Mapped[str] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True, index=True)


class LoginThrottle(Base):
    """Consecutive failed logins per email address, whether or not an account has
    it (so the backoff tells nothing about which addresses exist)."""

    __tablename__ = "login_throttles"

    email_digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the lower-cased email
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column()
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserSession(Base):
    __tablename__ = "sessions"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class App(Base):
    __tablename__ = "apps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    functionalities: Mapped[list[Any]] = mapped_column(default=list)
    advantages: Mapped[list[Any]] = mapped_column(default=list)
    platforms: Mapped[list[Any]] = mapped_column(default=list)  # [{"platform": "android", "url": ...}]
    entity_types: Mapped[list[Any]] = mapped_column(default=list)
    plan: Mapped[str] = mapped_column(String(16), default="free")
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)  # active | withdrawn
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    # draft → submitted → certified | returned (services/certification.py); only certified apps are in the app portal
    certification: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft", index=True)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # public part, shown in lists
    secret_digest: Mapped[str] = mapped_column(String(64))  # sha256 of the whole key
    name: Mapped[str] = mapped_column(String(100), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()  # set when rotated: the overlap ends here
    revoked_at: Mapped[datetime | None] = mapped_column()
    replaced_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))


class AccessRequest(Base):
    """An app asking for an `approval` IS; approved, it is the app's grant until revoked."""

    __tablename__ = "access_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    information_system_id: Mapped[str] = mapped_column(
        ForeignKey("information_systems.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | refused | revoked | withdrawn
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(Text)  # of the refusal or revocation
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_access_requests_app_status", "app_id", "status"),)


class UsageDay(Base):
    """Metered use of one IS by one app on one UTC day. `information_system_id` is
    empty for calls that served no IS data (catalogue, cities)."""

    __tablename__ = "usage_daily"

    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    information_system_id: Mapped[str] = mapped_column(String(140), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_out: Mapped[int] = mapped_column(BigInteger, default=0)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # None: the platform
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_messages_recipient_created", "recipient_id", "created_at"),)


class AuditEvent(Base):
    """Append-only record of a security-relevant action. Never updated or deleted."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))  # email of the user, or "cli"
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64), index=True)  # e.g. "access.approved"
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(300))
    city_id: Mapped[str | None] = mapped_column(String(64), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxMail(Base):
    """Mail to send. Written in the transaction of the action that causes it, so a
    rolled-back action sends nothing; delivered after commit (SMTP or var/outbox/)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


# --- Real time: change log, subscriptions and their webhook outbox, alarms, commands ---


class Change(Base):
    """One committed change of an entity (or an alarm), in commit order: what subscriptions,
    streams and alarm rules read. Written only while someone listens (see services/changes.py)."""

    __tablename__ = "changes"

    # BIGINT on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the autoincrementing rowid
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(16), default="entity")  # entity | alarm
    entity_id: Mapped[str] = mapped_column(String(300))
    entity_type: Mapped[str] = mapped_column(String(100))
    city_id: Mapped[str] = mapped_column(String(64))
    information_system_id: Mapped[str] = mapped_column(String(140))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    entity: Mapped[dict[str, Any]] = mapped_column()  # the entity after the change, as the API shows it


class Subscription(Base):
    """An app's standing query: what it wants to be told about, and where (webhook or stream)."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    entity_types: Mapped[list[Any]] = mapped_column(default=list)  # empty: any
    city_id: Mapped[str | None] = mapped_column(String(64))
    information_system_id: Mapped[str | None] = mapped_column(String(140))
    q: Mapped[str | None] = mapped_column(Text)
    area: Mapped[dict[str, Any] | None] = mapped_column()  # {"bbox": [...]} or {"near": [lat, lon, radius]}
    attributes: Mapped[list[Any]] = mapped_column(default=list)  # empty: all
    throttling_s: Mapped[int] = mapped_column(Integer, default=0)  # at least this long between two notifications
    expires_at: Mapped[datetime | None] = mapped_column()
    endpoint: Mapped[str | None] = mapped_column(String(1000))  # webhook URL; None: stream only
    secret: Mapped[str | None] = mapped_column(String(100))  # signs webhook bodies (HMAC-SHA256)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | paused
    position: Mapped[int] = mapped_column(BigInteger, default=0)  # last change the webhook outbox has taken
    last_notified_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """A webhook notification in the durable outbox, and afterwards the developer's delivery log."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    change_id: Mapped[int] = mapped_column(BigInteger)
    entity_id: Mapped[str] = mapped_column(String(300))
    information_system_id: Mapped[str] = mapped_column(String(140))
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | dead | withheld
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_deliveries_subscription_id", "subscription_id", "id"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    )


class AlarmRule(Base):
    """A city admin's rule on an IS: an attribute above/below a threshold for a duration, or a device silent."""

    __tablename__ = "alarm_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    information_system_id: Mapped[str] = mapped_column(
        ForeignKey("information_systems.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # threshold | silent
    entity_type: Mapped[str | None] = mapped_column(String(100))
    attribute: Mapped[str | None] = mapped_column(String(100))
    operator: Mapped[str | None] = mapped_column(String(8))  # above | below
    threshold: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[int] = mapped_column(Integer, default=0)
    severity: Mapped[str] = mapped_column(String(16), default="medium")  # Smart Data Models Alert severities
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alarm(Base):
    """The state of one rule for one entity: pending (condition holds, not yet for long enough),
    raised, or cleared. Raising and clearing are also written to the change log as `Alert` entities."""

    __tablename__ = "alarms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alarm_rules.id", ondelete="CASCADE"))
    entity_id: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16))  # pending | raised | cleared
    since: Mapped[datetime] = mapped_column()  # when the condition started to hold
    raised_at: Mapped[datetime | None] = mapped_column()
    cleared_at: Mapped[datetime | None] = mapped_column()
    value: Mapped[float | None] = mapped_column(Float)  # the value that raised it (threshold rules)

    __table_args__ = (UniqueConstraint("rule_id", "entity_id"),)


class Cursor(Base):
    """How far a consumer of the change log (the alarm evaluator) has read."""

    __tablename__ = "change_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)


class Command(Base):
    """A command an app sent to a device, and its way: pending → sent → acknowledged | failed | expired."""

    __tablename__ = "commands"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    information_system_id: Mapped[str] = mapped_column(
        ForeignKey("information_systems.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int | None] = mapped_column(ForeignKey("apps.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    result: Mapped[Any | None] = mapped_column(JSON, nullable=True)  # what the device answered
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # deliveries tried (HTTP retries, MQTT publishes)
    # not before then: a dispatcher holds it (lease) or waits to retry
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_commands_status_next", "status", "next_attempt_at"),)


# --- App certification ---


class AppReview(Base):
    """One submission of an app for certification and the platform admin's decision on it
    (pending while `decision` is None). Kept after the decision: the app's review history."""

    __tablename__ = "app_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    # developer: the developer submitted it; entity_types_changed: a certified app changed the data it needs
    trigger: Mapped[str] = mapped_column(String(32), default="developer")
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)  # the developer's word to the reviewer, or why it came back
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column()
    decision: Mapped[str | None] = mapped_column(String(16))  # certified | returned
    # [{"check": "dataUse", "passed": bool, "computed": bool, "findings": [...], "note": str}]
    checklist: Mapped[list[Any]] = mapped_column(default=list)
    comments: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_app_reviews_app_submitted", "app_id", "submitted_at"),)
