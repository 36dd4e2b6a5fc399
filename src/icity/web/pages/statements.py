"""Monthly statements: a developer's apps, a publisher's IS, everything for the platform admin.
services/statements decides who sees which; these pages only render its results."""

from __future__ import annotations

from fastapi import APIRouter, Request

from icity.api.deps import SessionDep
from icity.api.schemas import RowId
from icity.db.models import utctoday
from icity.services import statements
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)


@router.get("/statements")
def statements_page(request: Request, viewer: ViewerDep, session: SessionDep, month: str | None = None):
    if redirect := sign_in_first(request, viewer):
        return redirect
    listing = statements.list_statements(session, viewer, month or None)
    return render(request, "statements/list.html", listing=listing, this_month=utctoday().strftime("%Y-%m"))


@router.get("/statements/{publisher_kind}/{publisher_id}/{app_id}")
def statement_page(request: Request, publisher_kind: str, publisher_id: str, app_id: RowId, viewer: ViewerDep, session: SessionDep, month: str | None = None):
    if redirect := sign_in_first(request, viewer):
        return redirect
    statement = statements.get_statement(session, viewer, publisher_kind, publisher_id, app_id, month or None)
    return render(request, "statements/detail.html", statement=statement, usage_chart=statements.daily_calls(session, statement))
