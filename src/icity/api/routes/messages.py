"""Routes: messages and audit."""

from fastapi import APIRouter

router = APIRouter(tags=["messages and audit"])
