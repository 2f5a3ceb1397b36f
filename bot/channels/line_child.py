"""The LINE processing child: `python -m bot.channels.line_child FD` (started by
bot/channels/line_supervisor.py, never by hand).

It reads the app's settings, LINE tuning and claim owner from the socket `FD`, lowers its CPU
priority (`LineTuning.process_nice`, 10 by default: under CFS a nice-10 process gets about a tenth
of the CPU time a nice-0 one gets when both want it, so the acknowledgements, which are latency
critical and cheap, run as soon as they are ready, while turns, which are throughput, fill the
rest), builds Services, NLU, knowledge, dispatcher and a `LineProcessor` of its own, as the app's
lifespan does, and processes what the parent hands over, in lanes per sender, as the processing
thread does. It ends, after draining for `drain_seconds`, on `{"stop"}` or when the parent's end of
the socket closes (the parent died): a child never outlives its parent. SIGINT and SIGTERM are
ignored: a terminal's Ctrl-C, or a `kill` of the whole process group or service, reaches the parent
too, which stops its child in order (if the child ended on its own, the parent would restart it).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import pickle
import signal
import socket
import sys
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels import web
from bot.channels.line_outbox import LineTuning
from bot.channels.line_process import Job, LineProcessor, _new_loop
from bot.channels.line_render import batches, render
from bot.channels.line_supervisor import frame, read_frame, read_raw
from bot.engine import identity
from bot.engine.assembly import build_dispatcher
from bot.engine.events import Reply
from bot.engine.hub import Hub
from bot.engine.interpreters import build_interpreter
from bot.engine.services import Services, build_services
from bot.logs import configure
from bot.settings import Settings
from knowledge.loader import load_knowledge

log = logging.getLogger("bot.channels.line")

STATUS_SECONDS = 0.02  # how often the backlog is reported to the parent, when it changed


class ParentHub(Hub):
    """Without Redis, a live wake-up is the parent's: relayed over the socket (never waits)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        super().__init__()
        self._writer = writer

    async def wake(self, topic: str) -> None:
        if not self._writer.is_closing():
            self._writer.write(frame({"wake": topic}))


def build(settings: Settings, tuning: LineTuning, owner: str, writer: asyncio.StreamWriter) -> LineProcessor:
    services = build_services(settings, build_interpreter(settings))
    services.resolve_resident = identity.make_resolver(services.sessionmaker, demo_mode=settings.demo_mode)
    if not settings.redis_url:  # with Redis the child publishes its wake-ups itself
        services.hub = ParentHub(writer)
    services.senders["web"] = partial(web.deliver, services)
    load_knowledge(services)
    processor = LineProcessor(services, build_dispatcher(services), tuning, owner)
    services.senders["line"] = lambda sender_id, _replies: processor.outbox.send(sender_id)

    async def write_push(session: AsyncSession, sender_id: str, replies: list[Reply]) -> None:
        session.add_all(processor.outbox.rows(recipient_id=sender_id, batches=batches(render(replies))))

    services.outbox_writers["line"] = write_push
    return processor


class Child:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.received = 0
        self.ending = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def serve(self) -> None:
        settings, tuning, owner, level = pickle.loads(await read_raw(self.reader))  # noqa: S301 - our parent's
        with contextlib.suppress(OSError):
            os.nice(tuning.process_nice)
        if level:  # the parent's logging was configured (bot/logs.py): the same here
            configure(level)
        processor = build(settings, tuning, owner, self.writer)
        services: Services = processor.services
        try:
            await processor.start()
            gc.freeze()  # as the app does after start-up: full collections walk only what serving made
            self.writer.write(frame({"ready": True}))
            log.info("LINE processing child ready", extra={"pid": os.getpid()})
            status = asyncio.create_task(self._report(processor))
            reading = asyncio.create_task(self._read(processor))
            await asyncio.wait({reading, asyncio.ensure_future(self.ending.wait())}, return_when="FIRST_COMPLETED")
            reading.cancel()
            await processor.stop()
            status.cancel()
        finally:
            await services.close()
            self.writer.close()

    async def _read(self, processor: LineProcessor) -> None:
        while True:
            try:
                message = await read_frame(self.reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                log.warning("LINE processing child: the parent is gone; stopping")
                self.ending.set()
                return
            if "jobs" in message:
                jobs = [Job(raw=raw, key=key) for key, raw in message["jobs"]]
                self.received += len(jobs)
                processor.offer(jobs)
            elif "send" in message:
                self._spawn(processor.outbox.send(str(message["send"])))
            elif "drain" in message:
                self._spawn(self._answer(message["drain"], processor.drain(float(message["timeout"]))))
            elif "join" in message:
                self._spawn(self._answer(message["join"], asyncio.wait_for(processor.join(), message["timeout"])))
            elif message.get("stop"):
                self.ending.set()
                return

    async def _answer(self, key: int, work: Any) -> None:
        error = None
        try:
            await work
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:200] or "failed"
        if not self.writer.is_closing():
            self.writer.write(frame({"reply": key, "error": error}))

    async def _report(self, processor: LineProcessor) -> None:
        last = (-1, -1)
        while True:
            now = (processor.backlog, self.received)
            if now != last and not self.writer.is_closing():
                self.writer.write(frame({"status": list(now)}))
                last = now
            await asyncio.sleep(STATUS_SECONDS)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _main(fd: int) -> None:
    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_unix_connection(sock=sock, limit=64 * 1024 * 1024)
    await Child(reader, writer).serve()


def main() -> None:
    for name in (signal.SIGINT, signal.SIGTERM):  # the parent decides when its child stops
        signal.signal(name, signal.SIG_IGN)
    loop = _new_loop()
    try:
        loop.run_until_complete(_main(int(sys.argv[1])))
    finally:
        loop.close()


if __name__ == "__main__":
    main()
