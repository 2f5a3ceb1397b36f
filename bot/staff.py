"""Staff console API: see escalated chats with their whole context, take over, reply, hand back.

Every change of who is in charge goes through the handoff transition table and runs under the
conversation's lock, so a bot turn and a staff action never interleave.

Who may use it: a bearer token that is either the shared STAFF_TOKEN (the demo, small set-ups;
the caller then declares a `staff_id` in the body, as before) or the token of an enabled personal
account (bot/staff_accounts.py; the account id is recorded, and a `staff_id` in the body is
ignored). Each request looks the token up again, so a disabled or rotated token stops at once.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request, WebSocket
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import live
from bot.channels.web import BadRequest, read_json_object
from bot.deps import ServicesDep
from bot.events import Reply
from bot.handoff import InvalidTransition, Transition, apply_transition
from bot.models import Conversation, Handoff, Message
from bot.schemas import Loose, M, StaffIdRequest, StaffTextRequest, StatusAnswer, errors, json_body, read_body, validate
from bot.services import Services
from bot.staff_accounts import any_enabled, find_account
from bot.staff_feed import staff_frames
from bot.state import ConversationState, begin_turn, claim_existing, put
from bot.transcript import TranscriptEntry, append_messages, list_messages

TAKEN_TEXT = "職員が対応を引き継ぎました。このままメッセージをお送りください。"
RELEASED_TEXT = "職員の対応を終了しました。引き続きチャットでご案内します。"
DISABLED = (
    "the staff console is disabled: set STAFF_TOKEN or create a staff account (python -m bot.staff_accounts add …)"
)
UNAUTHORIZED = "a valid staff token is required"
WS_AUTH_SECONDS = 10.0  # how long /staff/ws waits for the token in its first message


@dataclass(frozen=True)
class StaffIdentity:
    """Who is calling: a personal account, or (`id` None) whoever holds the shared STAFF_TOKEN."""

    id: str | None = None
    name: str | None = None
    # CONTRACTS §8: a `staff` account works its own departments' queues, a `supervisor` sees every
    # department; the shared STAFF_TOKEN acts as a supervisor.
    role: str = "supervisor"
    departments: frozenset[str] = frozenset()

    @property
    def shared(self) -> bool:
        return self.id is None

    def can_see(self, department: str | None) -> bool:
        """May this caller list, read, take or answer work queued for `department`?"""
        return self.role == "supervisor" or (department is not None and department in self.departments)

    def ensure_can_see(self, department: str | None) -> None:
        """403 for another department's conversation, report or ticket (CONTRACTS §8)."""
        if not self.can_see(department):
            raise HTTPException(403, "this belongs to another department")

    def staff_id(self, declared: str) -> str:
        """The staff id to record: an account's own id; with the shared token, what was declared."""
        return self.id if self.id is not None else declared


async def authenticate(services: Services, token: str) -> StaffIdentity:
    """The caller behind a bearer token; HTTPException 401 (or 503 with the console disabled)."""
    shared = services.settings.staff_token
    if shared and token and hmac.compare_digest(token.encode(), shared.encode()):
        return StaffIdentity()
    async with services.sessionmaker() as s:
        account = await find_account(s, token) if token else None
        if account is not None:
            return StaffIdentity(id=account.id, name=account.name)
        if not shared and not await any_enabled(s):
            raise HTTPException(503, DISABLED)
    raise HTTPException(401, UNAUTHORIZED)


BEARER = re.compile(r"^bearer +([\x21-\x7e]+)$", re.IGNORECASE)  # RFC 6750: one scheme, one token


def bearer_token(authorization: str) -> str:
    """The token of `Bearer <token>` (the scheme in any case, as RFC 7235 allows); "" otherwise."""
    match = BEARER.match(authorization)
    return match.group(1) if match else ""


async def require_staff(services: ServicesDep, authorization: Annotated[str, Header()] = "") -> StaffIdentity:
    return await authenticate(services, bearer_token(authorization))


StaffDep = Annotated[StaffIdentity, Depends(require_staff)]


def router() -> APIRouter:
    api = APIRouter(prefix="/staff/api")

    @api.get("/me", response_model=Loose, responses=errors(401, 403, 503))
    async def me(who: StaffDep) -> dict[str, Any]:
        """Who is signed in, for the console's header."""
        return {"id": who.id, "name": who.name, "shared": who.shared}

    @api.get("/conversations", response_model=list[Loose], responses={**errors(401, 403, 503), **errors(422)})
    async def conversations(
        services: ServicesDep, _: StaffDep, status: Literal["open", "bot", "pending_handoff", "human"] = "open"
    ) -> list[dict[str, Any]]:
        statuses = ("pending_handoff", "human") if status == "open" else (status,)
        async with services.sessionmaker() as s:
            rows = list(
                await s.scalars(
                    select(Conversation)
                    .where(Conversation.status.in_(statuses))
                    .order_by(Conversation.updated_at.desc())
                    .limit(200)
                )
            )
            reasons = await _latest_reasons(s, [c.id for c in rows])
        listed = [{**_summary(c), **_priority(reasons.get(c.id))} for c in rows]
        # urgent (DV・虐待) first; otherwise the most recently active first, as queried
        listed.sort(key=lambda c: not c["urgent"])
        return listed

    @api.get(
        "/conversations/{conversation_id}", response_model=Loose, responses={**errors(401, 403, 503), **errors(404)}
    )
    async def conversation(conversation_id: str, services: ServicesDep, _: StaffDep) -> dict[str, Any]:
        async with services.sessionmaker() as s:
            conv = await s.get(Conversation, conversation_id)
            if conv is None:
                raise HTTPException(404, "no such conversation")
            messages = await list_messages(s, conversation_id=conversation_id, limit=500)
            handoffs = await s.scalars(
                select(Handoff).where(Handoff.conversation_id == conversation_id).order_by(Handoff.id)
            )
            state = await services.state.get(conversation_id)
            return {
                **_summary(conv),
                "messages": [_message(m) for m in messages],
                "handoffs": [_handoff(h) for h in handoffs],
                "state": state.model_dump(mode="json") if state else None,
            }

    @api.post(
        "/conversations/{conversation_id}/take",
        response_model=Loose,
        responses={**errors(401, 403, 503), **errors(400, 404, 409, 413, 422)},
        openapi_extra=json_body(StaffIdRequest, required=False),
    )
    async def take(conversation_id: str, request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        staff_id = await _staff_id(request, who)
        return await _transition(services, conversation_id, "take", staff_id=staff_id, announce=TAKEN_TEXT)

    @api.post(
        "/conversations/{conversation_id}/release",
        response_model=Loose,
        responses={**errors(401, 403, 503), **errors(400, 404, 409, 413, 422)},
        openapi_extra=json_body(StaffIdRequest, required=False),
    )
    async def release(conversation_id: str, request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        staff_id = await _staff_id(request, who)
        return await _transition(services, conversation_id, "release", staff_id=staff_id, announce=RELEASED_TEXT)

    @api.post(
        "/conversations/{conversation_id}/messages",
        response_model=StatusAnswer,
        responses={**errors(401, 403, 503), **errors(400, 404, 409, 413, 422)},
        openapi_extra=json_body(StaffTextRequest),
    )
    async def send(conversation_id: str, request: Request, services: ServicesDep, _: StaffDep) -> dict[str, Any]:
        text = (await read_body(request, StaffTextRequest)).text
        if len(text) > services.settings.max_message_chars:
            raise BadRequest(422, f"'text' is longer than {services.settings.max_message_chars} characters")
        async with services.locker.hold(conversation_id):
            await _staff_turn(services, conversation_id, [Reply(text=text.strip(), sender="staff")], require_human=True)
        return {"status": "sent"}

    return api


def console_websocket() -> APIRouter:
    api = APIRouter()

    @api.websocket("/staff/ws")
    async def live_ws(websocket: WebSocket) -> None:
        """Live updates for the console. The first frame is `{"type": "auth", "token": "…",
        "after": <id> | null}` (never a token in the URL: URLs end up in access logs), answered by
        `{"type": "ready"}`; then the feed's frames after `after` (bot/staff_feed.py), by cursor.
        The token is checked again before frames are sent, so a disabled or rotated token is cut
        off (close code 1008)."""
        services: Services = websocket.app.state.services
        await websocket.accept()
        if "token" in websocket.query_params:
            await websocket.close(code=1008, reason="send the token in the first frame, not in the URL")
            return
        try:
            data = await live.first_frame(websocket, WS_AUTH_SECONDS)
            if data is None:
                return  # the client went away
            token = data.get("token") if data.get("type") == "auth" else None
            after = live.parse_after(data.get("after"))
        except live.FrameError:
            token, after = None, None
        if not isinstance(token, str) or await live.shielded(partial(_identify, services, token)) is None:
            await websocket.close(code=1008, reason=UNAUTHORIZED)
            return
        if after is None:  # "from now on": what is committed after this read is sent (the pump reads first)
            after = await live.latest_id(services.sessionmaker)
        async with services.hub.subscribe("staff") as wakeup:
            await websocket.send_json({"type": "ready"})  # subscribed: updates from now on arrive

            async def allowed() -> bool:  # a disabled or rotated token is cut off at the next update
                return await _identify(services, token) is not None

            fetch = partial(staff_frames, services.sessionmaker)
            poll = services.settings.live_poll_seconds
            await live.pump(websocket, wakeup, fetch, after, poll_seconds=poll, allowed=allowed)

    return api


async def _identify(services: Services, token: str) -> StaffIdentity | None:
    try:
        return await authenticate(services, token)
    except HTTPException:
        return None


async def _staff_id(request: Request, who: StaffIdentity) -> str:
    """The staff id to record: the account's; with the shared token, the body's `staff_id`."""
    return who.staff_id((await read_staff_body(request, StaffIdRequest, who, optional=True)).staff_id)


async def read_staff_body(request: Request, model: type[M], who: StaffIdentity, *, optional: bool = False) -> M:
    """A staff route's body as `model` (bot/schemas.py read_body). A `staff_id` in the body cannot
    speak for a personal account: for one it is dropped unread (a malformed one does not matter)."""
    if optional and not await request.body():
        return model()
    data = await read_json_object(request)
    if not who.shared:
        data.pop("staff_id", None)
    return validate(model, data)


async def _staff_turn(
    services: Services,
    conversation_id: str,
    replies: list[Reply],
    *,
    transition: Transition | None = None,
    staff_id: str = "staff",
    require_human: bool = False,
    change: Callable[[AsyncSession], Awaitable[None]] | None = None,
) -> ConversationState:
    """One transaction, like a resident's turn: claim the conversation, move it through the
    transition table, record the staff messages and queue them on the resident's channel.
    `change` (e.g. a 通報's new status) runs in the same transaction, after the claim."""
    settings = services.settings
    async with services.turn_gate(), services.sessionmaker() as db, db.begin():
        await begin_turn(db)
        found = await claim_existing(
            db,
            conversation_id=conversation_id,
            lock_timeout_seconds=settings.lock_timeout_seconds,
            ttl_seconds=settings.state_ttl_seconds,
        )
        if found is None:
            raise HTTPException(404, "no such conversation")
        conv, state = found
        if change is not None:
            await change(db)
        if require_human and state.status != "human":
            raise HTTPException(409, "take the conversation over before replying")
        if transition is not None:
            try:
                await apply_transition(
                    db, conversation_id=conv.id, state=state, transition=transition, staff_id=staff_id
                )
            except InvalidTransition as exc:
                raise HTTPException(409, str(exc)) from None
            if transition == "release":
                state.active_form = None
        entries = [TranscriptEntry(direction="out", author="staff", text=r.text) for r in replies]
        await append_messages(db, conversation=conv, entries=entries)
        writer = services.outbox_writers.get(state.channel)
        if writer is not None:
            await writer(db, state.sender_id, replies)
        put(conv, state)
    await services.deliver(state.channel, state.sender_id, replies)  # after the commit: a wake-up
    await services.hub.publish(
        "staff", {"type": "status", "conversation_id": state.conversation_id, "status": state.status}
    )
    return state


async def _transition(
    services: Services, conversation_id: str, transition: Transition, *, staff_id: str, announce: str
) -> dict[str, Any]:
    async with services.locker.hold(conversation_id):
        state = await _staff_turn(
            services,
            conversation_id,
            [Reply(text=announce, sender="staff")],
            transition=transition,
            staff_id=staff_id,
        )
    return {"conversation_id": conversation_id, "status": state.status}


URGENT_REASONS = frozenset({"sensitive"})  # DV・虐待: staff must see these first


async def _latest_reasons(s: Any, conversation_ids: list[str]) -> dict[str, str]:
    """The reason of each conversation's latest handoff, in one query."""
    if not conversation_ids:
        return {}
    latest = (
        select(Handoff.conversation_id, func.max(Handoff.id).label("id"))
        .where(Handoff.conversation_id.in_(conversation_ids))
        .group_by(Handoff.conversation_id)
        .subquery()
    )
    rows = await s.execute(select(Handoff.conversation_id, Handoff.reason).join(latest, Handoff.id == latest.c.id))
    return {conversation_id: reason for conversation_id, reason in rows}


def _priority(reason: str | None) -> dict[str, Any]:
    return {"reason": reason, "urgent": reason in URGENT_REASONS}


def _aware(at: datetime | None) -> str | None:
    """ISO 8601 with the offset: SQLite hands back naive datetimes, which are UTC here."""
    if at is None:
        return None
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).isoformat()


def _summary(conv: Conversation) -> dict[str, Any]:
    return {
        "id": conv.id,
        "channel": conv.channel,
        "status": conv.status,
        "resident_id": conv.resident_id,
        "updated_at": _aware(conv.updated_at),
    }


def _message(m: Message) -> dict[str, Any]:
    return {
        "direction": m.direction,
        "author": m.author,
        "text": m.text,
        "intent": m.intent,
        "confidence": m.confidence,
        "at": m.created_at.isoformat() if m.created_at else None,
    }


def _handoff(h: Handoff) -> dict[str, Any]:
    return {
        "reason": h.reason,
        "status": h.status,
        "staff_id": h.staff_id,
        "requested_at": h.requested_at.isoformat() if h.requested_at else None,
        "taken_at": h.taken_at.isoformat() if h.taken_at else None,
        "closed_at": h.closed_at.isoformat() if h.closed_at else None,
    }
