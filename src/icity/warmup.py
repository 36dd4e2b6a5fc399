"""What a worker loads before it accepts a connection, so that no request waits for it.

The Smart Data Models registry takes about two seconds to read (every entity query checks its type
against it, every aggregation its attribute); the NGSI-LD contexts are built from it. Loaded here
once per process, in the application's startup (icity.app's lifespan), which uvicorn completes
before it listens: `icity serve --workers N` binds each worker's SO_REUSEPORT socket without
listening (icity.server), so the kernel hands a worker no connection before its startup is done.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from icity.datamodels import get_registry
from icity.db.engine import get_engine
from icity.ngsi_ld import contexts

log = logging.getLogger(__name__)


def warm_up(database_url: str) -> dict[str, float]:
    """Load what requests need; returns the seconds each part took (for the log and the tests)."""
    took: dict[str, float] = {}
    started = time.perf_counter()
    get_registry()
    took["registry"] = time.perf_counter() - started
    started = time.perf_counter()
    contexts.platform_context()
    took["ngsi_ld_contexts"] = time.perf_counter() - started
    started = time.perf_counter()
    try:  # a first pooled connection, tuned (PRAGMAs on SQLite); a database not up yet is not fatal here
        with get_engine(database_url).connect() as connection:
            connection.execute(text("SELECT 1"))
        took["database"] = time.perf_counter() - started
    except (SQLAlchemyError, TypeError, ValueError) as error:  # down, or a URL this pool cannot hold (sqlite:// in memory)
        log.warning("warm-up: no database connection made (%s); requests will connect on demand", type(error).__name__)
    return took
