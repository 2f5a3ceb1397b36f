"""The LINE channel's tables and tuning, without the LINE SDK: what the acknowledging process, the
metrics and the retention jobs need (the SDK, ~40 MB, is loaded only where events are processed and
messages sent: bot/channels/line_outbox.py, line_process.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.db import Base
from bot.store.models import utcnow


class OutboxRow(Base):
    __tablename__ = "line_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recipient_id: Mapped[str] = mapped_column(String(64))  # userId, groupId or roomId
    reply_token: Mapped[str | None] = mapped_column(String(255), nullable=True)  # None: push
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    retry_key: Mapped[str] = mapped_column(String(36))
    event_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | sent | failed
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


CLAIMED = (
    OutboxRow.id,
    OutboxRow.recipient_id,
    OutboxRow.reply_token,
    OutboxRow.messages,
    OutboxRow.retry_key,
    OutboxRow.event_at,
    OutboxRow.attempts,
)


class PendingEvent(Base):
    """A webhook event accepted but not processed when the server stopped; re-queued at start."""

    __tablename__ = "line_pending_events"

    webhook_event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # the processor that took it (bot/channels/line_claims.py), until `lease_until`
    claimed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass
class LineTuning:
    """Timings of the LINE channel; tests and the benchmark shorten them."""

    request_timeout: float = 10.0
    reply_deadline: float = 50.0  # seconds after the event; later, push instead of reply
    reply_attempts: int = 3  # failed replies before pushing
    max_attempts: int = 12
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    lease_seconds: float = 60.0
    poll_seconds: float = 5.0
    loading_after: float = 1.0  # start the loading animation when a turn takes longer
    loading_seconds: int = 20
    workers: int = 8
    queue_size: int = 1000
    enqueue_wait: float = 2.0  # how long /callback waits for room in a full queue
    drain_seconds: float = 10.0  # graceful shutdown: finish queued events for this long
    # PostgreSQL: False answers a webhook once its events are in PostgreSQL's WAL buffer, without
    # waiting for the disk flush (~3 ms here): survives an app crash, not a database-host crash
    # within ~0.6 s (3 x wal_writer_delay), after LINE was told 200. True (default): durable.
    ack_synchronous_commit: bool = True
    # "process": events are processed in a child process of their own (bot/channels/line_child.py),
    # so turns never hold the GIL the acknowledgements need; "thread": on a thread of its own with
    # its own event loop and database pool (bot/channels/line_process.py), so turns never hold the
    # loop that answers webhooks; "inline": on the app's loop (the acknowledgement then waits
    # behind turns' steps). "auto": "process" on PostgreSQL when the app built its own interpreter,
    # else "thread" (SQLite's one writer is a queue of one process; an interpreter a test injected
    # cannot cross into another process). LINE_PROCESSING in the environment overrides "auto".
    processing: Literal["auto", "process", "thread", "inline"] = "auto"
    claim_lease_seconds: float = 30.0  # a claimed pending event is another's after this (renewed)
    orphan_after_seconds: float = 10.0  # an unclaimed pending event this old is anyone's to take
    process_nice: int = 10  # the processing child's CPU priority below the acknowledgements'
    restart_first_seconds: float = 0.5  # a processing child that died: restarted after this,
    restart_max_seconds: float = 30.0  # doubling up to this


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def outbox_rows(
    *,
    recipient_id: str,
    batches: Sequence[list[dict[str, Any]]],
    reply_token: str | None = None,
    event_at: datetime | None = None,
    now: datetime | None = None,
) -> list[OutboxRow]:
    """Outbox rows (one per batch; the first may use the reply token) for a caller's transaction."""
    now = now or utcnow()
    return [
        OutboxRow(
            recipient_id=recipient_id,
            reply_token=reply_token if i == 0 else None,
            messages=batch,
            retry_key=str(uuid.uuid4()),
            event_at=event_at,
            attempts=0,
            next_attempt_at=now,
            status="pending",
            created_at=now,
        )
        for i, batch in enumerate(batches)
        if batch
    ]
