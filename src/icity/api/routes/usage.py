"""Routes: usage."""

from fastapi import APIRouter

router = APIRouter(tags=["usage"])
