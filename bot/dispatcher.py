"""One turn of one conversation, start to end, under the conversation's lock.

event -> lock -> load state -> handoff gate -> NLU -> router -> hooks -> handoff transition
-> transcript (one transaction) -> state saved -> live copy to staff.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import Button, InboundEvent, Reply
from bot.handoff import next_status
from bot.models import Handoff, utcnow
from bot.router import Router
from bot.services import Services
from bot.state import ConversationState
from bot.transcript import TranscriptEntry, append_messages, ensure_conversation, external_id_seen
from bot.turn import Parse, TurnContext, payload
from handlers.base import TurnHook

log = logging.getLogger(__name__)

SORRY = "申し訳ありません。ただいまシステムで問題が起きています。少し時間をおいてもう一度お送りください。"
HANDOFF_TEXT = {
    "requested": "職員におつなぎします。担当者が確認するまで少しお待ちください。",
    "stuck": "うまくお答えできず申し訳ありません。職員におつなぎします。少しお待ちください。",
    "sensitive": "お話しくださりありがとうございます。専門の職員におつなぎします。",
}
PENDING_TEXT = "職員に確認を依頼しています。もう少しお待ちください。（取りやめる場合は「やめる」）"
WITHDRAWN_TEXT = "職員への取り次ぎを取りやめました。引き続きご用件をどうぞ。"


# Writes a channel's outgoing messages inside the turn's transaction (LINE's outbox), so that a
# crash cannot keep the transcript of a turn while losing the answer that must still be sent.
OutboundWriter = Callable[[AsyncSession, InboundEvent, list[Reply]], Awaitable[None]]


class Dispatcher:
    def __init__(self, services: Services, router: Router, hooks: Sequence[TurnHook] = ()) -> None:
        self.services = services
        self.router = router
        self.hooks = list(hooks)
        self.outbound_writers: dict[str, OutboundWriter] = {}

    async def handle(self, event: InboundEvent) -> list[Reply]:
        async with self.services.locker.hold(event.conversation_id):
            return await self._turn(event)

    async def _turn(self, event: InboundEvent) -> list[Reply]:
        svc = self.services
        if event.external_id and await self._seen(event):
            log.info("duplicate event ignored", extra={"channel": event.channel})
            return []
        state = await svc.state.get(event.conversation_id)
        if state is None:
            state = ConversationState(
                conversation_id=event.conversation_id, channel=event.channel, sender_id=event.sender_id
            )
        # Every turn, not once per conversation: a link that stops counting (demo mode off, the
        # resident unlinked) must not live on in a stored state.
        state.resident_id = await svc.resolve_resident(event.channel, event.sender_id)
        parse = await self._understand(event)
        ctx = TurnContext(event=event, state=state, parse=parse, services=svc, today=svc.today())
        if state.status == "human":
            pass  # a person is in charge: record and forward, the bot stays silent
        elif state.status == "pending_handoff":
            self._while_pending(ctx)
        else:
            await self._run_bot(ctx, snapshot=state.model_copy(deep=True))
        ctx.state.turn += 1
        if parse.intent not in ("nlu_fallback", ""):
            ctx.state.last_intent = parse.intent
        await self._persist(ctx)
        await svc.state.save(ctx.state)
        await self._notify_staff(ctx)
        return ctx.replies

    async def _understand(self, event: InboundEvent) -> Parse:
        if event.kind == "follow":
            return Parse(text="", intent="follow", confidence=1.0, from_payload=True)
        if event.kind != "message" and event.kind != "postback":
            return Parse(text="", intent=f"event_{event.kind}", confidence=1.0, from_payload=True)
        text = event.payload if event.payload is not None else event.text
        from_button = Parse.from_button(text)
        if from_button is not None:
            return from_button
        data = await self.services.interpreter.parse(text, today=self.services.today())
        return Parse.from_nlu(data)

    async def _run_bot(self, ctx: TurnContext, *, snapshot: ConversationState) -> None:
        try:
            await self.router.route(ctx)
            for hook in self.hooks:
                await hook.after_turn(ctx)
        except Exception:
            log.exception("handler failed", extra={"handler": ctx.handled_by, "intent": ctx.parse.intent})
            ctx.state = snapshot  # the failed turn must not leave a half-changed form behind
            ctx.replies = [Reply(text=SORRY, buttons=(Button("職員と話す", payload("request_human")),))]
            return
        if ctx.handoff_request:
            ctx.state.status = next_status(ctx.state.status, "request")
            ctx.state.active_form = None
            ctx.say(HANDOFF_TEXT[ctx.handoff_request])

    def _while_pending(self, ctx: TurnContext) -> None:
        if ctx.parse.intent == "cancel":
            ctx.state.status = next_status(ctx.state.status, "withdraw")
            ctx.handoff_request = None
            ctx.say(WITHDRAWN_TEXT)
            ctx.state.data["handoff_withdrawn"] = True
        else:
            ctx.say(PENDING_TEXT)

    async def _seen(self, event: InboundEvent) -> bool:
        assert event.external_id is not None
        async with self.services.sessionmaker() as session:
            return await external_id_seen(session, channel=event.channel, external_id=event.external_id)

    async def _persist(self, ctx: TurnContext) -> None:
        event, parse = ctx.event, ctx.parse
        inbound_text = event.text or (event.payload or "")
        entries = [
            TranscriptEntry(
                direction="in",
                author="resident",
                text=inbound_text,
                payload={"payload": event.payload, "kind": event.kind}
                if event.payload or event.kind != "message"
                else None,
                intent=parse.intent,
                confidence=parse.confidence,
                external_id=event.external_id,
            )
        ]
        entries += [
            TranscriptEntry(direction="out", author=r.sender, text=r.text, payload=_reply_payload(r))
            for r in ctx.replies
        ]
        async with self.services.sessionmaker() as session, session.begin():
            conv = await ensure_conversation(
                session, conversation_id=event.conversation_id, channel=event.channel, sender_id=event.sender_id
            )
            conv.status = ctx.state.status
            conv.resident_id = ctx.state.resident_id
            if ctx.handoff_request and not ctx.state.data.get("handoff_withdrawn"):
                session.add(
                    Handoff(
                        conversation_id=conv.id, reason=ctx.handoff_request, status="pending", requested_at=utcnow()
                    )
                )
            if ctx.state.data.pop("handoff_withdrawn", None):
                await _close_open_handoffs(session, conv.id)
            await append_messages(session, conversation=conv, entries=entries)
            writer = self.outbound_writers.get(event.channel)
            if writer is not None and ctx.replies:
                await writer(session, event, ctx.replies)

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


def _reply_payload(reply: Reply) -> dict[str, Any] | None:
    data = reply.to_dict()
    data.pop("text", None)
    data.pop("sender", None)
    return data or None


async def _close_open_handoffs(session: Any, conversation_id: str) -> None:
    from sqlalchemy import update

    await session.execute(
        update(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.status.in_(("pending", "active")))
        .values(status="closed", closed_at=utcnow())
    )
