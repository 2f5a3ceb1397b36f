"""LINE channel: `POST /callback` (line-bot-sdk v3) -> InboundEvent -> dispatcher -> LINE messages.

The webhook is verified on the raw body (HMAC-SHA256 with the channel secret), its events stored
in `line_pending_events`, and answered 200 at once (bot/channels/line_ack.py); the events are
processed off the request path: on PostgreSQL in a child process of their own, which never holds
this process's GIL (bot/channels/line_supervisor.py, line_child.py), else on a thread of their own
with its own event loop and database pool (bot/channels/line_process.py); one lane per sender so
that a sender's events keep their order. LINE expects a quick 2xx; a slow answer (NLU, database, a person's reply) must never
hold the webhook. Graceful shutdown finishes queued events for a while; what is left stays in
`line_pending_events`, which the next start re-queues.

Identity: a one-to-one chat is the user's `userId`; in a group or a multi-person chat the
conversation is the `groupId` / `roomId` (one shared conversation, replies go to the group).
Idempotency: `webhookEventId` is the event's external_id; the dispatcher skips an id already in
the transcript, and its per-conversation lock serializes two deliveries that arrive together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import date
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.line_ack import ack_store, read_events, signature_ok
from bot.channels.line_claims import Liveness, owner_name
from bot.channels.line_jobs import Job, Target
from bot.channels.line_render import batches, render
from bot.channels.line_store import LineTuning, outbox_rows
from bot.channels.line_supervisor import ProcessingChild
from bot.engine import identity
from bot.engine.assembly import build_dispatcher
from bot.engine.dispatcher import Dispatcher
from bot.engine.events import InboundEvent, Reply
from bot.engine.hub import Hub
from bot.engine.services import Sender, Services, build_services
from bot.http.schemas import LineWebhookRequest, errors, json_body
from bot.settings import Settings

if TYPE_CHECKING:  # the processing (and the LINE SDK) is imported only where it runs in this process
    from bot.channels.line_process import LineProcessor, ProcessingThread

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
T = TypeVar("T")
__all__ = ["Job", "LineChannel", "Target", "router", "start_channel", "stop_channel"]


def processing_mode(tuning: LineTuning, settings: Settings, *, own_interpreter: bool) -> str:
    """Where events are processed (`LineTuning.processing`): "auto" is a child process on
    PostgreSQL when the app built its interpreter from the settings (a child builds its own the
    same way), else a thread (SQLite: one writer, queued in one process; an injected interpreter,
    e.g. a test's, cannot cross into another process)."""
    mode = tuning.processing if tuning.processing != "auto" else settings.line_processing
    if mode != "auto":
        return mode
    postgres = make_url(settings.resolved_database_url).get_backend_name() == "postgresql"
    return "process" if postgres and own_interpreter else "thread"


class LineChannel:
    """The webhook's side (verify, store, answer) and the way to the processing (a child process
    or a thread of its own: bot/channels/line_supervisor.py, line_process.py)."""

    def __init__(
        self, services: Services, dispatcher: Dispatcher, tuning: LineTuning, *, own_interpreter: bool = False
    ) -> None:
        self.services = services
        self.dispatcher = dispatcher
        self.tuning = tuning
        self.mode = processing_mode(tuning, services.settings, own_interpreter=own_interpreter)
        self.owner = owner_name()  # claims on pending events (bot/channels/line_claims.py)
        self.liveness = Liveness(services.settings.resolved_database_url, self.owner)
        self.secret = services.settings.line_channel_secret.encode()
        self.acks = ack_store(
            services.settings.resolved_database_url,
            services.ack_gate,
            synchronous_commit=tuning.ack_synchronous_commit,
            owner=self.owner,  # stored claimed by this process's processor
            lease=tuning.claim_lease_seconds,
        )
        self.threaded = self.mode == "thread"
        self._thread: ProcessingThread | None = None
        self.child: ProcessingChild | None = None
        self.processor: LineProcessor | None = None
        self.accepting = False

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self.dispatcher.outbound_writers["line"] = self.write_outbox  # a LINE event the app's loop runs
        await self.liveness.hold()  # before any row is claimed in this owner's name
        if self.mode == "process":
            self.child = ProcessingChild(self.services.settings, self.tuning, self.owner, self.services.hub.wake)
            await self.child.start()
        elif self.threaded:
            from bot.channels.line_process import ProcessingThread

            main = (self.services, asyncio.get_running_loop())
            make = partial(_threaded_processor, *main, self.tuning, self.owner)
            self._thread = ProcessingThread(make, self._close_thread)
            self.processor = await self._thread.start()
        else:
            from bot.channels.line_process import LineProcessor

            self.processor = LineProcessor(self.services, self.dispatcher, self.tuning, self.owner)
            await self.processor.start()
        self.accepting = True

    async def _close_thread(self) -> None:
        if self.processor is not None:
            await self.processor.services.close()

    async def stop(self) -> None:
        self.accepting = False
        if self.child is not None:
            await self.child.stop()
        elif self._thread is not None:
            await self._thread.stop()
        elif self.processor is not None:
            await self.processor.stop()
        await self.acks.close()
        await self.liveness.close()  # last: this owner's claims were released by its processor

    async def _on_processor(self, call: Callable[[LineProcessor], Coroutine[Any, Any, T]]) -> T:
        """Run `call(processor)` on the processing loop and wait for it here."""
        assert self.processor is not None
        if self._thread is None:
            return await call(self.processor)
        return await asyncio.wrap_future(self._thread.call(call(self.processor)))

    async def join(self, timeout: float = 60.0) -> None:
        """Until every accepted event is processed (its messages may still be on their way)."""
        if self.child is not None:
            await self.child.request("join", timeout)
        else:
            await self._on_processor(lambda p: p.join())

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every accepted event is processed and its messages sent (tests, bench)."""
        if self.child is not None:
            await self.child.request("drain", timeout)
        else:
            await self._on_processor(lambda p: p.drain(timeout))

    @property
    def backlog(self) -> int:
        if self.child is not None:
            return self.child.backlog
        return self.processor.backlog if self.processor is not None else 0

    # -- the webhook -------------------------------------------------------------------------------
    async def accept(self, body: bytes, signature: str) -> Response:
        """Verify, store, answer (bot/channels/line_ack.py): no SDK models, no ORM, no turn."""
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
            if self.backlog + len(jobs) > self.tuning.queue_size and not await self._room(len(jobs)):
                log.error("LINE event queue full; webhook refused")
                return JSONResponse({"error": "busy; please retry"}, status_code=503)
            try:  # write-ahead: a crash after the 200 loses nothing
                stored = await self.acks.store([(job.key, job.raw) for job in jobs])
            except Exception:
                log.exception("LINE events could not be stored; webhook refused")
                return JSONResponse({"error": "storage unavailable; please retry"}, status_code=503)
            jobs = [job for job in jobs if job.key in stored]  # a redelivery still pending is in hand
            self._hand_off(jobs)
        return PlainTextResponse("OK")

    def _hand_off(self, jobs: list[Job]) -> None:
        """To the processing, without waiting for it."""
        if not jobs:
            return
        if self.child is not None:
            self.child.hand_off([(job.key, job.raw) for job in jobs])
        elif self._thread is not None:
            self._thread.submit(jobs)
        elif self.processor is not None:
            self.processor.offer(jobs)

    async def _room(self, wanted: int) -> bool:
        """Wait a little for room in a full backlog (processing takes jobs out as it ends them)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.tuning.enqueue_wait
        while self.backlog + wanted > self.tuning.queue_size:
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    # -- what the rest of the app calls ------------------------------------------------------------
    async def write_outbox(self, session: AsyncSession, inbound: InboundEvent, replies: list[Reply]) -> None:
        """The app's dispatcher's outbound writer (rows of the caller's transaction: no loop hop)."""
        target = inbound.metadata.get("line_target")
        if not isinstance(target, Target):
            return
        session.add_all(
            outbox_rows(
                recipient_id=target.recipient_id,
                batches=batches(render(replies)),
                reply_token=target.reply_token,
                event_at=target.event_at,
            )
        )
        inbound.metadata["line_queued"] = True

    async def send(self, target: Target, replies: list[Reply]) -> None:
        if self.child is None:
            await self._on_processor(lambda p: p.send(target, replies))
            return
        rows = outbox_rows(
            recipient_id=target.recipient_id,
            batches=batches(render(replies)),
            reply_token=target.reply_token,
            event_at=target.event_at,
        )
        async with self.services.turn_gate(), self.services.sessionmaker() as session, session.begin():
            session.add_all(rows)
        self.child.send(target.recipient_id)

    async def write_push(self, session: AsyncSession, sender_id: str, replies: list[Reply]) -> None:
        """`services.outbox_writers["line"]`: later messages (staff replies) as push rows of the
        caller's transaction."""
        session.add_all(outbox_rows(recipient_id=sender_id, batches=batches(render(replies))))

    async def deliver(self, sender_id: str, _replies: list[Reply]) -> None:
        """`services.senders["line"]`: after the commit, push what was queued for `sender_id`."""
        if self.child is not None:
            self.child.send(sender_id)
        else:
            await self._on_processor(lambda p: p.outbox.send(sender_id))


async def _threaded_processor(
    main: Services, main_loop: asyncio.AbstractEventLoop, tuning: LineTuning, owner: str
) -> LineProcessor:
    """On the processing thread: Services of its own (engine and pool, Redis client, locker) from
    the app's settings; the interpreter, the knowledge, the resident resolver's rules and
    SQLite's writer gate shared with the app; wake-ups relayed to the app's hub."""
    from bot.channels.line_process import LineProcessor

    own = build_services(main.settings, _AppInterpreter(main))
    hub = own.hub
    services = replace(
        own,
        knowledge=main.knowledge,
        hub=RelayHub(main.hub, main_loop),
        resolve_resident=identity.make_resolver(own.sessionmaker, demo_mode=main.settings.demo_mode),
        _sqlite_turns=main._sqlite_turns,  # noqa: SLF001 - one writer queue for both loops
        clock=main.clock,
    )
    await hub.close()
    services.outbox_writers.update(main.outbox_writers)
    for channel, sender in main.senders.items():  # the app's senders run on the app's loop
        services.senders[channel] = partial(_on_loop, main_loop, sender)
    processor = LineProcessor(services, build_dispatcher(services), tuning, owner)
    services.senders["line"] = lambda sender_id, _replies: processor.outbox.send(sender_id)
    return processor


async def _on_loop(loop: asyncio.AbstractEventLoop, sender: Sender, sender_id: str, replies: list[Reply]) -> None:
    async def send() -> None:
        await sender(sender_id, replies)

    await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(send(), loop))


class _AppInterpreter:
    """The app's interpreter, looked up at each parse (one that is swapped later counts here too).
    The embedded NLU keeps one Sudachi tokenizer per thread (nlu/text.py)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def parse(self, text: str, *, today: date | None = None) -> dict[str, Any]:
        return await self._services.interpreter.parse(text, today=today)

    def __getattr__(self, name: str) -> Any:  # anything else the interpreter offers
        return getattr(self._services.interpreter, name)


class RelayHub(Hub):
    """The processing thread's hub: a wake-up is the app's hub's, run on the app's loop."""

    def __init__(self, hub: Hub, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._hub, self._loop = hub, loop

    async def wake(self, topic: str) -> None:
        asyncio.run_coroutine_threadsafe(self._hub.wake(topic), self._loop)  # never waits, never raises


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


async def start_channel(
    app: FastAPI, services: Services, dispatcher: Dispatcher, *, own_interpreter: bool = False
) -> None:
    """Start the LINE workers when a channel secret is configured (called from the lifespan).
    `own_interpreter`: the app built its interpreter from the settings (a processing child can
    build the same one); False when one was injected (a test's)."""
    app.state.line = None
    if not services.settings.line_channel_secret:
        return
    tuning = getattr(app.state, "line_tuning", None) or LineTuning()
    channel = LineChannel(services, dispatcher, tuning, own_interpreter=own_interpreter)
    await channel.start()
    services.senders["line"] = channel.deliver
    services.outbox_writers["line"] = channel.write_push
    app.state.line = channel


async def stop_channel(app: FastAPI) -> None:
    channel: LineChannel | None = getattr(app.state, "line", None)
    if channel is not None:
        await channel.stop()
