"""Messages: every signed-in person's inbox, and the platform admin's form to write to
developers (services/messages decides who may send to whom and checks the text)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from icity.api.deps import SessionDep, TransactionDep
from icity.api.schemas import MessageToSend, RowId
from icity.errors import ICityError
from icity.services import accounts, messages
from icity.services.access import Principal, require_admin
from icity.web import session as web_session
from icity.web.forms import first_problem
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

INBOX_PAGE = 50
RECIPIENT_CHOICES = 500  # approved developers offered as recipients; beyond, write to all of them
FIELD_LABELS = {"to": "Recipients", "subject": "Subject", "body": "Message", "toAllDevelopers": "Send to"}
DONE = {
    "read": "Marked as read.",
    "sent": "Your message is sent: each recipient finds it in their inbox, and by mail.",
}


@router.get("/messages")
def inbox_page(request: Request, viewer: ViewerDep, session: SessionDep, cursor: str | None = None):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return render(
        request,
        "messages/inbox.html",
        inbox=messages.inbox(session, viewer, limit=INBOX_PAGE, cursor=cursor or None),
        done=DONE.get(request.query_params.get("done", "")),
    )


@router.post("/messages/{message_id}/read", dependencies=[Depends(web_session.check_csrf)])
def read_message(message_id: RowId, viewer: ViewerDep, session: TransactionDep, back: Annotated[str, Form()] = ""):
    """Marks a message read, from the inbox or from the developer dashboard (`back`: where to return)."""
    messages.mark_read(session, viewer, message_id)  # someone else's message is a 404 page
    if back == "dashboard":
        return RedirectResponse("/dashboard?done=read#messages", status_code=303)
    return RedirectResponse(f"/messages?done=read#message-{message_id}", status_code=303)


def _compose_page(
    request: Request, session: Session, viewer: Principal, *, status_code: int = 200, error: str | None = None,
    posted: dict[str, Any] | None = None,
):  # fmt: skip
    require_admin(viewer)
    developers = accounts.list_users(session, viewer, status="approved", role="developer", limit=RECIPIENT_CHOICES, cursor=None)
    return render(
        request,
        "messages/compose.html",
        status_code=status_code,
        developers=developers.items,
        more_developers=developers.next_cursor is not None,
        error=error,
        posted=posted or {"audience": "all", "to": []},
        done=DONE.get(request.query_params.get("done", "")),
    )


@router.get("/admin/messages")
def compose_page(request: Request, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _compose_page(request, session, viewer)


@router.post("/admin/messages", dependencies=[Depends(web_session.check_csrf)])
def send_message(request: Request, viewer: ViewerDep, session: TransactionDep):
    require_admin(viewer)
    form = request.state.form  # read by check_csrf: `to` is a list of checkboxes
    to = [int(v) if v.isdigit() else v for v in form.getlist("to")]  # not a number: the schema says so
    posted = {"audience": form.get("audience", ""), "to": to, "subject": form.get("subject", ""), "body": form.get("body", "")}
    fields = {"subject": posted["subject"], "body": posted["body"]}
    fields.update({"toAllDevelopers": True} if posted["audience"] == "all" else {"to": to})
    try:
        body = MessageToSend.model_validate(fields)  # as POST /api/v1/messages reads its body
        messages.send(
            session, viewer, subject=body.subject, body=body.body, to=body.to, to_all_developers=body.toAllDevelopers
        )
    except ValidationError as error:
        return _compose_page(request, session, viewer, status_code=400, error=first_problem(error, FIELD_LABELS), posted=posted)
    except ICityError as error:
        session.rollback()  # one refused recipient refuses the lot: nothing is sent
        return _compose_page(request, session, viewer, status_code=error.status, error=error.detail, posted=posted)
    return RedirectResponse("/admin/messages?done=sent", status_code=303)
