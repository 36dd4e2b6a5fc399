"""Routes: access requests."""

from fastapi import APIRouter

router = APIRouter(tags=["access requests"])
