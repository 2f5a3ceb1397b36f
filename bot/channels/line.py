"""LINE channel: `POST /callback` (line-bot-sdk v3) -> InboundEvent -> dispatcher -> LINE messages.

The webhook is verified on the raw body (`WebhookParser`: HMAC-SHA256 with the channel secret),
answered 200 at once, and processed off the request path by a bounded pool of workers started in
the app's lifespan. LINE expects a quick 2xx; a slow answer (NLU, database, a person's reply)
must never hold the webhook. Graceful shutdown finishes queued events for a while and stores the
rest in `line_pending_events`, which the next start re-queues.

Identity: a one-to-one chat is the user's `userId`; in a group or a multi-person chat the
conversation is the `groupId` / `roomId` (one shared conversation, replies go to the group).
Idempotency: `webhookEventId` is the event's external_id; the dispatcher skips an id already in
the transcript, and its per-conversation lock serializes two deliveries that arrive together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.line_ack import AckPriority, ack_store, read_events, signature_ok, yielding
from bot.channels.line_events import is_standby, parse_event, source_id, to_inbound
from bot.channels.line_media import LineContent
from bot.channels.line_outbox import LineApi, LineTuning, Outbox, PendingEvent
from bot.channels.line_render import batches, render
from bot.engine.dispatcher import SORRY, Dispatcher
from bot.engine.events import InboundEvent, Reply
from bot.engine.services import Services
from bot.engine.transcript import TranscriptEntry, append_messages, ensure_conversation, external_id_seen
from bot.http.schemas import LineWebhookRequest, errors, json_body
from bot.logs import pseudonym

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024


@dataclass
class Job:
    raw: dict[str, Any]  # the event as received; the SDK's model is built by the worker
    key: str = ""  # webhookEventId: the pending-event row until the event is processed

    def __post_init__(self) -> None:
        if not self.key:
            self.key = str(self.raw.get("webhookEventId") or f"noid-{id(self)}")


@dataclass
class Target:
    """Where the answer to an event goes."""

    recipient_id: str
    reply_token: str | None
    event_at: datetime
    one_to_one: bool
    extra: dict[str, Any] = field(default_factory=dict)


class LineChannel:
    def __init__(self, services: Services, dispatcher: Dispatcher, tuning: LineTuning) -> None:
        self.services = services
        self.dispatcher = dispatcher
        self.tuning = tuning
        self.secret = services.settings.line_channel_secret.encode()
        self.acks = ack_store(
            services.settings.resolved_database_url,
            services.ack_gate,
            synchronous_commit=tuning.ack_synchronous_commit,
        )
        self.priority = AckPriority()  # processing gives way to acknowledgements in flight
        self.api = LineApi(services.settings, tuning)
        self.outbox = Outbox(services.sessionmaker, self.api, tuning)
        self.content = LineContent(services.settings, tuning)  # image messages' contents (通報)
        self.queue: asyncio.Queue[Job] = asyncio.Queue(maxsize=tuning.queue_size)
        self._workers: list[asyncio.Task[None]] = []
        self._current: dict[int, Job] = {}
        self.accepting = False

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self.outbox.start()
        self._workers = [
            asyncio.create_task(self._work(i), name=f"line-worker-{i}") for i in range(self.tuning.workers)
        ]
        await self._restore_pending()
        self.accepting = True

    async def stop(self) -> None:
        self.accepting = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), self.tuning.drain_seconds)
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        leftovers = list(self._current.values())
        while not self.queue.empty():
            leftovers.append(self.queue.get_nowait())
        await self._persist(leftovers)
        await self.outbox.stop()
        await self.api.close()
        await self.content.close()
        await self.acks.close()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every accepted event is processed and its messages sent (tests, bench)."""
        await asyncio.wait_for(self.queue.join(), timeout)
        await self.outbox.flush(timeout)

    # -- the webhook -------------------------------------------------------------------------------
    async def accept(self, body: bytes, signature: str) -> Response:
        """Verify, store, answer (bot/channels/line_ack.py): no SDK models, no ORM, no turn."""
        self.priority.begin()
        try:
            return await self._accept(body, signature)
        finally:
            self.priority.end()

    async def _accept(self, body: bytes, signature: str) -> Response:
        if not self.accepting:
            return JSONResponse({"error": "LINE channel is shutting down; please retry"}, status_code=503)
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"error": "request body is too large"}, status_code=413)
        if not signature:
            return JSONResponse({"error": "missing X-Line-Signature"}, status_code=400)
        if not signature_ok(self.secret, body, signature):  # before any JSON is read
            log.warning("LINE webhook with a bad signature rejected")
            return JSONResponse({"error": "invalid signature"}, status_code=400)
        try:
            jobs = [Job(raw=raw) for raw in read_events(body)]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "malformed webhook body"}, status_code=400)
        if jobs:
            if self.queue.qsize() + len(jobs) > self.queue.maxsize and not await self._room(len(jobs)):
                log.error("LINE event queue full; webhook refused")
                return JSONResponse({"error": "busy; please retry"}, status_code=503)
            try:  # write-ahead: a crash after the 200 loses nothing
                await self.acks.store([(job.key, job.raw) for job in jobs])
            except Exception:
                log.exception("LINE events could not be stored; webhook refused")
                return JSONResponse({"error": "storage unavailable; please retry"}, status_code=503)
            for job in jobs:
                self.queue.put_nowait(job)  # room was checked; acks never wait on each other here
        return PlainTextResponse("OK")

    async def _room(self, wanted: int) -> bool:
        """Wait a little for room in a full queue (the workers take jobs out as they start them)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.tuning.enqueue_wait
        while self.queue.qsize() + wanted > self.queue.maxsize:
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    # -- processing --------------------------------------------------------------------------------
    async def _work(self, index: int) -> None:
        while True:
            job = await self.queue.get()
            self._current[index] = job
            try:
                await yielding(self._handle(job), self.priority)
            except Exception:
                log.exception("LINE event processing failed", extra={"event_type": str(job.raw.get("type"))[:40]})
            finally:
                self.queue.task_done()
            self._current.pop(index, None)  # not reached when cancelled: stop() keeps the job

    async def _handle(self, job: Job) -> None:
        event = parse_event(job.raw)
        if event is not None:
            await self.process(event)
        await self._forget(job)

    async def process(self, event: Any) -> None:
        if is_standby(event):  # another channel module is in charge of this chat: stay silent
            log.info("LINE event in standby mode ignored", extra={"event_type": event.type})
            return
        inbound = to_inbound(event, self.services.settings.max_message_chars)
        if inbound is None:
            return
        if inbound.kind == "unfollow":
            await self._record_unfollow(inbound)
            return
        where = source_id(event)
        assert where is not None and inbound.received_at is not None
        target = Target(where[0], getattr(event, "reply_token", None), inbound.received_at, where[1])
        inbound = replace(inbound, metadata={**inbound.metadata, "line_target": target})
        if "message_id" in inbound.metadata:  # an image: its content, checked and stored, as a payload
            photo = await self.content.photo_payload(
                self.services, inbound.conversation_id, inbound.metadata["message_id"]
            )
            inbound = replace(inbound, payload=photo)
        replies = await self._dispatch(inbound, target)
        if inbound.metadata.get("line_queued"):  # written with the turn's transcript: just send
            await self.outbox.send(target.recipient_id)
        elif replies:
            await self.send(target, replies)

    async def write_outbox(self, session: AsyncSession, inbound: InboundEvent, replies: list[Reply]) -> None:
        """The dispatcher's outbound writer: the answer joins the turn's own transaction."""
        target = inbound.metadata.get("line_target")
        if not isinstance(target, Target):
            return
        rows = self.outbox.rows(
            recipient_id=target.recipient_id,
            batches=batches(render(replies)),
            reply_token=target.reply_token,
            event_at=target.event_at,
        )
        session.add_all(rows)
        inbound.metadata["line_queued"] = True

    async def _dispatch(self, inbound: InboundEvent, target: Target) -> list[Reply]:
        turn = asyncio.ensure_future(yielding(self.dispatcher.handle(inbound), self.priority))
        try:
            if target.one_to_one:
                done, _ = await asyncio.wait({turn}, timeout=self.tuning.loading_after)
                if not done:
                    await self._show_loading(target.recipient_id)
            return await turn
        except asyncio.CancelledError:
            turn.cancel()
            raise
        except Exception:
            inbound.metadata.pop("line_queued", None)  # the turn's transaction did not commit
            log.exception("LINE turn failed", extra={"sender": pseudonym(inbound.sender_id)})
            return [Reply(text=SORRY)]

    async def _show_loading(self, chat_id: str) -> None:
        try:
            await self.api.show_loading(chat_id, self.tuning.loading_seconds)
        except Exception as exc:  # only a courtesy: never let it delay or break the answer
            log.info("LINE loading animation failed", extra={"error": type(exc).__name__})

    async def send(self, target: Target, replies: list[Reply]) -> None:
        await self.outbox.enqueue(
            recipient_id=target.recipient_id,
            batches=batches(render(replies)),
            reply_token=target.reply_token,
            event_at=target.event_at,
        )
        await self.outbox.send(target.recipient_id)

    async def write_push(self, session: AsyncSession, sender_id: str, replies: list[Reply]) -> None:
        """`services.outbox_writers["line"]`: later messages (staff replies) as push rows of the
        caller's transaction."""
        session.add_all(self.outbox.rows(recipient_id=sender_id, batches=batches(render(replies))))

    async def deliver(self, sender_id: str, _replies: list[Reply]) -> None:
        """`services.senders["line"]`: after the commit, push what was queued for `sender_id`."""
        await self.outbox.send(sender_id)

    async def _record_unfollow(self, inbound: InboundEvent) -> None:
        """The resident blocked the account: keep it in the transcript, answer nothing."""
        svc = self.services
        async with svc.locker.hold(inbound.conversation_id), svc.sessionmaker() as session, session.begin():
            if inbound.external_id and await external_id_seen(session, channel="line", external_id=inbound.external_id):
                return
            conv = await ensure_conversation(
                session, conversation_id=inbound.conversation_id, channel="line", sender_id=inbound.sender_id
            )
            entry = TranscriptEntry(
                direction="in",
                author="resident",
                text="",
                payload={"kind": "unfollow"},
                intent="event_unfollow",
                external_id=inbound.external_id,
            )
            await append_messages(session, conversation=conv, entries=[entry])
        log.info("LINE unfollow recorded", extra={"sender": pseudonym(inbound.sender_id)})

    # -- events kept across a restart --------------------------------------------------------------
    async def _persist(self, jobs: list[Job]) -> None:
        """Leftovers at stop: stored at receipt already; stored again in case (a duplicate is nothing)."""
        if jobs:
            await self.acks.store([(job.key, job.raw) for job in jobs])
            log.warning("LINE events kept for the next start", extra={"count": len(jobs)})

    async def _forget(self, job: Job) -> None:
        async with self.services.engine.begin() as conn:  # one Core statement, no ORM session
            await conn.execute(delete(PendingEvent).where(PendingEvent.webhook_event_id == job.key))

    async def _restore_pending(self) -> None:
        """Events stored but not processed (a stop or a crash): queue them again; the dispatcher's
        external_id check keeps one that was processed just before a crash from running twice."""
        async with self.services.sessionmaker() as session:
            rows = list(await session.scalars(select(PendingEvent).order_by(PendingEvent.received_at)))
        for row in rows:
            if isinstance(row.event, dict):
                await self.queue.put(Job(raw=row.event, key=row.webhook_event_id))
        if rows:
            log.info("LINE events restored", extra={"count": len(rows)})


def router() -> APIRouter:
    api = APIRouter()

    @api.post(
        "/callback",
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "OK"},
            **errors(400, 413, 503),
        },
        openapi_extra={
            **json_body(LineWebhookRequest),
            "parameters": [
                {
                    "name": "X-Line-Signature",
                    "in": "header",
                    "required": True,
                    "description": "base64 HMAC-SHA256 of the raw body with the channel secret; a wrong one is 400",
                    "schema": {"type": "string"},
                }
            ],
        },
    )
    async def callback(request: Request) -> Response:
        channel: LineChannel | None = getattr(request.app.state, "line", None)
        if channel is None:
            return JSONResponse({"error": "LINE is not configured"}, status_code=503)
        body = await request.body()
        return await channel.accept(body, request.headers.get("X-Line-Signature", ""))

    return api


async def start_channel(app: FastAPI, services: Services, dispatcher: Dispatcher) -> None:
    """Start the LINE workers when a channel secret is configured (called from the lifespan)."""
    app.state.line = None
    if not services.settings.line_channel_secret:
        return
    tuning = getattr(app.state, "line_tuning", None) or LineTuning()
    channel = LineChannel(services, dispatcher, tuning)
    dispatcher.outbound_writers["line"] = channel.write_outbox
    await channel.start()
    services.senders["line"] = channel.deliver
    services.outbox_writers["line"] = channel.write_push
    app.state.line = channel


async def stop_channel(app: FastAPI) -> None:
    channel: LineChannel | None = getattr(app.state, "line", None)
    if channel is not None:
        await channel.stop()
