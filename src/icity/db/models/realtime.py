"""Real time: the change log, subscriptions and their webhook outbox, alarms, device commands."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from icity.db.models.base import Base, utcnow


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
    details: Mapped[dict[str, Any] | None] = mapped_column()  # its attributes' details (Entity.details) after the change
    # what the change did: {"entity": "created" | "updated" | "deleted", "attributes": {name: "created" | "updated" | "deleted"}};
    # None when not known (every attribute then counts as updated)
    altered: Mapped[dict[str, Any] | None] = mapped_column()


class LiveView(Base):
    """A portal page following changes live (/live/events): while one is open, the changes of its IS
    (of every IS when None) are logged. Its stream pushes `expires_at` on while it lasts, so a view
    whose process died stops counting by itself."""

    __tablename__ = "live_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    information_system_id: Mapped[str | None] = mapped_column(String(140))
    expires_at: Mapped[datetime] = mapped_column(index=True)


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
    # Made through a standard's door (`standard`: "ngsi-ld"), which names it by `uri`, keeps what it
    # selects beyond iCity's filters in its own language (`selection`) and renders its notifications
    # (`rendering`: format, @context, media type, headers). None: an /api/v1 subscription.
    uri: Mapped[str | None] = mapped_column(String(300), unique=True, index=True)
    standard: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    selection: Mapped[dict[str, Any] | None] = mapped_column()
    rendering: Mapped[dict[str, Any] | None] = mapped_column()
    watched_attributes: Mapped[list[Any] | None] = mapped_column()  # only a change of one of them notifies; None: any
    triggers: Mapped[list[Any] | None] = mapped_column()  # which alterations notify (services/subscriptions.TRIGGERS); None: any
    interval_s: Mapped[int | None] = mapped_column(Integer)  # periodic: the current state every interval, not changes
    next_periodic_at: Mapped[datetime | None] = mapped_column()
    times_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    times_failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_success_at: Mapped[datetime | None] = mapped_column()
    last_failure_at: Mapped[datetime | None] = mapped_column()
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
    # an operator's acknowledgement of this episode (raised, or cleared before anyone saw it);
    # a new raise starts a new episode without one (the audit log keeps the earlier)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_by_email: Mapped[str | None] = mapped_column(String(320))  # as it was then: kept if the user goes
    acknowledgement_note: Mapped[str | None] = mapped_column(Text)

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
