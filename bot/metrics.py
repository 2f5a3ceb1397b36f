"""`GET /metrics` (Prometheus text format, prometheus-client) and `/readyz`'s saturation figure.

What a turn records (bot/dispatcher.py): its latency by channel, the NLU parse time, the turn's
transaction time, and a count by channel and intent. Labels carry channel and intent names only:
never a sender, conversation, text or token. An intent from a button payload (which a client can
write freely) is counted as `payload`, so a client cannot mint label values.

Computed at scrape from the database, so they are the same whichever worker answers: LINE events
stored but not yet processed, LINE outbox rows pending, hand-offs waiting for a person and the age
of the oldest. With several workers (`WORKERS>1`) the counters and histograms are kept in
PROMETHEUS_MULTIPROC_DIR (set by `python server.py`) and every scrape sums all workers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from bot.channels.line_outbox import OutboxRow, PendingEvent
from bot.deps import ServicesDep
from bot.models import Handoff
from bot.turn import Parse

log = logging.getLogger(__name__)

_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
TURN_SECONDS = Histogram(
    "madoguchi_turn_seconds",
    "One turn from arrival to commit (lock wait, NLU and transaction included)",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
NLU_SECONDS = Histogram("madoguchi_nlu_parse_seconds", "NLU parse of one message", buckets=_FAST)
DB_SECONDS = Histogram(
    "madoguchi_turn_transaction_seconds",
    "The turn's database transaction, claim to commit (waiting for SQLite's writer included)",
    ["channel"],
    buckets=_FAST + (2.5, 5.0, 10.0),
)
TURNS = Counter("madoguchi_turns_total", "Turns handled", ["channel", "intent"])
DELIVERY_FAILURES = Counter(
    "madoguchi_delivery_failures_total", "Messages given up or live notifications that failed", ["channel"]
)

_in_flight = 0  # turns of this worker between arrival and commit (`/readyz`)


def in_flight() -> int:
    return _in_flight


def intent_label(parse: Parse) -> str:
    return "payload" if parse.from_payload and parse.intent != "follow" else (parse.intent or "none")


@contextlib.contextmanager
def turn_timer(channel: str) -> Iterator[None]:
    global _in_flight
    _in_flight += 1
    started = time.perf_counter()
    try:
        yield
    finally:
        _in_flight -= 1
        TURN_SECONDS.labels(channel_label(channel)).observe(time.perf_counter() - started)


def channel_label(channel: str) -> str:
    return channel if channel in ("web", "line", "staff") else "other"


class _Snapshot(Collector):
    """Gauges read from the database just before this scrape."""

    def __init__(self, values: dict[str, tuple[str, float]]) -> None:
        self._values = values

    def collect(self) -> Iterable[Metric]:
        for name, (doc, value) in self._values.items():
            yield GaugeMetricFamily(name, doc, value=value)


async def _database_gauges(request: Request) -> dict[str, tuple[str, float]]:
    services = request.app.state.services
    now = datetime.now(UTC)
    try:
        async with services.sessionmaker() as db:
            events = await db.scalar(select(func.count()).select_from(PendingEvent))
            outbox = await db.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "pending"))
            handoffs = await db.scalar(select(func.count()).select_from(Handoff).where(Handoff.status == "pending"))
            oldest = await db.scalar(select(func.min(Handoff.requested_at)).where(Handoff.status == "pending"))
    except Exception as exc:  # a scrape reports, it does not fail
        log.warning("metrics: database gauges unavailable", extra={"kind": exc.__class__.__name__})
        return {"madoguchi_metrics_database_up": ("1 when the database gauges could be read", 0.0)}
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)  # SQLite returns naive UTC
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    return {
        "madoguchi_metrics_database_up": ("1 when the database gauges could be read", 1.0),
        "madoguchi_line_events_pending": ("LINE webhook events stored and not yet processed", float(events or 0)),
        "madoguchi_line_outbox_pending": ("LINE outbox rows waiting to be sent", float(outbox or 0)),
        "madoguchi_handoffs_waiting": ("Hand-offs waiting for a staff member", float(handoffs or 0)),
        "madoguchi_handoff_oldest_wait_seconds": ("Age of the oldest waiting hand-off (0: none)", max(age, 0.0)),
        "madoguchi_turns_in_flight": ("Turns in progress in the worker that answered this scrape", float(_in_flight)),
    }


def router() -> APIRouter:
    api = APIRouter()

    @api.get("/metrics", include_in_schema=False)
    async def metrics(request: Request, _services: ServicesDep) -> Response:
        gauges = await _database_gauges(request)
        snapshot = CollectorRegistry()
        snapshot.register(_Snapshot(gauges))
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            shared = CollectorRegistry()
            multiprocess.MultiProcessCollector(shared)  # every worker's counters and histograms
        else:
            shared = REGISTRY  # this process's metrics
        body = generate_latest(shared) + generate_latest(snapshot)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return api
