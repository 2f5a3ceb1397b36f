"""`GET /metrics`: the instruments of bot/engine/metrics.py (all workers' with WORKERS>1) plus gauges read
from the database at scrape time, so they are the same whichever worker answers."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from bot.channels.line_store import OutboxRow, PendingEvent
from bot.engine import metrics as instruments
from bot.http.deps import ServicesDep
from bot.store.models import Handoff

log = logging.getLogger(__name__)


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
        "madoguchi_turns_in_flight": (
            "Turns in progress in the worker that answered this scrape",
            float(instruments.in_flight()),
        ),
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
