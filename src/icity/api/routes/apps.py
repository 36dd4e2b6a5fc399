"""Routes: apps and keys."""

from fastapi import APIRouter

router = APIRouter(tags=["apps and keys"])
