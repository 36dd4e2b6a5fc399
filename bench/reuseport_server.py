"""Serve the real app from N uvicorn processes, each with its own SO_REUSEPORT socket.

`uvicorn --workers N` shares one listening socket: the first idle worker
accepts every pending connection at once, so a client that opens its
keep-alive connections together lands them all on one worker. With
SO_REUSEPORT the kernel spreads connections over the workers' sockets.
Used by bench/query.py to show what several workers give when they do share
the load:

    python bench/reuseport_server.py --port 8000 --workers 2
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import socket
import sys


def serve(host: str, port: int) -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    config = uvicorn.Config(
        "icity.app:create_app",
        factory=True,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
    uvicorn.Server(config).run(sockets=[sock])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=serve, args=(args.host, args.port)) for _ in range(args.workers)]
    for worker in workers:
        worker.start()

    def stop(_signum, _frame) -> None:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()  # SIGTERM: uvicorn shuts down gracefully

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for worker in workers:
        worker.join()
    return max((w.exitcode or 0) for w in workers) if all(w.exitcode is not None for w in workers) else 1


if __name__ == "__main__":
    sys.exit(main())
