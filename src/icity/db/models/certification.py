"""App certification: each submission of an app and the platform admin's decision on it."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from icity.db.models.base import Base, utcnow


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
