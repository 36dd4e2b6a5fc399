"""Run the API under uvicorn, in one process or several.

`uvicorn --workers N` shares one listening socket, and the first idle worker
accepts every pending connection at once: clients that open their keep-alive
connections together all land on one worker (the benchmark saw one core busy
out of two). Here each worker process binds its own SO_REUSEPORT socket, so
the kernel spreads connections over the workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket

import uvicorn

APP = "icity.app:create_app"


def _config(log_level: str) -> uvicorn.Config:
    from icity.config import get_settings

    # a bounded graceful shutdown: requests under way get ICITY_SHUTDOWN_TIMEOUT_S to finish, then
    # the server stops anyway (unbounded, one stuck request kept it from ever exiting on SIGTERM)
    return uvicorn.Config(
        APP, factory=True, access_log=False, log_level=log_level,
        timeout_graceful_shutdown=get_settings().shutdown_timeout_s,
    )  # fmt: skip


def worker_socket(host: str, port: int) -> socket.socket:
    """A worker's own SO_REUSEPORT socket, bound but not listening: uvicorn listens on it once the
    app's startup is done (icity.warmup), so the kernel hands no connection to a worker still
    loading what requests need (a listening socket joins the port's group at once)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _serve_on_shared_port(host: str, port: int, log_level: str) -> None:
    uvicorn.Server(_config(log_level)).run(sockets=[worker_socket(host, port)])


def serve(host: str, port: int, workers: int = 1, log_level: str = "info", background: bool = False) -> int:
    """Serve until interrupted; returns an exit code. With ``background``, this (main) process also
    runs the platform's background work (icity.background) — once, however many workers serve the API."""
    if not background:
        return _serve(host, port, workers, log_level)
    from icity.background import background_tasks
    from icity.config import get_settings

    show_platform_logs()
    tasks = background_tasks(get_settings())
    for task in tasks:
        task.start()
    try:
        return _serve(host, port, workers, log_level)
    finally:
        for task in tasks:
            task.stop()


def show_platform_logs(level: int = logging.INFO) -> None:
    """Print iCity's own log lines (harvest runs, MQTT ingest) beside uvicorn's. Only the `icity` logger:
    httpx logs every URL it fetches at INFO, and a source's URL may carry its API key."""
    logger = logging.getLogger("icity")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(level)


def _serve(host: str, port: int, workers: int, log_level: str) -> int:
    if workers <= 1:
        config = _config(log_level)
        config.host, config.port = host, port
        uvicorn.Server(config).run()
        return 0
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_serve_on_shared_port, args=(host, port, log_level)) for _ in range(workers)]
    for process in processes:
        process.start()

    def stop(_signum, _frame) -> None:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests under way

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for process in processes:
        process.join()
    return max(process.exitcode or 0 for process in processes)
