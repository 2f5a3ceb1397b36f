"""Department queues for the staff console (CONTRACTS §8): which department a conversation is
queued for (its latest handoff's), the listing a caller may see, audit rows of what staff did.

Times go out in Japan time (ISO 8601 with +09:00), as the console shows them.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.events import Reply
from bot.engine.services import Services
from bot.staff.models import StaffAction
from bot.store.models import Conversation, Handoff, Message
from knowledge.office_hours import GENERAL_FALLBACK

if TYPE_CHECKING:
    from bot.staff.console import StaffIdentity

JST = ZoneInfo("Asia/Tokyo")
URGENT_REASONS = frozenset({"sensitive"})  # DV・虐待: staff must see these first, always
CHANNEL_LABELS = {"web": "Webチャット", "line": "LINE", "shell": "端末"}
NOT_A_QUESTION = frozenset({"greet", "thanks", "goodbye", "affirm", "deny", "request_human", "follow", "cancel"})


def jst(at: datetime | None) -> str | None:
    """ISO 8601 in Japan time: SQLite hands back naive datetimes, which are UTC here."""
    if at is None:
        return None
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(JST).isoformat()


def general_department(services: Services) -> str:
    hours = services.knowledge.office_hours
    return str(getattr(hours, "general_department", GENERAL_FALLBACK))


def department_names(services: Services) -> dict[str, str]:
    catalog = services.knowledge.catalog
    if catalog is None:
        return {}
    return {k: d.name for k, d in catalog.data.departments.items()}


async def latest_handoffs(s: AsyncSession, conversation_ids: list[str]) -> dict[str, Handoff]:
    """Each conversation's latest handoff, in one query."""
    if not conversation_ids:
        return {}
    latest = (
        select(Handoff.conversation_id, func.max(Handoff.id).label("id"))
        .where(Handoff.conversation_id.in_(conversation_ids))
        .group_by(Handoff.conversation_id)
        .subquery()
    )
    rows = await s.scalars(select(Handoff).join(latest, Handoff.id == latest.c.id))
    return {h.conversation_id: h for h in rows}


async def conversation_department(s: AsyncSession, conversation_id: str, services: Services) -> str | None:
    """The department the conversation is queued for: its latest handoff's (総合案内 for one made
    before departments); None when it never went to staff (then only supervisors may open it)."""
    found = await latest_handoffs(s, [conversation_id])
    handoff = found.get(conversation_id)
    if handoff is None:
        return None
    return handoff.department or general_department(services)


async def first_questions(s: AsyncSession, conversation_ids: list[str]) -> dict[str, str]:
    """The first thing each resident asked (not a greeting or a button), for the queue."""
    if not conversation_ids:
        return {}
    rows = await s.execute(
        select(Message.conversation_id, Message.text, Message.intent, Message.payload)
        .where(Message.conversation_id.in_(conversation_ids), Message.direction == "in")
        .order_by(Message.id)
    )
    found: dict[str, str] = {}
    for conversation_id, text, intent, payload in rows:
        if conversation_id in found or not text or payload or intent in NOT_A_QUESTION:
            continue
        found[conversation_id] = text[:80]
    return found


def reference(conversation_id: str) -> str:
    """A short reference staff can read out (「お問い合わせ番号 3F9A1C」): not the sender, from which
    it cannot be turned back."""
    return hashlib.sha256(conversation_id.encode()).hexdigest()[:6].upper()


def title(conv: Conversation, question: str | None) -> str:
    """What the console calls a conversation: never the sender (a credential for linked residents)."""
    channel = CHANNEL_LABELS.get(conv.channel, conv.channel)
    ref = reference(conv.id)
    return f"{channel} #{ref}：{question}" if question else f"{channel} #{ref}の相談"


async def queue_listing(services: Services, who: StaffIdentity, status: str) -> list[dict[str, Any]]:
    statuses = ("pending_handoff", "human") if status == "open" else (status,)
    general = general_department(services)
    names = department_names(services)
    async with services.sessionmaker() as s:
        rows = list(
            await s.scalars(
                select(Conversation)
                .where(Conversation.status.in_(statuses))
                .order_by(Conversation.updated_at.desc())
                .limit(500)
            )
        )
        handoffs = await latest_handoffs(s, [c.id for c in rows])
        visible = [c for c in rows if who.can_see(_department(handoffs.get(c.id), general))]
        questions = await first_questions(s, [c.id for c in visible])
    now = datetime.now(UTC)
    listed = []
    for conv in visible:
        handoff = handoffs.get(conv.id)
        department = _department(handoff, general)
        since = handoff.requested_at if handoff is not None else conv.updated_at
        listed.append(
            {
                **summary(conv),
                "title": title(conv, questions.get(conv.id)),
                "question": questions.get(conv.id),
                "department": department,
                "department_name": names.get(department, department),
                "reason": handoff.reason if handoff is not None else None,
                "urgent": handoff is not None and handoff.reason in URGENT_REASONS,
                "waiting_since": jst(since),
                "waiting_minutes": _minutes(now, since),
                "staff_id": handoff.staff_id if handoff is not None else None,
            }
        )
    # DV・虐待 first, always; then who waits (not yet taken) before what is being worked; oldest first
    listed.sort(key=lambda c: (not c["urgent"], c["status"] != "pending_handoff", -c["waiting_minutes"]))
    return listed


def _department(handoff: Handoff | None, general: str) -> str:
    return (handoff.department if handoff is not None else None) or general


def _minutes(now: datetime, since: datetime | None) -> int:
    if since is None:
        return 0
    since = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    return max(0, int((now - since).total_seconds() // 60))


def summary(conv: Conversation) -> dict[str, Any]:
    return {
        "id": conv.id,
        "ref": reference(conv.id),
        "channel": conv.channel,
        "status": conv.status,
        "resident_id": conv.resident_id,
        "updated_at": jst(conv.updated_at),
    }


def record(
    db: AsyncSession,
    *,
    staff_id: str,
    action: str,
    conversation_id: str | None,
    department: str | None,
    text: str = "",
) -> None:
    """An audit row of what a staff account did, in the caller's transaction."""
    db.add(
        StaffAction(
            conversation_id=conversation_id,
            staff_id=staff_id,
            action=action,
            department=department,
            text=text,
            created_at=datetime.now(UTC),
        )
    )


def reply_payload(reply: Reply) -> dict[str, Any] | None:
    """A reply's buttons, card and custom data for the transcript (the text is its own column)."""
    data = reply.to_dict()
    data.pop("text", None)
    data.pop("sender", None)
    return data or None
