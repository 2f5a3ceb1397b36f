"""Staff console API: see escalated chats with their whole context, take over, reply, hand back.

Every change of who is in charge goes through the handoff transition table and runs under the
conversation's lock, so a bot turn and a staff action never interleave.

Who may use it: a bearer token that is either the shared STAFF_TOKEN (the demo, small set-ups;
the caller then declares a `staff_id` in the body, as before) or the token of an enabled personal
account (bot/staff/accounts.py; the account id is recorded, and a `staff_id` in the body is
ignored). Each request looks the token up again, so a disabled or rotated token stops at once.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Request, WebSocket
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import live
from bot.channels.web import BadRequest, read_json_object
from bot.engine.events import Reply
from bot.engine.handoff import InvalidTransition, Transition, apply_transition
from bot.engine.services import Services
from bot.engine.state import ConversationState, begin_turn, claim_existing, put
from bot.engine.transcript import TranscriptEntry, append_messages
from bot.http.deps import ServicesDep
from bot.http.schemas import (
    Loose,
    M,
    StaffIdRequest,
    StaffTextRequest,
    StatusAnswer,
    errors,
    json_body,
    read_body,
    validate,
)
from bot.staff.accounts import StaffAccount, any_enabled, find_account, scope_of
from bot.staff.feed import staff_frames
from bot.staff.packet import StaffStep, conversation_detail, form_resumer
from bot.staff.queues import conversation_department, queue_listing, record, reply_payload
from bot.staff.sessions import COOKIE as SESSION_COOKIE
from bot.staff.sessions import session_of_cookie, session_user

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
    csrf: str | None = None  # signed in with a password: the session's CSRF token, for the console

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
            role, departments = await scope_of(s, account.id)
            return StaffIdentity(id=account.id, name=account.name, role=role, departments=departments)
        if not shared and not await any_enabled(s):
            raise HTTPException(503, DISABLED)
    raise HTTPException(401, UNAUTHORIZED)


BEARER = re.compile(r"^bearer +([\x21-\x7e]+)$", re.IGNORECASE)  # RFC 6750: one scheme, one token


def bearer_token(authorization: str) -> str:
    """The token of `Bearer <token>` (the scheme in any case, as RFC 7235 allows); "" otherwise."""
    match = BEARER.match(authorization)
    return match.group(1) if match else ""


async def require_staff(
    request: Request, services: ServicesDep, authorization: Annotated[str, Header()] = ""
) -> StaffIdentity:
    """A bearer token (machine clients, the token console), else a password session's cookie
    (with its CSRF token on every state change: bot/staff/sessions.py)."""
    token = bearer_token(authorization)
    if not token and request.cookies.get(SESSION_COOKIE):
        user = await session_user(services, request)
        if user is not None:
            async with services.sessionmaker() as s:
                account = await s.get(StaffAccount, user.account_id)
                if account is not None and account.disabled_at is None:
                    role, departments = await scope_of(s, account.id)
                    return StaffIdentity(account.id, account.name, role, departments, csrf=user.csrf)
    return await authenticate(services, token)


StaffDep = Annotated[StaffIdentity, Depends(require_staff)]


def router() -> APIRouter:
    api = APIRouter(prefix="/staff/api")

    @api.get("/me", response_model=Loose, responses=errors(401, 403, 503))
    async def me(who: StaffDep) -> dict[str, Any]:
        """Who is signed in, for the console's header."""
        return {
            "id": who.id,
            "name": who.name,
            "shared": who.shared,
            "role": who.role,
            "departments": sorted(who.departments),
            **({"csrf": who.csrf} if who.csrf else {}),
        }

    @api.get("/conversations", response_model=list[Loose], responses={**errors(401, 403, 503), **errors(422)})
    async def conversations(
        services: ServicesDep, who: StaffDep, status: Literal["open", "bot", "pending_handoff", "human"] = "open"
    ) -> list[dict[str, Any]]:
        """The queues this caller works: DV・虐待 first, always; then the longest waiting first."""
        return await queue_listing(services, who, status)

    @api.get(
        "/conversations/{conversation_id}", response_model=Loose, responses={**errors(401, 403, 503), **errors(404)}
    )
    async def conversation(
        conversation_id: str, request: Request, services: ServicesDep, who: StaffDep
    ) -> dict[str, Any]:
        """The hand-off packet first (question, procedure and its slots, NLU confidence, the last
        turns readable, suggestions), then the whole transcript and the handoffs."""
        return await conversation_detail(services, request, who, conversation_id)

    @api.post(
        "/conversations/{conversation_id}/take",
        response_model=Loose,
        responses={**errors(401, 403, 503), **errors(400, 404, 409, 413, 422)},
        openapi_extra=json_body(StaffIdRequest, required=False),
    )
    async def take(conversation_id: str, request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        staff_id = await _staff_id(request, who)
        return await _transition(services, conversation_id, "take", staff_id=staff_id, announce=TAKEN_TEXT, who=who)

    @api.post(
        "/conversations/{conversation_id}/release",
        response_model=Loose,
        responses={**errors(401, 403, 503), **errors(400, 404, 409, 413, 422)},
        openapi_extra=json_body(StaffIdRequest, required=False),
    )
    async def release(conversation_id: str, request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        staff_id = await _staff_id(request, who)
        resume = form_resumer(request, services)
        return await _transition(
            services, conversation_id, "release", staff_id=staff_id, announce=RELEASED_TEXT, who=who, then=resume
        )

    @api.post(
        "/conversations/{conversation_id}/messages",
        response_model=StatusAnswer,
        responses={**errors(401, 403, 503), **errors(400, 404, 409, 413, 422)},
        openapi_extra=json_body(StaffTextRequest),
    )
    async def send(conversation_id: str, request: Request, services: ServicesDep, who: StaffDep) -> dict[str, Any]:
        text = (await read_body(request, StaffTextRequest)).text
        if len(text) > services.settings.max_message_chars:
            raise BadRequest(422, f"'text' is longer than {services.settings.max_message_chars} characters")
        async with services.locker.hold(conversation_id):
            await _staff_turn(
                services,
                conversation_id,
                [Reply(text=text.strip(), sender="staff")],
                require_human=True,
                who=who,
                action="reply",
            )
        return {"status": "sent"}

    return api


def console_websocket() -> APIRouter:
    api = APIRouter()

    @api.websocket("/staff/ws")
    async def live_ws(websocket: WebSocket) -> None:
        """Live updates for the console. The first frame is `{"type": "auth", "token": "…",
        "after": <id> | null}` (never a token in the URL: URLs end up in access logs), answered by
        `{"type": "ready"}`; then the feed's frames after `after` (bot/staff/feed.py), by cursor.
        The token is checked again before frames are sent, so a disabled or rotated token is cut
        off (close code 1008)."""
        services: Services = websocket.app.state.services
        await websocket.accept()
        if "token" in websocket.query_params:
            await websocket.close(code=1008, reason="send the token in the first frame, not in the URL")
            return
        cookie = websocket.cookies.get(SESSION_COOKIE, "")
        try:
            data = await live.first_frame(websocket, WS_AUTH_SECONDS)
            if data is None:
                return  # the client went away
            auth = data if data.get("type") == "auth" else {}
            token, csrf = auth.get("token"), auth.get("csrf")
            after = live.parse_after(data.get("after"))
        except live.FrameError:
            token, csrf, after = None, None, None
        if isinstance(token, str):
            credential = partial(_identify, services, token)
        elif isinstance(csrf, str):  # a password or OIDC session: its cookie, and its CSRF token in the frame
            credential = partial(_identify_session, services, cookie, csrf)
        else:
            credential = None
        if credential is None or await live.shielded(credential) is None:
            await websocket.close(code=1008, reason=UNAUTHORIZED)
            return
        if after is None:  # "from now on": what is committed after this read is sent (the pump reads first)
            after = await live.latest_id(services.engine)
        async with services.hub.subscribe("staff") as wakeup:
            await websocket.send_json({"type": "ready"})  # subscribed: updates from now on arrive

            async def allowed() -> bool:  # a disabled or rotated token, an ended session: cut off
                return await credential() is not None

            fetch = partial(staff_frames, services.sessionmaker)
            poll = services.settings.live_poll_seconds
            await live.pump(websocket, wakeup, fetch, after, poll_seconds=poll, allowed=allowed)

    return api


async def _identify_session(services: Services, cookie: str, csrf: str) -> StaffIdentity | None:
    """The account of a console session: the cookie of the WebSocket's handshake (sent only by the
    console's own origin: SameSite=Strict) and the session's CSRF token in the first frame, which a
    page of another site cannot know (a WebSocket is not bound by the same-origin policy)."""
    user = await session_of_cookie(services, cookie)
    if user is None or not hmac.compare_digest(csrf.encode(), user.csrf.encode()):
        return None
    async with services.sessionmaker() as s:
        account = await s.get(StaffAccount, user.account_id)
        if account is None or account.disabled_at is not None:
            return None
        role, departments = await scope_of(s, account.id)
    return StaffIdentity(account.id, account.name, role, departments, csrf=user.csrf)


async def _identify(services: Services, token: str) -> StaffIdentity | None:
    try:
        return await authenticate(services, token)
    except HTTPException:
        return None


async def _staff_id(request: Request, who: StaffIdentity) -> str:
    """The staff id to record: the account's; with the shared token, the body's `staff_id`."""
    return who.staff_id((await read_staff_body(request, StaffIdRequest, who, optional=True)).staff_id)


async def read_staff_body(request: Request, model: type[M], who: StaffIdentity, *, optional: bool = False) -> M:
    """A staff route's body as `model` (bot/http/schemas.py read_body). A `staff_id` in the body cannot
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
    who: StaffIdentity | None = None,
    action: str | None = None,
    department: str | None = None,
    outcome: str | None = None,
    then: StaffStep | None = None,
    audit_text: str | None = None,
) -> ConversationState:
    """One transaction, like a resident's turn: claim the conversation, check the caller may work
    its department (403), move it through the transition table, record the staff messages and
    queue them on the resident's channel; `then` adds the bot's own messages (a resumed form);
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
        current = await conversation_department(db, conversation_id, services)
        if who is not None:
            who.ensure_can_see(current)
        if change is not None:
            await change(db)
        if require_human and state.status != "human":
            raise HTTPException(409, "take the conversation over before replying")
        if transition is not None:
            try:
                await apply_transition(
                    db,
                    conversation_id=conv.id,
                    state=state,
                    transition=transition,
                    staff_id=staff_id,
                    department=department,
                    outcome=outcome,
                )
            except InvalidTransition as exc:
                raise HTTPException(409, str(exc)) from None
        if then is not None:
            replies = [*replies, *await then(db, state)]
        entries = [
            TranscriptEntry(direction="out", author=r.sender, text=r.text, payload=reply_payload(r)) for r in replies
        ]
        record(
            db,
            staff_id=staff_id,
            action=action or transition or "reply",
            conversation_id=conv.id,
            department=department or current,
            text=audit_text if audit_text is not None else _action_text(action or transition, replies, outcome),
        )
        await append_messages(db, conversation=conv, entries=entries, touch=False)
        writer = services.outbox_writers.get(state.channel)
        if writer is not None and replies:
            await writer(db, state.sender_id, replies)
        await put(db, conv, state)
    if replies:
        await services.deliver(state.channel, state.sender_id, replies)  # after the commit: a wake-up
    await services.hub.publish(
        "staff", {"type": "status", "conversation_id": state.conversation_id, "status": state.status}
    )
    return state


async def _transition(
    services: Services,
    conversation_id: str,
    transition: Transition,
    *,
    staff_id: str,
    announce: str,
    who: StaffIdentity | None = None,
    then: StaffStep | None = None,
) -> dict[str, Any]:
    async with services.locker.hold(conversation_id):
        state = await _staff_turn(
            services,
            conversation_id,
            [Reply(text=announce, sender="staff")],
            transition=transition,
            staff_id=staff_id,
            who=who,
            then=then,
        )
    return {"conversation_id": conversation_id, "status": state.status}


def _action_text(action: str | None, replies: list[Reply], outcome: str | None) -> str:
    """What the audit row keeps: a reply's text (staff wrote it), an outcome; never a resident's."""
    if action == "reply":
        return replies[0].text if replies else ""
    return outcome or ""
