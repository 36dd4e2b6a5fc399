"""Routes: the commands a device accepts (declared by its city), sending them, following them."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from icity.api.command_schemas import CommandIn, CommandPublic, DeviceCommandsIn
from icity.api.deps import DEFAULT_LIMIT, CursorParam, LimitParam, PrincipalDep, SessionDep, TransactionDep
from icity.api.responses import JSONResponse, json_page
from icity.api.schemas import DevicePublic, Page, Problem, RowId
from icity.services import commands

router = APIRouter(tags=["commands"])

DEVICE = "/information-systems/{city_id}/{slug}/devices/{device}"


@router.put(
    f"{DEVICE}/commands",
    response_model=DevicePublic,
    summary="Declare the commands a device accepts, with their parameter schemas, and where they go (HTTP or MQTT)",
    responses={
        403: {"model": Problem, "description": "Not an admin of the IS's city."},
        422: {"model": Problem, "description": "Schemas that are not JSON Schema, a name twice…: `errors` has each path."},
    },
)
def declare_commands(
    city_id: str, slug: str, device: str, body: DeviceCommandsIn, session: TransactionDep, principal: PrincipalDep
):
    declared = [command.model_dump() for command in body.commands]
    return JSONResponse(commands.declare(session, principal, f"{city_id}/{slug}", device, declared, body.commandUrl))


@router.post(
    f"{DEVICE}/commands",
    status_code=202,
    response_model=CommandPublic,
    summary="Send a command to a device (an app with an approved grant for the IS, or its city's admins); follow it at its URL",
    responses={
        401: {"model": Problem, "description": "No credentials."},
        403: {"model": Problem, "description": "No approved access request for the IS (`no-grant`), whatever its policy."},
        404: {"model": Problem, "description": "No such device in an IS the caller may read."},
        422: {
            "model": Problem,
            "description": "Unknown command, or parameters against its schema: `errors` has each path; nothing is sent.",
        },
    },
)
def send_command(city_id: str, slug: str, device: str, body: CommandIn, session: TransactionDep, principal: PrincipalDep):
    command = commands.send(session, principal, f"{city_id}/{slug}", device, body.command, body.parameters, body.expiresInS)
    location = f"/api/v1{DEVICE}/commands/{command['id']}".format(city_id=city_id, slug=slug, device=device)
    return JSONResponse(command, status_code=202, headers={"Location": location})


@router.get(
    f"{DEVICE}/commands",
    response_model=Page[CommandPublic],
    summary="A device's commands, newest first: the caller's app's (or organisation's); all of them for the city's admins",
)
def list_commands(
    city_id: str,
    slug: str,
    device: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[str | None, Query(description="Only commands in this state.", examples=["failed"])] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    page = commands.list_commands(session, principal, f"{city_id}/{slug}", device, status=status, limit=limit, cursor=cursor)
    return json_page(page.as_dict(), request)


@router.get(
    f"{DEVICE}/commands/{{command_id}}",
    response_model=CommandPublic,
    summary="One command and where it is: pending → sent → acknowledged | failed | expired",
)
def get_command(city_id: str, slug: str, device: str, command_id: RowId, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(commands.get_command(session, principal, f"{city_id}/{slug}", device, command_id))
