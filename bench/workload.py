"""The three benchmarked queries: their deterministic parameter lists, the API
paths that ask them, and the hand-written SQL that answers them directly.

(a) entities of one type in one city within a bbox (each returning dozens)
(b) entities near a point, 500 m
(c) hourly averages of `no2` of one sensor over 7 days (168 buckets)

(a) and (b) are also asked through NGSI-LD (`ngsi_ld_path`): `type` + `georel=within` a polygon
(the bbox as a closed ring), and `georel=near;maxDistance==500` around a point; (c) through the
NGSI-LD temporal API (`ngsi_ld_temporal_path`): `aggregatedValues`, `avg` per `PT1H`, `between`.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlencode

from dataset import CITIES, Params
from load_client import machine_busy_seconds

LIMIT = 100  # page size asked of the API; the SQL fetches LIMIT + 1 like a keyset page does
RADIUS_M = 500.0
INTERVAL_S = 3600
try:
    from icity.services.filters import METRES_PER_DEGREE  # the API's own definition
except ImportError:  # pragma: no cover
    METRES_PER_DEGREE = 6_371_008.8 * math.pi / 180

COLUMNS = "id, type, city_id, information_system_id, location, attributes, observed_at, modified_at"
SQL_A = (
    f"SELECT {COLUMNS} FROM entities WHERE type = ? AND city_id = ? "
    "AND lon BETWEEN ? AND ? AND lat BETWEEN ? AND ? ORDER BY id LIMIT ?"
)
SQL_B = (
    f"SELECT {COLUMNS} FROM entities WHERE lat BETWEEN ? AND ? AND lon BETWEEN ? AND ? "
    "AND (lat - ?) * (lat - ?) * ? + (lon - ?) * (lon - ?) * ? <= ? ORDER BY id LIMIT ?"
)
# (a) through NGSI-LD has no city: the same type within the same polygon, whatever the city
SQL_A_ANY_CITY = f"SELECT {COLUMNS} FROM entities WHERE type = ? AND lon BETWEEN ? AND ? AND lat BETWEEN ? AND ? ORDER BY id LIMIT ?"
SQL_C = (
    "SELECT (CAST(strftime('%s', observed_at) AS INTEGER) / 3600) * 3600 AS bucket, "
    "avg(value_number), count(*) FROM observations "
    "WHERE entity_id = ? AND attribute = ? AND observed_at >= ? AND observed_at < ? "
    "GROUP BY bucket ORDER BY bucket"
)

# The same queries in PostgreSQL's dialect (psycopg's placeholders; the hour of a timestamptz by epoch).
PG_SQL = {
    SQL_A: SQL_A.replace("?", "%s"),
    SQL_B: SQL_B.replace("?", "%s"),
    SQL_A_ANY_CITY: SQL_A_ANY_CITY.replace("?", "%s"),
    SQL_C: (
        "SELECT (floor(extract(epoch FROM observed_at) / 3600) * 3600)::bigint AS bucket, "
        "avg(value_number), count(*) FROM observations "
        "WHERE entity_id = %s AND attribute = %s AND observed_at >= %s AND observed_at < %s "
        "GROUP BY bucket ORDER BY bucket"
    ),
}


@dataclass(frozen=True)
class Query:
    kind: str  # a | b | c
    path: str  # API path and query string
    sql: str
    args: tuple
    expected_rows: int  # rows the SQL returns (≤ LIMIT + 1 for a and b; buckets for c)


def sql_time(value: datetime) -> str:
    """How SQLAlchemy stores a UTC datetime in SQLite: naive 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    return value.astimezone(timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def iso_z(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def near_args(lat: float, lon: float, radius: float = RADIUS_M, limit: int = LIMIT + 1) -> tuple:
    """Bounding-box prefilter of the circle, then the equirectangular distance."""
    m_lon = METRES_PER_DEGREE * math.cos(math.radians(lat))
    dlat, dlon = radius / METRES_PER_DEGREE, radius / m_lon
    return (
        lat - dlat, lat + dlat, lon - dlon, lon + dlon,
        lat, lat, METRES_PER_DEGREE**2, lon, lon, m_lon**2, radius * radius, limit,
    )


def connect(path: Path) -> sqlite3.Connection:
    """A read connection tuned like the application's (icity.db.engine._tune_sqlite)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    db.execute("PRAGMA busy_timeout=10000")
    db.execute("PRAGMA cache_size=-65536")
    db.execute("PRAGMA mmap_size=268435456")
    return db


def connect_postgres(url: str):
    """A psycopg connection on the benchmark's PostgreSQL database, times in UTC (as SQLite's are
    stored), autocommit: every query its own snapshot, as the API's reads are."""
    import psycopg

    db = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True)
    db.execute("SET TIME ZONE 'UTC'")
    return db


def for_postgres(query: Query) -> Query:
    return replace(query, sql=PG_SQL[query.sql])


def _count(db: sqlite3.Connection, sql: str, args: tuple) -> int:
    return len(db.execute(sql, args).fetchall())


def build_queries(path: Path, params: Params, n_a: int = 400, n_b: int = 400, seed: int = 7) -> dict[str, list[Query]]:
    db = connect(path)
    rng = random.Random(seed)
    try:
        points: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for city, entity_type, lon, lat in db.execute("SELECT city_id, type, lon, lat FROM entities ORDER BY id"):
            points.setdefault((city, entity_type), []).append((lon, lat))
        everything = [p for key in sorted(points) for p in points[key]]
        cities = [c[0] for c in CITIES]
        weights = [c[5] for c in CITIES]
        types = sorted({t for _, t in points})

        # (a) a bbox around a random entity of that type, resized until it holds 24–100 of them
        queries_a: list[Query] = []
        for _ in range(n_a * 20):
            if len(queries_a) >= n_a:
                break
            city, entity_type = rng.choices(cities, weights)[0], rng.choice(types)
            lon, lat = rng.choice(points[(city, entity_type)])
            half_m, aspect = rng.uniform(300, 1500), rng.uniform(0.6, 1.6)
            for _step in range(12):
                dlat = half_m / METRES_PER_DEGREE
                dlon = half_m * aspect / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
                bbox = [round(lon - dlon, 5), round(lat - dlat, 5), round(lon + dlon, 5), round(lat + dlat, 5)]
                args = (entity_type, city, bbox[0], bbox[2], bbox[1], bbox[3], LIMIT + 1)
                n = _count(db, SQL_A, args)
                if n < 24:
                    half_m *= 1.4
                elif n > LIMIT:
                    half_m /= 1.3
                else:
                    query = urlencode(
                        {"type": entity_type, "city": city, "bbox": ",".join(f"{v:.5f}" for v in bbox), "limit": LIMIT},
                        safe=",:",
                    )
                    queries_a.append(Query("a", f"/api/v1/entities?{query}", SQL_A, args, n))
                    break

        # (b) a point within 150 m of a random entity, kept when 500 m around it hold 5–100 entities
        queries_b: list[Query] = []
        for _ in range(n_b * 20):
            if len(queries_b) >= n_b:
                break
            lon, lat = rng.choice(everything)
            lat = round(lat + rng.uniform(-150, 150) / METRES_PER_DEGREE, 5)
            lon = round(lon + rng.uniform(-150, 150) / (METRES_PER_DEGREE * math.cos(math.radians(lat))), 5)
            args = near_args(lat, lon)
            n = _count(db, SQL_B, args)
            if 5 <= n <= LIMIT:
                query = urlencode({"near": f"{lat:.5f},{lon:.5f},{RADIUS_M:g}", "limit": LIMIT}, safe=",")
                queries_b.append(Query("b", f"/api/v1/entities?{query}", SQL_B, args, n))

        # (c) every sensor, in a shuffled order, over the full 7 days
        sensors = [row[0] for row in db.execute("SELECT DISTINCT entity_id FROM observations ORDER BY entity_id")]
        rng.shuffle(sensors)
        start, end = params.t0, params.t0 + timedelta(days=params.days)
        history = urlencode(
            {"attribute": params.attribute, "aggregate": "avg", "interval": "1h", "from": iso_z(start), "to": iso_z(end)},
            safe=":",
        )
        queries_c = [
            Query(
                "c",
                f"/api/v1/entities/{quote(entity_id, safe='')}/history?{history}",
                SQL_C,
                (entity_id, params.attribute, sql_time(start), sql_time(end)),
                params.days * 24,
            )
            for entity_id in sensors
        ]
    finally:
        db.close()
    if len(queries_a) < n_a or len(queries_b) < n_b:
        raise RuntimeError(f"could only choose {len(queries_a)} (a) and {len(queries_b)} (b) queries")
    return {"a": queries_a, "b": queries_b, "c": queries_c}


# ---- the same queries through NGSI-LD ----------------------------------------------------


def ngsi_ld_path(query: Query, key_values: bool) -> str:
    """Query (a) or (b) asked of /ngsi-ld/v1/entities, normalized or with options=keyValues."""
    if query.kind == "a":
        entity_type, _city, min_lon, max_lon, min_lat, max_lat, _limit = query.args
        ring = [[min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat], [min_lon, max_lat], [min_lon, min_lat]]
        params: dict[str, Any] = {
            "type": entity_type,
            "georel": "within",
            "geometry": "Polygon",
            "coordinates": json.dumps([ring], separators=(",", ":")),
        }
    elif query.kind == "b":
        lat, lon = near_point(query)
        params = {"georel": f"near;maxDistance=={RADIUS_M:g}", "geometry": "Point", "coordinates": f"[{lon},{lat}]"}
    else:
        raise ValueError(f"query ({query.kind}) has no NGSI-LD equivalent here")
    params["limit"] = LIMIT
    if key_values:
        params["options"] = "keyValues"
    return "/ngsi-ld/v1/entities?" + urlencode(params, safe=",")


def ngsi_ld_temporal_path(query: Query) -> str:
    """Query (c) asked of /ngsi-ld/v1/temporal/entities/{id}: hourly avg over the same window."""
    entity_id, attribute, start, end = query.args
    params = {
        "attrs": attribute, "timerel": "between", "timeAt": iso_z(_sql_datetime(start)), "endTimeAt": iso_z(_sql_datetime(end)),
        "options": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "PT1H",
    }  # fmt: skip
    return f"/ngsi-ld/v1/temporal/entities/{quote(entity_id, safe='')}?" + urlencode(params, safe=":")


def _sql_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def near_point(query: Query) -> tuple[float, float]:
    """(lat, lon) of a query (b), from its SQL arguments (see near_args)."""
    return query.args[4], query.args[7]


def ngsi_ld_expected(db: sqlite3.Connection, query: Query) -> list[dict[str, Any]]:
    """The rows the NGSI-LD form of query (a) or (b) must return."""
    if query.kind == "a":
        entity_type, _city, *box, limit = query.args
        return run_entities(db, Query("a", query.path, SQL_A_ANY_CITY, (entity_type, *box, limit), 0))
    return run_entities(db, query)


def distance_m(lat: float, lon: float, location: dict[str, Any]) -> float:
    """The API's equirectangular distance from (lat, lon) to a Point."""
    p_lon, p_lat = location["coordinates"][:2]
    m_lon = METRES_PER_DEGREE * math.cos(math.radians(lat))
    return math.hypot((p_lat - lat) * METRES_PER_DEGREE, (p_lon - lon) * m_lon)


# ---- running the SQL ----------------------------------------------------------------


def run_entities(db: sqlite3.Connection, query: Query) -> list[dict[str, Any]]:
    """Rows parsed as the application must parse them (JSON columns decoded)."""
    return [
        {
            "id": r[0],
            "type": r[1],
            "city": r[2],
            "informationSystem": r[3],
            "location": _json(r[4]),
            "attributes": _json(r[5]),
            "observedAt": r[6],
            "modifiedAt": r[7],
        }
        for r in db.execute(query.sql, query.args).fetchall()
    ]


def _json(value: Any) -> Any:
    """A JSON column's value: SQLite gives its text, psycopg the decoded value."""
    return json.loads(value) if isinstance(value, str) else value


def run_history(db: sqlite3.Connection, query: Query) -> list[tuple[int, float, int]]:
    return db.execute(query.sql, query.args).fetchall()


RUNNERS: dict[str, Callable[[sqlite3.Connection, Query], list]] = {"a": run_entities, "b": run_entities, "c": run_history}


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def time_sql(path: Path, queries: list[Query], iterations: int, warmup: int = 100, database_url: str | None = None) -> dict[str, Any]:
    """p50/p99 of the hand-written SQL, one query after another on one connection (on the SQLite
    file, or on the PostgreSQL database of `database_url` in its dialect)."""
    if database_url:
        db = connect_postgres(database_url)
        queries = [for_postgres(q) for q in queries]
    else:
        db = connect(path)
    run = RUNNERS[queries[0].kind]
    try:
        for i in range(warmup):
            run(db, queries[i % len(queries)])
        latencies = []
        rows = 0
        busy_0, own_0 = machine_busy_seconds(), time.process_time()
        started = time.perf_counter()
        for i in range(iterations):
            query = queries[i % len(queries)]
            t = time.perf_counter_ns()
            result = run(db, query)
            latencies.append(time.perf_counter_ns() - t)
            rows += len(result)
            if len(result) != query.expected_rows:
                raise RuntimeError(f"SQL returned {len(result)} rows for {query.path}, expected {query.expected_rows}")
        wall = time.perf_counter() - started
        other = max(0.0, machine_busy_seconds() - busy_0 - (time.process_time() - own_0)) / wall
    finally:
        db.close()
    latencies.sort()
    return {
        "iterations": iterations,
        "p50_ms": percentile(latencies, 50) / 1e6,
        "p99_ms": percentile(latencies, 99) / 1e6,
        "mean_ms": sum(latencies) / len(latencies) / 1e6,
        "qps": round(iterations / wall, 1),
        "mean_rows": round(rows / iterations, 1),
        "other_cpu_cores": round(other, 2),
    }
