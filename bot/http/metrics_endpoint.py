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
from prometheus_client.samples import Sample
from sqlalchemy import func, select

from bot.channels.line_store import OutboxRow, PendingEvent
from bot.engine import metrics as instruments
from bot.engine.metrics import MULTIPROC_ENV
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


class _Summed(Collector):
    """Several sources' families as one: samples with the same name and labels added (`_created`,
    a timestamp, keeps the earliest). The text format allows one family of each name."""

    def __init__(self, *sources: CollectorRegistry) -> None:
        self._sources = sources

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {}
        values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
        for source in self._sources:
            for family in source.collect():
                if family.name not in families:
                    families[family.name] = Metric(family.name, family.documentation, family.type, family.unit)
                    values[family.name] = {}
                merged = values[family.name]
                for sample in family.samples:
                    key = (sample.name, tuple(sorted(sample.labels.items())))
                    if key not in merged:
                        merged[key] = sample.value
                    elif sample.name.endswith("_created"):
                        merged[key] = min(merged[key], sample.value)
                    else:
                        merged[key] += sample.value
        for name, family in families.items():
            family.samples = [Sample(n, dict(labels), v) for (n, labels), v in values[name].items()]
            yield family


def _instruments(request: Request) -> CollectorRegistry:
    """The turn instruments: every worker's (WORKERS>1), else this process's plus, when its LINE
    processing child runs, the child's (its own multiprocess directory)."""
    if os.environ.get(MULTIPROC_ENV):
        shared = CollectorRegistry()
        multiprocess.MultiProcessCollector(shared)  # every worker's (and their children's)
        return shared
    channel = getattr(request.app.state, "line", None)
    child = getattr(channel, "child", None)
    child_dir = getattr(child, "metrics_dir", None)
    if child_dir is None or not child_dir.is_dir():
        return REGISTRY
    from_child = CollectorRegistry()
    multiprocess.MultiProcessCollector(from_child, path=str(child_dir))
    summed = CollectorRegistry()
    summed.register(_Summed(REGISTRY, from_child))
    return summed


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
        body = generate_latest(_instruments(request)) + generate_latest(snapshot)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return api
