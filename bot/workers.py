"""`WORKERS=N`: several worker processes on one port (CONTRACTS §1), and what that needs.

With PostgreSQL and Redis the workers share everything: a turn is ordered by its conversation row
(`SELECT … FOR UPDATE`), live wake-ups go through Redis pub/sub, and any worker may take any
request or WebSocket. The embedded mode cannot be shared, so more than one worker is refused there:

- SQLite: the turn gate that queues turns for SQLite's single writer is an asyncio lock inside one
  process; across processes turns would fall back on SQLite's file lock (`busy_timeout`, then 503),
  and every worker would run the migrations and create the secret key file at the same moment.
- no Redis: the hub that wakes a widget's or the console's WebSocket is in-process, so a staff reply
  handled by one worker would never reach a widget connected to another.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.settings import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def refusal(settings: Settings) -> str | None:
    """Why `settings.workers` cannot be served as configured, or None when it can."""
    if settings.workers <= 1:
        return None
    missing = []
    if not settings.database_url.startswith("postgresql"):
        missing.append("DATABASE_URL (PostgreSQL)")
    if not settings.redis_url:
        missing.append("REDIS_URL")
    if not missing:
        return None
    return (
        f"WORKERS={settings.workers} needs {' and '.join(missing)}: the embedded mode (SQLite, in-process "
        "wake-ups) is one process. Set WORKERS=1, or configure PostgreSQL and Redis."
    )


def prepare_metrics_dir(settings: Settings) -> Path | None:
    """Several workers: prometheus-client's multiprocess directory under DATA_DIR, emptied at start
    (files of a previous run would add to this run's counters). Set in the environment before the
    workers start, so each of them writes there. One worker: None (plain in-process metrics)."""
    if settings.workers <= 1:
        return None
    path = (settings.data_dir / "prometheus").resolve()
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def prepare_nlu_model(settings: Settings) -> None:
    """Several workers with the embedded NLU: train (or check) the model once, before they start,
    so that they do not all train it and write the same files at the same moment."""
    if settings.workers <= 1 or settings.nlu_engine != "embedded":
        return
    model_dir = str(settings.data_dir / "models")
    command = [sys.executable, "-m", "nlu", "parse", "--model-dir", model_dir, "はい"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def add_worker_header(app: FastAPI) -> None:
    """`WORKER_HEADER=1`: every HTTP response names the worker process that served it (a test of the
    load balancer counts them). Off by default: a pid tells outsiders nothing useful."""
    app.add_middleware(_WorkerHeader)


class _WorkerHeader:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.header = (b"x-madoguchi-worker", str(os.getpid()).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, tagged)
