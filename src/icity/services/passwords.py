"""Passwords: forgetting one (a mailed, signed, single-use, expiring link), resetting it through
that link, changing it while signed in, and setting it from the command line.

The answer to "forgot password" is the same whether or not the address has an account. A link is
single-use because it carries a digest of the password hash it was issued for: once the password
changed, every link issued before stops working. A reset ends every session of the user; a change
ends the user's other sessions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from icity.config import get_settings
from icity.db.models import LoginThrottle, User, UserSession, utcnow
from icity.errors import ICityError, bad_parameter
from icity.services import audit, mail
from icity.services.access import CLI, Principal, require_user
from icity.services.accounts import normalise_email, user_by_email
from icity.services.authentication import principal_of_user
from icity.services.secrets import LinkError, digest, hash_password, sign, unsign, verify_password

RESET = "reset-password"
MIN_LENGTH, MAX_LENGTH = 10, 256
RESET_WINDOW = timedelta(hours=1)
MAILS_PER_ADDRESS = 3  # reset mails per address and hour; more are silently not sent
REQUESTS_PER_CLIENT = 10  # reset requests per client (IP address) and hour; more get 429


def check_new_password(password: str, param: str = "password") -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise bad_parameter(param, f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters")


def _set_password(session: Session, user: User, password: str, keep_session: str | None = None) -> None:
    user.password_hash = hash_password(password)
    ended = delete(UserSession).where(UserSession.user_id == user.id)
    if keep_session is not None:
        ended = ended.where(UserSession.token_digest != keep_session)
    session.execute(ended)


# ---- forgetting and resetting ------------------------------------------------------


def _count_in_window(session: Session, key: str, now: datetime) -> int:
    """Counts one more request under ``key`` in the current hour and returns the count. The login
    throttles' table holds these counters too (keyed by a digest with a prefix of its own)."""
    counter = session.get(LoginThrottle, digest(key))
    if counter is None or counter.last_failure_at + RESET_WINDOW <= now:
        if counter is None:
            counter = LoginThrottle(email_digest=digest(key))
            session.add(counter)
        counter.failures, counter.last_failure_at, counter.blocked_until = 0, now, now + RESET_WINDOW
    counter.failures += 1
    return counter.failures


def _link_fingerprint(user: User) -> str:
    return digest(user.password_hash)[:16]


def reset_link(user: User) -> str:
    token = sign(RESET, {"u": user.id, "p": _link_fingerprint(user)})
    return f"{get_settings().public_url}/reset-password?token={token}"


def request_reset(session: Session, email: str, client: str, now: datetime | None = None) -> None:
    """Mail a reset link to the account of ``email``, if there is one (the caller is never told)."""
    now = now or utcnow()
    if _count_in_window(session, f"reset-client:{client}", now) > REQUESTS_PER_CLIENT:
        session.commit()  # the refused request counts too
        wait = int(RESET_WINDOW.total_seconds())
        raise ICityError(
            detail="Too many password reset requests from here: try again later.",
            status=429,
            code="reset-rate-limited",
            title="Too many requests",
            headers={"Retry-After": str(wait)},
        )
    email = normalise_email(email)
    if _count_in_window(session, f"reset-address:{email}", now) > MAILS_PER_ADDRESS:
        return  # the same answer: a flood of mails must not reach the address
    user = user_by_email(session, email)
    if user is None or user.status in ("refused", "suspended"):
        return
    minutes = get_settings().reset_minutes
    mail.queue(
        session,
        user.email,
        "Reset your iCity password",
        f"Hello {user.name},\n\nSomeone (we hope you) asked to reset the password of your iCity account. "
        f"Choose a new one by opening this link within {minutes} minutes; it works once:\n\n{reset_link(user)}\n\n"
        "If you did not ask, ignore this mail: your password stays as it is.\n",
    )


def _invalid_reset_link(expired: bool = False) -> ICityError:
    detail = (
        "This reset link has expired: ask for a new one on the sign-in page."
        if expired
        else "This reset link is not valid or was already used: ask for a new one on the sign-in page."
    )
    return ICityError(detail=detail, status=400, code="invalid-link", title="Invalid link", param="token")


def user_of_reset_link(session: Session, token: str) -> User:
    try:
        payload = unsign(RESET, token, get_settings().reset_minutes * 60)
    except LinkError as error:
        raise _invalid_reset_link(error.expired) from error
    user = session.get(User, payload.get("u")) if isinstance(payload, dict) and isinstance(payload.get("u"), int) else None
    if user is None or payload.get("p") != _link_fingerprint(user) or user.status in ("refused", "suspended"):
        raise _invalid_reset_link()
    return user


def reset_password(session: Session, token: str, password: str) -> None:
    """Set the password of the link's user; the link stops working and every session ends."""
    user = user_of_reset_link(session, token)
    check_new_password(password)
    _set_password(session, user, password)
    audit.record(session, principal_of_user(session, user), "user.password-reset", "user", user.id)


# ---- changing and setting ----------------------------------------------------------


def change_password(session: Session, principal: Principal, current: str, password: str) -> None:
    """The signed-in user's new password; their other sessions end, this one stays."""
    require_user(principal)
    user = session.get(User, principal.user_id)
    if user is None or not verify_password(user.password_hash, current):
        raise ICityError(
            detail="The current password is wrong.", status=400, code="wrong-password", title="Wrong password",
            param="currentPassword",
        )  # fmt: skip
    check_new_password(password, "newPassword")
    _set_password(session, user, password, keep_session=principal.session_digest)
    audit.record(session, principal, "user.password-changed", "user", user.id)


def set_password(session: Session, email: str, password: str) -> None:
    """`icity user set-password`: the password of ``email``'s account; every session of it ends."""
    user = user_by_email(session, email)
    if user is None:
        raise ICityError(detail=f"No user with email {email!r}.", status=404, code="not-found", title="Not found", param="email")
    check_new_password(password)
    _set_password(session, user, password)
    audit.record(session, CLI, "user.password-set", "user", user.id)
