"""What each staff account did (notes included): the staff side's audit table."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


class StaffAction(Base):
    """One thing a staff account did: take, release, reply, note, transfer, fill, close, callback_close.
    A `note` row is an internal note: it is never a transcript row, so the resident never sees it."""

    __tablename__ = "staff_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    staff_id: Mapped[str] = mapped_column(String(80), index=True)
    action: Mapped[str] = mapped_column(String(30))
    department: Mapped[str | None] = mapped_column(String(60), nullable=True)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
