"""A light HTTP/1.1 load generator: N concurrent keep-alive connections on one asyncio loop.

Run as a separate process by bench/query.py so that the client's CPU is not
the server's. Reads a JSON spec on stdin:

    {"port": 8000, "paths": ["/api/v1/…", …], "concurrency": 16,
     "warmup": 100, "duration": 4.0, "max_requests": 20000,
     "check": "items" | "buckets" | "entities" | "aggregated", "check_every": 10, "server_pids": [123, …],
     "headers": {"X-API-Key": "…"},      (optional: sent with every request)
     "variants": [{}, {"X-API-Key": "…"}], (optional: request k sends the headers of
                                           variants[k % n] on the path of request k - k % n,
                                           so consecutive requests compare the variants on
                                           the same path; latencies also reported per variant)
     "variant_ports": [8000, 8001],       (optional, with variants: variant v asks the server on
                                           variant_ports[v], on a connection of its own)
     "variant_paths": [[…], […]]}         (optional, with variants: variant v asks
                                           variant_paths[v][i] where the others ask paths[i],
                                           e.g. the same query through /api/v1 and /ngsi-ld/v1)

Requests take the paths in turn (round robin over all connections). Every
response must be 200 with a non-empty body; every `check_every`-th body is
decoded and its shape checked. Prints one JSON object with p50/p99 (ms),
requests/s and the CPU used by the server and by this client; exits 1 if any
response is wrong.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

try:
    import orjson

    loads = orjson.loads
except ImportError:  # pragma: no cover
    loads = json.loads

MAX_HEADER = 64 * 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BadResponse(Exception):
    pass


def process_cpu_seconds(pids: list[int]) -> dict[int, float]:
    """user+system CPU seconds of each of these processes (from /proc; 0 for ones gone)."""
    seconds = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            seconds[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
        except (FileNotFoundError, ProcessLookupError, IndexError):
            seconds[pid] = 0.0
    return seconds


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy since boot, over all cores (from /proc/stat)."""
    with open("/proc/stat", "rb") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def check_body(kind: str, body: bytes) -> None:
    data = loads(body)
    if kind == "items":
        if not isinstance(data, dict) or not isinstance(data.get("items"), list) or not data["items"]:
            raise BadResponse(f"expected a non-empty items list, got {body[:200]!r}")
    elif kind == "entities":  # /api/v1's page or NGSI-LD's array of entities
        entities = data.get("items") if isinstance(data, dict) else data
        if not isinstance(entities, list) or not entities:
            raise BadResponse(f"expected a non-empty list of entities, got {body[:200]!r}")
    elif kind == "aggregated":
        # /api/v1's history buckets, or NGSI-LD's aggregated temporal entity:
        # {"id", "type", attribute: {"type", method: [[value, start, end], …]}}
        series = [v for v in data.values() if isinstance(v, list)]
        series += [v for attribute in data.values() if isinstance(attribute, dict) for v in attribute.values() if isinstance(v, list)]
        if not any(len(v) >= 100 for v in series):
            raise BadResponse(f"expected an aggregated attribute with hourly periods, got {body[:200]!r}")
    elif kind == "buckets":
        # the history of one attribute: one list with an entry per hourly bucket
        lists = [v for v in (data.values() if isinstance(data, dict) else [data]) if isinstance(v, list)]
        if not lists or not any(len(v) >= 100 for v in lists):
            raise BadResponse(f"expected a list of hourly buckets, got {body[:200]!r}")


def render_headers(headers: dict[str, str] | None) -> str:
    return "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())


class Connection:
    def __init__(self, port: int, headers: dict[str, str] | None = None):
        self.port = port
        self.extra_headers = render_headers(headers)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def get(self, path: str, variant_headers: str = "", variant: int = 0) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept: application/json\r\n"
            f"{self.extra_headers}{variant_headers}\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        if len(head) > MAX_HEADER:
            raise BadResponse("response header too large")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = None
        chunked = False
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            parts = []
            for _ in range(100_000):  # bounded
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        elif length is not None:
            body = await self.reader.readexactly(length)
        else:
            raise BadResponse("response without Content-Length or chunked encoding")
        if close:
            self.writer.close()
            self.writer = None
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class PortPerVariant:
    """One keep-alive connection per variant, each to its own port: with `variant_ports`, consecutive
    requests compare two servers (iCity and datasette) on the same query, in the same machine state."""

    def __init__(self, ports: list[int], headers: dict[str, str] | None = None):
        self.by_variant = [Connection(port, headers) for port in ports]
        self.writer = None

    async def open(self) -> None:
        await asyncio.gather(*(c.open() for c in self.by_variant))

    async def get(self, path: str, variant_headers: str = "", variant: int = 0) -> tuple[int, bytes]:
        return await self.by_variant[variant].get(path, variant_headers)

    def close(self) -> None:
        for c in self.by_variant:
            c.close()
            c.writer = None


async def run(spec: dict) -> dict:
    paths: list[str] = spec["paths"]
    concurrency: int = spec["concurrency"]
    warmup: int = spec.get("warmup", 100)
    duration: float = spec.get("duration", 4.0)
    max_requests: int = spec.get("max_requests", 20_000)
    check: str | None = spec.get("check")
    check_every: int = max(1, spec.get("check_every", 10))
    server_pids: list[int] = spec.get("server_pids", [])
    hard_deadline = time.monotonic() + duration + 60  # never run away, whatever happens

    if spec.get("variant_ports"):
        connections = [PortPerVariant(spec["variant_ports"], spec.get("headers")) for _ in range(concurrency)]
    else:
        connections = [Connection(spec["port"], spec.get("headers")) for _ in range(concurrency)]
    await asyncio.gather(*(c.open() for c in connections))
    variants = [render_headers(v) for v in spec.get("variants") or [{}]]
    variant_paths: list[list[str]] = spec.get("variant_paths") or [paths] * len(variants)
    if len(variant_paths) != len(variants) or any(len(v) != len(paths) for v in variant_paths):
        raise SystemExit("variant_paths: one list per variant, each as long as paths")
    state = {"next": 0, "issued": 0}
    latencies: list[int] = []
    latencies_by_variant: list[list[int]] = [[] for _ in variants]
    sizes = {"bytes": 0, "checked": 0}
    errors: list[str] = []

    async def worker(conn: Connection, budget: int, deadline: float | None, record: bool) -> None:
        while state["issued"] < budget and (deadline is None or time.monotonic() < deadline):
            if time.monotonic() > hard_deadline or len(errors) >= 5:
                return
            state["issued"] += 1
            request = state["next"]
            state["next"] = request + 1
            variant = request % len(variants)
            path = variant_paths[variant][(request // len(variants)) % len(paths)]
            started = time.perf_counter_ns()
            try:
                status, body = await conn.get(path, variants[variant], variant)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, BadResponse) as exc:
                errors.append(f"{path}: {type(exc).__name__}: {exc}")
                conn.close()
                conn.writer = None
                continue
            elapsed = time.perf_counter_ns() - started
            if status != 200 or not body:
                errors.append(f"{path}: HTTP {status}: {body[:300]!r}")
                continue
            if check and state["issued"] % check_every == 0:
                try:
                    check_body(check, body)
                    sizes["checked"] += 1
                except (BadResponse, ValueError) as exc:
                    errors.append(f"{path}: {exc}")
                    continue
            if record:
                latencies.append(elapsed)
                latencies_by_variant[variant].append(elapsed)
                sizes["bytes"] += len(body)

    # warm-up, not recorded
    state["issued"] = 0
    await asyncio.gather(*(worker(c, warmup, None, False) for c in connections))
    # measured phase: until `duration` seconds or `max_requests`, whichever first
    state["issued"] = 0
    cpu_server_0 = process_cpu_seconds(server_pids)
    busy_0 = machine_busy_seconds()
    cpu_client_0 = time.process_time()
    started = time.perf_counter()
    deadline = time.monotonic() + duration
    await asyncio.gather(*(worker(c, max_requests, deadline, True) for c in connections))
    wall = time.perf_counter() - started
    cpu_server_1 = process_cpu_seconds(server_pids)
    cpu_by_pid = {pid: cpu_server_1[pid] - cpu_server_0[pid] for pid in server_pids}
    cpu_server = sum(cpu_by_pid.values())
    cpu_client = time.process_time() - cpu_client_0
    busy = machine_busy_seconds() - busy_0
    for c in connections:
        c.close()

    latencies.sort()
    for variant_latencies in latencies_by_variant:
        variant_latencies.sort()

    def pct(p: float, values: list[int] = latencies) -> float | None:
        if not values:
            return None
        return values[min(len(values) - 1, int(p / 100 * len(values)))] / 1e6

    return {
        "ok": not errors,
        "errors": errors[:5],
        "concurrency": concurrency,
        "requests": len(latencies),
        "seconds": round(wall, 3),
        "rps": round(len(latencies) / wall, 1) if wall else None,
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "max_ms": latencies[-1] / 1e6 if latencies else None,
        "mean_ms": sum(latencies) / len(latencies) / 1e6 if latencies else None,
        "mean_bytes": round(sizes["bytes"] / len(latencies)) if latencies else None,
        "bodies_checked": sizes["checked"],
        "server_cpu_cores": round(cpu_server / wall, 2) if wall and server_pids else None,
        "server_cpu_cores_by_process": [round(v / wall, 2) for v in cpu_by_pid.values()] if wall else [],
        "client_cpu_cores": round(cpu_client / wall, 2) if wall else None,
        # whatever else kept the machine busy meanwhile (noise: other programs)
        "other_cpu_cores": round(max(0.0, busy - cpu_server - cpu_client) / wall, 2) if wall and server_pids else None,
        "variants": [
            {"requests": len(v), "p50_ms": pct(50, v), "p99_ms": pct(99, v)} for v in latencies_by_variant
        ],
    }


def main() -> int:
    spec = json.loads(sys.stdin.read())
    try:
        from uvloop import run as run_loop
    except ImportError:  # pragma: no cover
        run_loop = asyncio.run
    result = run_loop(run(spec))
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
