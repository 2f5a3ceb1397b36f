"""`WORKERS=N`: several worker processes on one port (CONTRACTS §1), and what that needs.

With PostgreSQL and Redis the workers share everything: a turn is ordered by its conversation row
(`SELECT … FOR UPDATE`), live wake-ups go through Redis pub/sub, and any worker may take any
request or WebSocket. The embedded mode serves several workers too (CONTRACTS §1), with a
warning, because it is slower there:

- SQLite: the turn gate that queues turns for SQLite's single writer is an asyncio lock inside one
  process; across processes turns wait on SQLite's own file lock (`busy_timeout`, then 503 with
  `Retry-After`). The parent process migrates and creates the secret key once, before the workers.
- no Redis: the hub that wakes a widget's or the console's WebSocket is in-process, so a message
  written by another worker reaches the socket at its next poll (`LIVE_POLL_SECONDS`) instead of at
  once; nothing is lost, since sockets read the transcript by cursor.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.engine.metrics import MULTIPROC_ENV
from bot.settings import Settings


def caveat(settings: Settings) -> str | None:
    """What several workers cost in this configuration (logged at start), or None when nothing."""
    if settings.workers <= 1:
        return None
    missing = []
    if not settings.database_url.startswith("postgresql"):
        missing.append("PostgreSQL (DATABASE_URL): turns of different workers wait on SQLite's file lock")
    if not settings.redis_url:
        missing.append("Redis (REDIS_URL): live messages from another worker arrive at the next poll")
    if not missing:
        return None
    return f"WORKERS={settings.workers} without " + "; without ".join(missing)


def prepare_embedded(settings: Settings) -> None:
    """Several workers on SQLite: migrate once here, before they start (not all at the same moment)."""
    if settings.workers > 1 and not settings.database_url:
        from bot.store.db import migrate

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate(settings.resolved_database_url)


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
    """The embedded NLU's models, trained before the app starts when the data or the code changed,
    in a process of its own: training imports scikit-learn and SciPy (~67 MB of memory), which a
    serving process then never holds; several workers do not all train at the same moment."""
    if settings.nlu_engine != "embedded":
        return
    from nlu.engine import models_current

    model_dir = settings.data_dir / "models"
    if models_current(model_dir):
        return
    command = [sys.executable, "-m", "nlu", "parse", "--model-dir", str(model_dir), "はい"]
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
