"""The page a verification mail links to: it verifies the address (services/accounts)
and says what comes next, or why the link does not work and how to get a new one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from pydantic import ValidationError

from icity.api.access_schemas import EmailIn
from icity.api.deps import TransactionDep
from icity.config import get_settings
from icity.errors import ICityError
from icity.services import accounts
from icity.web import session as web_session
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

TOKEN_MAX = 2000  # as GET /api/v1/registrations/verify


@router.get("/verify-email")
def verify_email_page(request: Request, viewer: ViewerDep, session: TransactionDep, token: str = ""):
    hours = get_settings().verification_hours
    try:
        outcome = accounts.verify_email(session, token[:TOKEN_MAX])
    except ICityError as error:
        session.rollback()  # a link that does not work verifies nothing
        return render(request, "verify_email.html", status_code=error.status, problem=error, hours=hours)
    return render(request, "verify_email.html", outcome=outcome, hours=hours)


@router.post("/verify-email/resend", dependencies=[Depends(web_session.check_csrf)])
def resend_link(request: Request, viewer: ViewerDep, session: TransactionDep, email: Annotated[str, Form()] = ""):
    """Mails a new link as POST /api/v1/registrations/resend does: the same answer
    whether or not the address has an unverified account."""
    hours = get_settings().verification_hours
    try:
        address = EmailIn.model_validate({"email": email}).email
    except ValidationError:
        return render(request, "verify_email.html", status_code=400, resend_error="Enter the email address you registered with.",
                      email=email, hours=hours)  # fmt: skip
    accounts.resend_verification(session, str(address))
    return render(request, "verify_email.html", resent=True, hours=hours)
