"""Infrastructure owners: organisations that run infrastructure in cities of the network (a transport
operator, a utility, a charge-point operator…) and open it as publishers, like cities do."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from icity.db.models.base import Base, utcnow


class InfrastructureOwner(Base):
    __tablename__ = "infrastructure_owners"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # slug, e.g. "voltia"
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # transport_operator | utility | charge_point_operator | …
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2 of its seat
    website: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    membership: Mapped[str] = mapped_column(String(16), index=True)  # applicant | member
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MembershipChange(Base):
    """A dated, evidenced, attributed change of an owner's membership. Never updated."""

    __tablename__ = "owner_membership_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("infrastructure_owners.id", ondelete="CASCADE"), index=True)
    from_membership: Mapped[str] = mapped_column(String(16))
    to_membership: Mapped[str] = mapped_column(String(16))
    effective_on: Mapped[date] = mapped_column(Date)
    evidence_kind: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class OwnerAdmin(Base):
    """An owner admin's scope: one row per owner the user administers."""

    __tablename__ = "owner_admins"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    owner_id: Mapped[str] = mapped_column(
        ForeignKey("infrastructure_owners.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class OpeningNotice(Base):
    """An owner asking to open (trial or open) an IS located in a city: the city's admins are told
    and may object until `objection_deadline`; without objection the IS opens then."""

    __tablename__ = "opening_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    information_system_id: Mapped[str] = mapped_column(ForeignKey("information_systems.id", ondelete="CASCADE"))
    requested_status: Mapped[str] = mapped_column(String(16))  # trial | open
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    objection_deadline: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | objected | opened | withdrawn
    objected_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    objection: Mapped[str | None] = mapped_column(Text)
    settled_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_opening_notices_system_status", "information_system_id", "status"),)
