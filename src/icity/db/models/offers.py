"""Commercial offers of information systems: their versions and the apps' acceptances."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from icity.db.models.base import Base, utcnow
from icity.db.types import DecimalText


class OfferVersion(Base):
    """One version of an IS's offer, in effect from the first day of a month (UTC) until a
    later version is. Free when both prices are zero. Versions are never changed: a new
    price is a new version."""

    __tablename__ = "offer_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    information_system_id: Mapped[str] = mapped_column(ForeignKey("information_systems.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, … per IS
    effective_from: Mapped[date] = mapped_column(Date)  # the first day of a month
    currency: Mapped[str] = mapped_column(String(3))  # ISO 4217
    monthly_fee: Mapped[Decimal] = mapped_column(DecimalText)
    price_per_1000: Mapped[Decimal] = mapped_column(DecimalText)  # per 1,000 calls beyond the allowance
    free_calls: Mapped[int] = mapped_column(Integer)  # free allowance per app and month
    terms: Mapped[str] = mapped_column(Text, default="")
    terms_url: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("information_system_id", "version"),)


class OfferAcceptance(Base):
    """An app accepted one version of an IS's offer."""

    __tablename__ = "offer_acceptances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    information_system_id: Mapped[str] = mapped_column(ForeignKey("information_systems.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    accepted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("app_id", "information_system_id", "version"),)
