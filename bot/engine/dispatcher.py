"""One turn of one conversation, start to end, under the conversation's lock.

event -> NLU -> [one transaction: claim the conversation row and its state -> handoff gate ->
router -> hooks -> handoff transition -> transcript, outbox rows, state] -> commit -> wake-up for
live connections.

A handler (or hook) that raises takes the whole transaction with it: the turn runs again in a new
one, with an apology in the handlers' place, so that nothing the failed handler wrote stays (by the
ORM or on the driver connection) and the state is the stored one. A savepoint around the handlers
did this before at every turn (issue 12), and missed writes made on the driver connection.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine import metrics
from bot.engine.events import REPLY_IDS, Button, InboundEvent, Reply
from bot.engine.handoff import apply_transition
from bot.engine.handoff_notice import (
    CALLBACK_BUTTON,
    PENDING_LONG,
    VISIT_BUTTON,
    announce,
    choose_department,
    pending_since,
    visit_offered,
    waited_too_long,
)
from bot.engine.protocols import LanguageHook, TurnHook
from bot.engine.router import Router
from bot.engine.services import Services
from bot.engine.state import ConversationRow, begin_turn, claim, put_statement
from bot.engine.transcript import TranscriptEntry, button_title, external_id_seen, message_ids, messages_insert
from bot.engine.turn import Parse, TurnContext, payload
from bot.store import raw

log = logging.getLogger(__name__)

SORRY = "申し訳ありません。ただいまシステムで問題が起きています。少し時間をおいてもう一度お送りください。"
HANDOFF_TEXT = {
    "requested": "職員におつなぎします。",
    "stuck": "うまくお答えできず申し訳ありません。職員におつなぎします。",
    "sensitive": "お話しくださりありがとうございます。専門の職員におつなぎします。",
}
PENDING_TEXT = "職員に確認を依頼しています。もう少しお待ちください。（取りやめる場合は「やめる」）"
WITHDRAWN_TEXT = "職員への取り次ぎを取りやめました。引き続きご用件をどうぞ。"


class _HandlerFailed(Exception):
    """A handler raised: its turn's transaction is rolled back and the turn runs again, apologising."""


# Writes a channel's outgoing messages inside the turn's transaction (LINE's outbox), so that a
# crash cannot keep the transcript of a turn while losing the answer that must still be sent.
OutboundWriter = Callable[[AsyncSession, InboundEvent, list[Reply]], Awaitable[None]]


class Dispatcher:
    def __init__(
        self, services: Services, router: Router, hooks: Sequence[TurnHook] = (), language: LanguageHook | None = None
    ) -> None:
        self.services = services
        self.router = router
        self.hooks = list(hooks)
        self.language = language  # -- languages (CONTRACTS §9): handlers/i18n.py LanguageLayer
        self.outbound_writers: dict[str, OutboundWriter] = {}

    async def handle(self, event: InboundEvent) -> list[Reply]:
        with metrics.turn_timer(event.channel):
            async with self.services.locker.hold(event.conversation_id):  # arrival order, NLU included
                parse = await self._understand(event)  # before the transaction: no row lock held meanwhile
                ctx = await self._turn(event, parse)
            metrics.TURNS.labels(metrics.channel_label(event.channel), metrics.intent_label(parse)).inc()
        if ctx is None:
            return []
        await self._notify_staff(ctx)
        return ctx.replies

    async def _turn(self, event: InboundEvent, parse: Parse) -> TurnContext | None:
        """One transaction: the conversation row is claimed first and everything the turn changes
        (records, transcript, outbox rows, state) commits together at the end, or nothing does."""
        with metrics.DB_SECONDS.labels(metrics.channel_label(event.channel)).time():
            return await self._transaction(event, parse)

    async def _transaction(self, event: InboundEvent, parse: Parse) -> TurnContext | None:
        try:
            return await self._attempt(event, parse, apologise=False)
        except _HandlerFailed:  # rolled back whole: the same turn again, an apology for the handlers
            return await self._attempt(event, parse, apologise=True)

    async def _attempt(self, event: InboundEvent, parse: Parse, *, apologise: bool) -> TurnContext | None:
        svc, settings = self.services, self.services.settings
        async with svc.turn_gate(), svc.sessionmaker() as db, db.begin():
            await begin_turn(db)
            if event.external_id and await external_id_seen(db, channel=event.channel, external_id=event.external_id):
                log.info("duplicate event ignored", extra={"channel": event.channel})
                return None
            conv, state = await claim(
                db,
                conversation_id=event.conversation_id,
                channel=event.channel,
                sender_id=event.sender_id,
                lock_timeout_seconds=settings.lock_timeout_seconds,
                ttl_seconds=settings.state_ttl_seconds,
            )
            # Every turn, not once per conversation: a link that stops counting (demo mode off, the
            # resident unlinked) must not live on in the stored state.
            state.resident_id = await svc.resolve_resident(event.channel, event.sender_id, session=db, link=conv.link)
            ctx = TurnContext(event=event, state=state, parse=parse, services=svc, today=svc.today(), db=db)
            if self.language is not None:  # -- languages: the turn's language from the message
                self.language.observe(ctx)
            if state.status == "human":
                pass  # a person is in charge: record and forward, the bot stays silent
            elif state.status == "pending_handoff":
                await self._while_pending(ctx, apologise)
            else:
                await self._run_bot(ctx, apologise)
            ctx.state.turn += 1
            if parse.intent not in ("nlu_fallback", ""):
                ctx.state.last_intent = parse.intent
            if self.language is not None:  # -- languages: やさしい日本語 rewriting, last
                self.language.render(ctx)
            await self._persist(ctx, conv)
        return ctx

    async def _understand(self, event: InboundEvent) -> Parse:
        if event.kind == "follow":
            return Parse(text="", intent="follow", confidence=1.0, from_payload=True)
        if event.kind != "message" and event.kind != "postback":
            return Parse(text="", intent=f"event_{event.kind}", confidence=1.0, from_payload=True)
        text = event.payload if event.payload is not None else event.text
        from_button = Parse.from_button(text)
        if from_button is not None:
            return from_button
        with metrics.NLU_SECONDS.time():
            data = await self.services.interpreter.parse(text, today=self.services.today())
        return Parse.from_nlu(data)

    async def _run_bot(self, ctx: TurnContext, apologise: bool) -> None:
        """The handlers and hooks; `apologise`: they failed in this turn's first attempt, whose
        transaction was rolled back, and the resident hears an apology instead."""
        if apologise:
            ctx.replies = [
                Reply(text=self._text(ctx, "sorry", SORRY), buttons=(Button("職員と話す", payload("request_human")),))
            ]
            return
        try:
            if self.language is None or not await self.language.answer(ctx):  # -- languages: English
                await self.router.route(ctx)
            for hook in self.hooks:
                await hook.after_turn(ctx)
            await ctx.db.flush()
        except Exception as exc:
            if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                raise  # the database went away: the turn fails (503), not the handler
            log.exception("handler failed", extra={"handler": ctx.handled_by, "intent": ctx.parse.intent})
            raise _HandlerFailed from None
        if ctx.handoff_request:
            department = choose_department(ctx)
            await apply_transition(
                ctx.db,
                conversation_id=ctx.event.conversation_id,
                state=ctx.state,
                transition="request",
                reason=ctx.handoff_request,
                department=department,
            )
            # the form in progress is kept: staff see it, and the bot resumes it on hand back
            await announce(
                ctx, department, self._text(ctx, f"handoff.{ctx.handoff_request}", HANDOFF_TEXT[ctx.handoff_request])
            )

    async def _while_pending(self, ctx: TurnContext, apologise: bool) -> None:
        if ctx.parse.intent == "cancel":
            await apply_transition(
                ctx.db, conversation_id=ctx.event.conversation_id, state=ctx.state, transition="withdraw"
            )
            ctx.handoff_request = None
            ctx.say(self._text(ctx, "withdrawn", WITHDRAWN_TEXT))
        elif ctx.parse.intent == "callback_request":  # a call back instead of waiting in the chat
            await apply_transition(
                ctx.db, conversation_id=ctx.event.conversation_id, state=ctx.state, transition="withdraw"
            )
            await self._run_bot(ctx, apologise)
        elif ctx.parse.intent == "counter_visit":  # 窓口予約: booked while the chat stays queued
            await self._run_bot(ctx, apologise)
        elif waited_too_long(ctx, await pending_since(ctx, ctx.state)):
            department = ctx.state.data.get("handoff_department")
            visit = (VISIT_BUTTON,) if visit_offered(ctx, department if isinstance(department, str) else None) else ()
            ctx.say(f"{PENDING_TEXT}\n{PENDING_LONG}", buttons=(CALLBACK_BUTTON, *visit))
        else:
            ctx.say(self._text(ctx, "pending", PENDING_TEXT))

    def _text(self, ctx: TurnContext, key: str, japanese: str) -> str:
        """The engine's own words in the turn's language (-- languages)."""
        return japanese if self.language is None else self.language.text(ctx, key, japanese)

    async def _persist(self, ctx: TurnContext, conv: ConversationRow) -> None:
        event, parse = ctx.event, ctx.parse
        inbound_text = event.text or (event.payload or "")
        pressed = event.payload or (inbound_text if parse.from_payload else None)
        title = await button_title(ctx.db, conversation_id=conv.id, payload=pressed) if pressed else None
        entries = [
            TranscriptEntry(
                direction="in",
                author="resident",
                text=title or inbound_text,  # staff read 「はい」, not `/affirm`
                payload={"payload": pressed, "kind": event.kind} if pressed or event.kind != "message" else None,
                intent=parse.intent,
                confidence=parse.confidence,
                external_id=event.external_id,
            )
        ]
        entries += [
            TranscriptEntry(direction="out", author=r.sender, text=r.text, payload=_reply_payload(r))
            for r in ctx.replies
        ]
        writer = self.outbound_writers.get(event.channel)
        if writer is not None and ctx.replies:
            await writer(ctx.db, event, ctx.replies)
        # the transcript and the state, last: two statements and the turn's COMMIT in one round trip
        # (bot.store.raw); the session's commit after this has nothing left to do
        batch = [messages_insert(ctx.db, conv, entries), put_statement(ctx.db, conv, ctx.state)]
        inserted, _ = await raw.fetch_all(ctx.db, batch, commit=True)
        reply_ids = event.metadata.get(REPLY_IDS)
        if isinstance(reply_ids, list):
            reply_ids.extend(message_ids(inserted)[1:])

    async def _notify_staff(self, ctx: TurnContext) -> None:
        if ctx.state.status == "bot" and not ctx.handoff_request:
            return
        message = {
            "type": "message",
            "conversation_id": ctx.event.conversation_id,
            "status": ctx.state.status,
            "text": ctx.event.text,
            "replies": [r.to_dict() for r in ctx.replies],
        }
        try:
            await self.services.hub.publish("staff", message)
        except Exception:  # live updates are best effort; the transcript already has the turn
            log.warning("staff notification failed")
            metrics.DELIVERY_FAILURES.labels("staff").inc()


def _reply_payload(reply: Reply) -> dict[str, Any] | None:
    data = reply.to_dict()
    data.pop("text", None)
    data.pop("sender", None)
    return data or None
