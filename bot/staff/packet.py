"""The hand-off packet, the first thing staff see of a conversation, and the form kept through
the hand-off: staff see its filled and missing slots, may fill one for the resident, and on hand
back the bot asks for the next missing one.

The form's own handler (through the app's router) supplies slot labels, checks a value staff
enter and asks the next question, so the console never re-implements a form.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.events import InboundEvent, Reply
from bot.engine.services import Services
from bot.engine.state import ConversationState, state_of
from bot.engine.transcript import list_messages
from bot.engine.turn import Parse, TurnContext
from bot.staff.models import StaffAction
from bot.staff.queues import conversation_department, department_names, first_questions, jst, summary, title
from bot.store.models import Conversation, Handoff, Message
from knowledge.bookings import Reservation, list_reservations
from knowledge.residents import SuggestionRecord

if TYPE_CHECKING:
    from bot.staff.console import StaffIdentity

StaffStep = Callable[[AsyncSession, ConversationState], Awaitable[list[Reply]]]
LAST_TURNS = 20


def _router(request: Request) -> Any:
    dispatcher = getattr(request.app.state, "dispatcher", None)
    return getattr(dispatcher, "router", None)


def form_handler(request: Request, state: ConversationState) -> Any:
    router = _router(request)
    if router is None or state.active_form is None:
        return None
    return router.handler_named(state.active_form.name)


def staff_context(services: Services, db: AsyncSession, state: ConversationState) -> TurnContext:
    """A turn context for the bot speaking outside a resident's turn (a resumed form)."""
    event = InboundEvent(channel=state.channel, sender_id=state.sender_id, kind="message", text="")
    parse = Parse(text="", intent="staff_resume", confidence=1.0, from_payload=True)
    return TurnContext(event=event, state=state, parse=parse, services=services, today=services.today(), db=db)


def form_resumer(request: Request, services: Services) -> StaffStep:
    """On hand back: the form kept through the hand-off asks for its next missing slot."""

    async def resume(db: AsyncSession, state: ConversationState) -> list[Reply]:
        handler = form_handler(request, state)
        if handler is None or not hasattr(handler, "prompt"):
            state.active_form = None  # nothing can resume it
            return []
        ctx = staff_context(services, db, state)
        await handler.prompt(ctx)
        return ctx.replies

    return resume


def form_view(request: Request, services: Services, db: Any, state: ConversationState) -> dict[str, Any] | None:
    """The form in progress: its title, filled slots (label, value) and missing ones."""
    active = state.active_form
    if active is None:
        return None
    handler = form_handler(request, state)
    slots = getattr(handler, "slots", ())
    values = {k: v for k, v in active.slots.items() if not k.startswith("_")}
    ctx = staff_context(services, db, state)
    filled, missing = [], []
    for slot in slots:
        if slot.name in values:
            filled.append({"slot": slot.name, "label": slot.label, "value": _render(slot, values[slot.name])})
        elif _needed(ctx, slot, values):
            missing.append({"slot": slot.name, "label": slot.label, "question": slot.question})
    return {
        "name": active.name,
        "title": getattr(handler, "title", "") or active.name,
        "filled": filled,
        "missing": missing,
        "requested_slot": active.requested_slot,
        "awaiting_confirmation": active.awaiting_confirmation,
    }


def _render(slot: Any, value: Any) -> str:
    try:
        return str(slot.render(value))
    except Exception:  # a stored value the renderer cannot show: show it plainly
        return str(value)


def _needed(ctx: TurnContext, slot: Any, values: dict[str, Any]) -> bool:
    try:
        return bool(slot.required(values) and (slot.when is None or slot.when(ctx)))
    except Exception:  # a condition needing more than the stored state: list it
        return True


PAYLOAD_LABELS = {
    "request_human": "職員と話したい",
    "affirm": "はい",
    "deny": "いいえ",
    "cancel": "やめる",
    "greet": "こんにちは",
    "dv_abuse": "DV・虐待の相談",
    "callback_request": "折り返し電話を依頼",
    "inform": "（選択）",
    "nlu_fallback": "判定できず",
    "out_of_scope": "対象外の話題",
    "bot_capabilities": "できること",
    "thanks": "お礼",
    "goodbye": "あいさつ（終わり）",
}


def _label(m: Message, catalog: Any) -> str:
    """A payload no button title was found for (sent by a client, or an old button), in words."""
    text = m.text or ""
    if m.direction != "in" or not text.startswith("/"):
        return text
    intent = m.intent or text[1:].split("{", 1)[0]
    procedure = catalog.get(intent) if catalog is not None else None
    return procedure.title if procedure is not None else PAYLOAD_LABELS.get(intent, "（ボタン操作）")


def readable(m: Message, catalog: Any = None) -> dict[str, Any]:
    """A transcript row as staff read it: button titles, never payloads; Japan time."""
    payload = m.payload or {}
    buttons = [b.get("title", "") for b in payload.get("buttons", []) if isinstance(b, dict)]
    card = payload.get("card") if isinstance(payload.get("card"), dict) else None
    return {
        "id": m.id,
        "direction": m.direction,
        "author": m.author,
        "text": _label(m, catalog),
        "buttons": buttons,
        "card": {"title": card.get("title", ""), "lines": card.get("lines", [])} if card else None,
        "pressed": bool(payload.get("payload")) if m.direction == "in" else False,
        "intent": m.intent,
        "confidence": m.confidence,
        "at": jst(m.created_at),
    }


async def conversation_detail(
    services: Services, request: Request, who: StaffIdentity, conversation_id: str
) -> dict[str, Any]:
    async with services.sessionmaker() as s:
        conv = await s.get(Conversation, conversation_id)
        if conv is None:
            raise HTTPException(404, "no such conversation")
        department = await conversation_department(s, conversation_id, services)
        who.ensure_can_see(department)
        messages = await list_messages(s, conversation_id=conversation_id, limit=500)
        handoffs = list(
            await s.scalars(select(Handoff).where(Handoff.conversation_id == conversation_id).order_by(Handoff.id))
        )
        suggestions = list(
            await s.scalars(select(SuggestionRecord).where(SuggestionRecord.conversation_id == conversation_id))
        )
        history = list(
            await s.scalars(
                select(StaffAction).where(StaffAction.conversation_id == conversation_id).order_by(StaffAction.id)
            )
        )
        question = (await first_questions(s, [conversation_id])).get(conversation_id)
        visits = await list_reservations(s, kind="counter_visit", conversation_id=conversation_id, limit=20)
        state = state_of(conv, ttl_seconds=services.settings.state_ttl_seconds)
        packet = _packet(services, request, s, state, messages, suggestions, question, department)
        packet["visits"] = [_visit(r) for r in visits]  # 窓口予約 booked in this chat (handlers/counter_visit.py)
    return {
        **summary(conv),
        "title": title(conv, question),
        "department": department,
        "department_name": department_names(services).get(department or "", department),
        "packet": packet,
        "messages": [readable(m, services.knowledge.catalog) for m in messages],
        "handoffs": [_handoff(h) for h in handoffs],
        "notes": [_action(a) for a in history if a.action == "note"],
        "history": [_action(a) for a in history if a.action != "note"],
        "state": state.model_dump(mode="json"),
    }


def _packet(
    services: Services,
    request: Request,
    s: AsyncSession,
    state: ConversationState,
    messages: list[Message],
    suggestions: list[SuggestionRecord],
    question: str | None,
    department: str | None,
) -> dict[str, Any]:
    catalog = services.knowledge.catalog
    names = [state.active_form.name if state.active_form else None, state.last_intent]
    procedure = next((catalog.get(n) for n in names if n and catalog is not None and catalog.get(n)), None)
    understood = [m for m in messages if m.direction == "in" and m.confidence is not None and not (m.payload or {})]
    last = understood[-1] if understood else None
    return {
        "question": question,
        "procedure": {"id": procedure.id, "title": procedure.title} if procedure is not None else None,
        "form": form_view(request, services, s, state),
        "nlu": _nlu(last, catalog) if last is not None else None,
        "last_turns": [readable(m, catalog) for m in messages[-LAST_TURNS:]],
        "suggestions": [
            {"rule": r.rule, "status": r.status, "accepted_intent": r.accepted_intent, "at": jst(r.offered_at)}
            for r in suggestions
        ],
        "resident_linked": state.resident_id is not None,
        "department": department,
    }


def _visit(r: Reservation) -> dict[str, Any]:
    return {
        "number": r.number,
        "date": r.service_date.isoformat(),
        "start_time": r.start_time,
        "end_time": r.end_time,
        "status": r.status,
        "department": r.resource,
        "department_name": (r.details or {}).get("department_name"),
    }


def _nlu(m: Message, catalog: Any) -> dict[str, Any]:
    """How the bot understood the resident's last typed message, with the intent in words."""
    procedure = catalog.get(m.intent) if catalog is not None and m.intent else None
    words = procedure.title if procedure is not None else PAYLOAD_LABELS.get(m.intent or "", m.intent)
    return {"intent": m.intent, "label": words, "confidence": m.confidence}


def _handoff(h: Handoff) -> dict[str, Any]:
    return {
        "reason": h.reason,
        "status": h.status,
        "staff_id": h.staff_id,
        "department": h.department,
        "outcome": h.outcome,
        "requested_at": jst(h.requested_at),
        "taken_at": jst(h.taken_at),
        "closed_at": jst(h.closed_at),
    }


def _action(a: StaffAction) -> dict[str, Any]:
    return {
        "staff_id": a.staff_id,
        "action": a.action,
        "department": a.department,
        "text": a.text,
        "at": jst(a.created_at),
    }
