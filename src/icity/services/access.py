"""Who may read which information system: the one place authorisation plugs in.

Every read path (catalogue, entities, history, geo queries, counts, "where can
this app run") filters through `readable_systems`, so a rule changed here
changes it everywhere. Until developer accounts exist every caller is
anonymous and sees public systems in trial or open.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_
from sqlalchemy.sql.expression import ColumnElement

from icity.db.models import InformationSystem

SERVED_STATUSES = ("trial", "open")


@dataclass(frozen=True)
class Principal:
    """The caller of a use case."""

    kind: str = "anonymous"


ANONYMOUS = Principal()


def readable_systems(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on InformationSystem: the systems `principal` may read."""
    return and_(InformationSystem.status.in_(SERVED_STATUSES), InformationSystem.access_policy == "public")
