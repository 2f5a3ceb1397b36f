"""Tables of the outreach notices (migration 0009_outreach): what was sent, and opt-outs.

In knowledge/ beside the other records of a resident (reservations, consents), so the chat
handler for 「お知らせを止めて」 and the sending job both read them without importing each other."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


class OutreachDelivery(Base):
    """One notice sent: its `dedupe_key` (rule, recipient, occurrence) is unique, so a notice is
    claimed once across runs, retries and workers."""

    __tablename__ = "outreach_deliveries"
    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_outreach_deliveries_dedupe_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(240))
    rule_id: Mapped[str] = mapped_column(String(60))
    topic: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(220))  # "resident:<id>" or "conv:<conversation id>"
    conversation_id: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12))  # queued (LINE outbox) | sent
    outbox_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NoticeOptout(Base):
    """A resident (or an anonymous chat) stopped a topic of notices, or all of them (`*`)."""

    __tablename__ = "notice_optouts"
    __table_args__ = (UniqueConstraint("subject", "topic", name="uq_notice_optouts_subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(220))
    topic: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


ALL_TOPICS = "*"


def subjects(*, resident_id: str | None, conversation_id: str | None) -> list[str]:
    """The keys an opt-out or a weekly count may be recorded under for one recipient."""
    out = []
    if resident_id:
        out.append(f"resident:{resident_id}")
    if conversation_id:
        out.append(f"conv:{conversation_id}")
    return out
