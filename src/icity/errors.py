"""One error hierarchy; each error carries its HTTP status and a stable code.

The API renders them as ``application/problem+json`` (RFC 9457); the CLI prints
their ``detail``. Services raise them; nothing else decides a status code.
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FieldProblem:
    """One offending field or parameter: where it is and what is wrong."""

    path: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "detail": self.detail}


@dataclass
class ICityError(Exception):
    detail: str
    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"
    param: str | None = None
    errors: list[FieldProblem] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # e.g. Retry-After, WWW-Authenticate
    extensions: dict[str, Any] = field(default_factory=dict)  # extra members of the problem (RFC 9457 §3.2)

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://icity.example/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.param:
            body["param"] = self.param
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        for name, value in self.extensions.items():
            body.setdefault(name, value)
        return body


def bad_parameter(param: str, detail: str) -> ICityError:
    return ICityError(
        detail=detail,
        status=400,
        code="bad-parameter",
        title="Bad parameter",
        param=param,
        errors=[FieldProblem(param, detail)],
    )


def not_found(what: str, identifier: str, param: str | None = None) -> ICityError:
    return ICityError(
        detail=f"No {what} with id '{identifier}'.",
        status=404,
        code="not-found",
        title="Not found",
        param=param,
    )


def invalid(errors: list[FieldProblem], detail: str | None = None) -> ICityError:
    first = errors[0]
    return ICityError(
        detail=detail or f"{first.path}: {first.detail}",
        status=422,
        code="validation-failed",
        title="Validation failed",
        param=first.path,
        errors=errors,
    )


def rule_violation(detail: str, code: str, param: str | None = None) -> ICityError:
    """A well-formed request that a domain rule refuses (e.g. opening an IS too early)."""
    return ICityError(detail=detail, status=409, code=code, title="Refused by a platform rule", param=param)


def authentication_required(detail: str) -> ICityError:
    """No credentials where they are needed."""
    return ICityError(
        detail=detail,
        status=401,
        code="authentication-required",
        title="Authentication required",
        headers={"WWW-Authenticate": 'Bearer realm="icity"'},
    )


def invalid_credentials(detail: str) -> ICityError:
    """Credentials that are malformed, unknown, revoked or expired."""
    return ICityError(
        detail=detail,
        status=401,
        code="invalid-credentials",
        title="Invalid credentials",
        headers={"WWW-Authenticate": 'Bearer realm="icity", error="invalid_token"'},
    )


def forbidden(detail: str, code: str = "forbidden") -> ICityError:
    """The caller is known but may not do this."""
    return ICityError(detail=detail, status=403, code=code, title="Forbidden")


def conflict(detail: str, param: str | None = None) -> ICityError:
    return ICityError(detail=detail, status=409, code="conflict", title="Conflict", param=param)


RETRY_AFTER_OVERLOAD_S = 1


def overloaded(reason: str) -> ICityError:
    """The platform is too busy to take this request now; nothing was done."""
    return ICityError(
        detail=f"The platform is busy ({reason}); nothing was done. Retry after the seconds `Retry-After` says.",
        status=503,
        code="overloaded",
        title="Service busy",
        headers={"Retry-After": str(RETRY_AFTER_OVERLOAD_S)},
    )
