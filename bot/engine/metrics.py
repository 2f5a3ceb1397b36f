"""The app's Prometheus instruments (prometheus-client) and `/readyz`'s saturation figure; the
endpoint `GET /metrics` is bot/http/metrics_endpoint.py.

What a turn records (bot/engine/dispatcher.py): its latency by channel, the NLU parse time, the turn's
transaction time, and a count by channel and intent. Labels carry channel and intent names only:
never a sender, conversation, text or token. An intent from a button payload (which a client can
write freely) is counted as `payload`, so a client cannot mint label values.

Computed at scrape from the database, so they are the same whichever worker answers: LINE events
stored but not yet processed, LINE outbox rows pending, hand-offs waiting for a person and the age
of the oldest. With several workers (`WORKERS>1`) the counters and histograms are kept in
PROMETHEUS_MULTIPROC_DIR (set by `python server.py`) and every scrape sums all workers. With one
worker the LINE processing child (bot/channels/line_child.py) still runs in a process of its own: it
writes to a directory of its own (`ProcessingChild.metrics_dir`), which the scrape adds to the
worker's in-process figures.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram

if TYPE_CHECKING:
    from bot.engine.turn import Parse

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's: set before this module is imported

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
