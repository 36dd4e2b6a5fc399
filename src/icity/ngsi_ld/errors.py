"""NGSI-LD's error types (CIM 009 clause 5.5.2) on iCity's one error hierarchy.

Services raise iCity's errors; on an NGSI-LD path they are shown with the NGSI-LD type that
means the same (`translate`), so a client of the standard reads the standard's types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from icity.errors import ICityError

ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
STATUSES = {
    "InvalidRequest": 400,
    "BadRequestData": 400,
    "AlreadyExists": 409,
    "OperationNotSupported": 422,
    "ResourceNotFound": 404,
    "InternalError": 500,
    "TooComplexQuery": 403,
    "TooManyResults": 403,
    "LdContextNotAvailable": 503,
    "NonexistentTenant": 404,
    "NotAcceptable": 406,
    "UnsupportedMediaType": 415,
}


@dataclass
class NgsiLdError(ICityError):
    """An error whose NGSI-LD type is `code`."""

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body = super().problem(instance)
        body["type"] = ERRORS + self.code
        return body


def ngsi_ld_error(kind: str, detail: str, status: int | None = None, **extra: Any) -> NgsiLdError:
    return NgsiLdError(detail=detail, status=status or STATUSES[kind], code=kind, title=kind, **extra)


def bad_request_data(detail: str, param: str | None = None) -> NgsiLdError:
    return ngsi_ld_error("BadRequestData", detail, param=param)


def invalid_request(detail: str) -> NgsiLdError:
    return ngsi_ld_error("InvalidRequest", detail)


def resource_not_found(detail: str) -> NgsiLdError:
    return ngsi_ld_error("ResourceNotFound", detail)


def already_exists(detail: str) -> NgsiLdError:
    return ngsi_ld_error("AlreadyExists", detail)


def ld_context_not_available(detail: str) -> NgsiLdError:
    return ngsi_ld_error("LdContextNotAvailable", detail)


def nonexistent_tenant(tenant: str) -> NgsiLdError:
    return ngsi_ld_error("NonexistentTenant", f"No tenant '{tenant}': name a city or an information system (city/slug).")


def operation_not_supported(detail: str) -> NgsiLdError:
    return ngsi_ld_error("OperationNotSupported", detail)


# iCity's codes that have an NGSI-LD type of their own; the others keep iCity's (401, 403, 429, 503…)
_BY_STATUS = {400: "BadRequestData", 404: "ResourceNotFound", 409: "AlreadyExists", 422: "BadRequestData",
              406: "NotAcceptable", 415: "UnsupportedMediaType"}  # fmt: skip


def translate(error: ICityError) -> ICityError:
    """The same error with the NGSI-LD type meaning the same, where there is one (422 is 400 there)."""
    if isinstance(error, NgsiLdError):
        return error
    kind = _BY_STATUS.get(error.status)
    if kind is None:
        return error
    if error.code == "invalid-json":
        kind = "InvalidRequest"
    status = 400 if error.status == 422 else error.status
    return NgsiLdError(
        detail=error.detail, status=status, code=kind, title=kind, param=error.param, errors=error.errors,
        headers=error.headers,
    )  # fmt: skip
