"""Callback tickets: a resident asked to be called back (name, phone, a time window, a topic),
stored for the department's staff and closed by them with an outcome."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


class CallbackTicket(Base):
    """A resident asked to be called back: stored for the department's staff, closed with an outcome."""

    __tablename__ = "callback_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    department: Mapped[str] = mapped_column(String(60), index=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(30))
    window: Mapped[str] = mapped_column(String(60))
    topic: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | closed
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
