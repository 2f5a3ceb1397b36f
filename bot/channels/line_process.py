"""Processing of stored LINE events: SDK model, turn, outbox, delivery; never on the ack's loop.

`LineProcessor` turns the events that `/callback` stored (bot/channels/line_ack.py) into turns and
LINE messages. It runs on the loop it is started on: in a child process of its own
(`LineTuning.processing = "process"`, bot/channels/line_child.py), or on a thread of its own with
its own event loop and its own `Services` (database engine and pool, Redis client, locker), built
by `ProcessingThread`, so that a turn never holds the loop that answers LINE's webhooks, and the
acknowledgements never queue behind a turn for a pooled connection (`LineTuning.processing =
"inline"` runs it on the app's loop instead, as before).

Guarantees:
- per sender (a user, a group, a room) events are processed one after another in arrival order:
  each sender hashes to one of `LineTuning.workers` lanes, and a lane is one task;
- every stored event stays in `line_pending_events` until it is processed; the next start
  queues what is left (a stop, a crash); the dispatcher's external_id check (in the turn's
  transaction, under the conversation's lock) makes a redelivered or restored event a no-op.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import zlib
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any, TypeVar

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.line_claims import Claims, owner_name
from bot.channels.line_events import is_standby, parse_event, source_id, to_inbound
from bot.channels.line_jobs import Job, Target, lane_key  # noqa: F401 - tests and callers import it from here
from bot.channels.line_media import LineContent
from bot.channels.line_outbox import LineApi, LineTuning, Outbox, PendingEvent
from bot.channels.line_render import batches, render
from bot.engine.dispatcher import SORRY, Dispatcher
from bot.engine.events import InboundEvent, Reply
from bot.engine.services import Services
from bot.engine.transcript import TranscriptEntry, append_messages, ensure_conversation, external_id_seen
from bot.logs import pseudonym

log = logging.getLogger("bot.channels.line")

T = TypeVar("T")


class LineProcessor:
    """Lanes of jobs, their turns, the outbox; every method runs on the processor's own loop."""

    def __init__(self, services: Services, dispatcher: Dispatcher, tuning: LineTuning, owner: str = "") -> None:
        self.services = services
        self.dispatcher = dispatcher
        self.tuning = tuning
        self.claims = Claims(
            services.engine,
            owner or owner_name(),
            lease=tuning.claim_lease_seconds,
            orphan_after=tuning.orphan_after_seconds,
            gate=services.turn_gate,
        )
        self._keeper: asyncio.Task[None] | None = None
        self._queued: set[str] = set()  # keys in a lane: a second copy of one is dropped
        self.api = LineApi(services.settings, tuning)
        self.outbox = Outbox(services.sessionmaker, self.api, tuning, gate=services.turn_gate)
        self.content = LineContent(services.settings, tuning)  # image messages' contents (通報)
        self.lanes: list[asyncio.Queue[Job]] = [asyncio.Queue() for _ in range(max(1, tuning.workers))]
        self._workers: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()
        self.backlog = 0  # jobs submitted and not finished (read from the ack's thread: an int)

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self.dispatcher.outbound_writers["line"] = self.write_outbox
        self.outbox.start()
        self._workers = [
            asyncio.create_task(self._work(lane), name=f"line-lane-{i}") for i, lane in enumerate(self.lanes)
        ]
        await self._restore_pending()
        self._keeper = asyncio.create_task(self._keep_claims(), name="line-claims")

    async def stop(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.join(), self.tuning.drain_seconds)
        tasks = [t for t in (*self._workers, self._keeper) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.backlog:  # still in line_pending_events (stored at receipt): the next start resumes them
            log.warning("LINE events kept for the next start", extra={"count": self.backlog})
        try:
            await self.claims.release()
        except Exception:  # their leases end by themselves
            log.exception("LINE claims not released")
        await self.outbox.stop()
        await self.api.close()
        await self.content.close()

    def submit(self, jobs: list[Job]) -> None:
        """Queue jobs (on this processor's loop); a sender's jobs always go to the same lane."""
        for job in jobs:
            self.backlog += 1
            self._idle.clear()
            self.lanes[zlib.crc32(job.sender.encode()) % len(self.lanes)].put_nowait(job)

    def offer(self, jobs: list[Job]) -> None:
        """Jobs just stored by an acknowledgement, claimed for this processor by that same insert
        (bot/channels/line_ack.py): queued, except a second copy of one already queued here."""
        self._queue(jobs)

    def _queue(self, jobs: list[Job]) -> None:
        fresh = []
        for job in jobs:
            if job.key not in self._queued:
                self._queued.add(job.key)
                fresh.append(job)
        self.submit(fresh)

    async def join(self) -> None:
        """Until every submitted job is processed."""
        await self._idle.wait()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every accepted event is processed and its messages sent (tests, bench)."""
        await asyncio.wait_for(self.join(), timeout)
        await self.outbox.flush(timeout)

    # -- processing --------------------------------------------------------------------------------
    async def _work(self, lane: asyncio.Queue[Job]) -> None:
        while True:
            job = await lane.get()
            try:
                await self._handle(job)
            except Exception:
                log.exception("LINE event processing failed", extra={"event_type": str(job.raw.get("type"))[:40]})
            # not reached when cancelled: the job stays pending for the next start
            self.backlog -= 1
            if self.backlog == 0:
                self._idle.set()

    async def _handle(self, job: Job) -> None:
        try:
            event = parse_event(job.raw)
            if event is not None:
                await self.process(event)
            await self._forget(job)
        finally:
            self._queued.discard(job.key)

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
        turn = asyncio.ensure_future(self.dispatcher.handle(inbound))
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

    async def _record_unfollow(self, inbound: InboundEvent) -> None:
        """The resident blocked the account: keep it in the transcript, answer nothing."""
        svc = self.services
        hold, gate = svc.locker.hold(inbound.conversation_id), svc.turn_gate()
        async with hold, gate, svc.sessionmaker() as session, session.begin():
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
    async def _forget(self, job: Job) -> None:
        async with self.services.turn_gate(), self.services.engine.begin() as conn:  # one Core statement
            await conn.execute(delete(PendingEvent).where(PendingEvent.webhook_event_id == job.key))

    async def _restore_pending(self, *, at_start: bool = True) -> int:
        """Events stored but not processed (a stop or a crash) that nobody else holds: claimed and
        queued again, oldest first; the dispatcher's external_id check keeps one processed just
        before a crash from running twice. At a start every unclaimed row, later (the sweep) only
        those left unclaimed for `orphan_after_seconds` or with an ended lease."""
        rows = await self.claims.claim_orphans(at_start=at_start)
        jobs = [Job(raw=raw, key=key) for key, raw in rows if isinstance(raw, dict)]
        self._queue(jobs)
        if rows:
            log.info("LINE events restored", extra={"count": len(rows)})
        return len(jobs)

    async def _keep_claims(self) -> None:
        """Renew this processor's claims, and take the rows nobody processes (a processor that died)."""
        every = max(0.05, self.tuning.claim_lease_seconds / 3)
        while True:
            await asyncio.sleep(every)
            try:
                await self.claims.renew()
                await self._restore_pending(at_start=False)
            except Exception:
                log.exception("LINE claims not renewed")


class ProcessingThread:
    """A `LineProcessor` on a thread of its own: its own event loop, its own `Services` (engine,
    pool, Redis client, locker) built from the app's settings, sharing the interpreter, the
    knowledge and SQLite's writer gate with the app. Live wake-ups (`hub`) go to the app's hub."""

    def __init__(
        self, make: Callable[[], Coroutine[Any, Any, LineProcessor]], close: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        self._make, self._close = make, close
        self.loop: asyncio.AbstractEventLoop | None = None
        self.processor: LineProcessor | None = None
        self._ready: concurrent.futures.Future[LineProcessor] = concurrent.futures.Future()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._main, name="line-processing", daemon=True)

    async def start(self) -> LineProcessor:
        self._thread.start()
        self.processor = await asyncio.wrap_future(self._ready)
        return self.processor

    def _main(self) -> None:
        loop = _new_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._stopped.set()

    async def _serve(self) -> None:
        try:
            processor = await self._make()
            await processor.start()
        except BaseException as exc:
            self._ready.set_exception(exc)
            with contextlib.suppress(Exception):
                await self._close()
            return
        self._ending = asyncio.Event()
        self._ready.set_result(processor)
        await self._ending.wait()
        try:
            await processor.stop()
        finally:
            await self._close()

    def call(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run `coro` on the processing loop (from any thread)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def submit(self, jobs: list[Job]) -> None:
        assert self.loop is not None and self.processor is not None
        self.loop.call_soon_threadsafe(self.processor.offer, jobs)

    async def stop(self) -> None:
        if self.loop is None or not self._thread.is_alive():
            return
        self.loop.call_soon_threadsafe(self._ending.set)
        await asyncio.to_thread(self._stopped.wait)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency of uvicorn[standard]
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
