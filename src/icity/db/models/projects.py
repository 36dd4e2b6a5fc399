"""Public-interest projects: a goal several cities work on together, the entity types it
needs, its member (and invited) cities, and the apps built for it. What each member city
can already run is computed when asked (services/projects.py), never stored."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from icity.db.models.base import Base, utcnow


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)  # its URL: /projects/<slug>
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    entity_types: Mapped[list[Any]] = mapped_column(default=list)  # Smart Data Model types the goal needs
    created_by: Mapped[str] = mapped_column(String(200))  # the creator as the audit log names them
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProjectMember(Base):
    """A city in a project: a `member` working on it since `joined_on`, or an `invited`
    city (a prospect outside the network, or a member city not yet committed)."""

    __tablename__ = "project_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    city_id: Mapped[str] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member")  # member | invited
    joined_on: Mapped[date] = mapped_column(Date)  # the day it joined (or was invited)
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("project_id", "city_id"),)


class ProjectApp(Base):
    """A certified app its developers attached to a project."""

    __tablename__ = "project_apps"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True, index=True)
    attached_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    attached_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectPartner(Base):
    """An infrastructure owner (a member of the network) working on a project beside its cities:
    the IS it opens lie in cities, so they count in those cities' readiness like the cities' own."""

    __tablename__ = "project_partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    owner_id: Mapped[str] = mapped_column(ForeignKey("infrastructure_owners.id", ondelete="CASCADE"), index=True)
    joined_on: Mapped[date] = mapped_column(Date)
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("project_id", "owner_id"),)
