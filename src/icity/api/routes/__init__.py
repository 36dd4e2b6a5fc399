"""One APIRouter per area of the v1 API."""
