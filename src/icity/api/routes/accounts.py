"""Routes: accounts."""

from fastapi import APIRouter

router = APIRouter(tags=["accounts"])
