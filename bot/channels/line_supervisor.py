"""The acknowledging process's side of LINE processing in a child process (`processing="process"`).

The child (bot/channels/line_child.py) is a fresh interpreter (`python -m bot.channels.line_child`,
exec'd: never a fork of the running event loop) that builds its own Services, NLU and
LineProcessor from the app's settings, sent as its first frame. The two talk over one Unix
socket pair with length-prefixed orjson frames:

- parent -> child: `{"jobs": [[webhookEventId, event], ...]}` right after the events are stored
  (a buffered, non-blocking write on the ack's loop: the ack never waits for the child),
  `{"send": recipient}` (staff pushes were written to the outbox), `{"drain"|"join": id, "timeout"}`
  (tests, the bench), `{"stop": true}` (shutdown: finish what is queued for `drain_seconds`);
- child -> parent: `{"ready": true}`, `{"status": [backlog, jobs received]}` when it changes
  (the ack's backpressure), `{"reply": id, "error": …}`, `{"wake": topic}` (live wake-ups when
  there is no Redis to publish them).

Nothing is lost when the child is down: the events are stored before the 200 and a hand-off to a
dead child is dropped; the next child claims and queues what is pending at its start. A child that
exits is restarted with backoff (`restart_first_seconds` doubling to `restart_max_seconds`, back to
the first after a minute of life). The child keeps this process's claim owner name, so it takes
over its predecessor's claims at once (bot/channels/line_claims.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import shutil
import socket
import struct
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from bot.channels.line_store import LineTuning
from bot.engine.metrics import MULTIPROC_ENV
from bot.settings import Settings

log = logging.getLogger("bot.channels.line")

HEADER = struct.Struct("!I")
FRAME_LIMIT = 64 * 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]  # the project: the child imports `bot` from here


def frame(message: Any) -> bytes:
    data = orjson.dumps(message)
    return HEADER.pack(len(data)) + data


def raw_frame(data: bytes) -> bytes:
    return HEADER.pack(len(data)) + data


async def read_raw(reader: asyncio.StreamReader) -> bytes:
    (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    if size > FRAME_LIMIT:
        raise ValueError("frame too large")
    return await reader.readexactly(size)


async def read_frame(reader: asyncio.StreamReader) -> Any:
    return orjson.loads(await read_raw(reader))


class ProcessingChild:
    """Starts, feeds, restarts and stops the processing child of one acknowledging process."""

    def __init__(
        self, settings: Settings, tuning: LineTuning, owner: str, wake: Callable[[str], Awaitable[None]]
    ) -> None:
        self.settings, self.tuning, self.owner, self._wake = settings, tuning, owner, wake
        self.pid: int | None = None
        self.starts = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._ready = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._requests: dict[int, asyncio.Future[str | None]] = {}
        self._ids = itertools.count(1)
        self._sent = 0  # jobs handed to the current child
        self._received = 0  # of which it reported reading
        self._child_backlog = 0  # its jobs offered or queued and not finished
        self._tasks: set[asyncio.Task[Any]] = set()
        # Its turn metrics (bot/engine/metrics.py): in the workers' shared directory when there is one
        # (WORKERS>1), else in one of its own that `/metrics` adds to this process's figures; kept
        # across restarts (a dead child's counts still count), removed at stop.
        self.metrics_dir: Path | None = None

    @property
    def backlog(self) -> int:
        """Jobs handed over and not processed (the ack's backpressure); 0 while no child runs."""
        return self._child_backlog + self._sent - self._received

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self, timeout: float = 300.0) -> None:
        """Start the child and wait until it is ready (its NLU loaded, pending events queued)."""
        first_exit: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._supervise(first_exit), name="line-child")
        ready: asyncio.Future[Any] = asyncio.ensure_future(self._ready.wait())
        watched: set[asyncio.Future[Any]] = {ready, first_exit}
        done, _ = await asyncio.wait(watched, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            await self.stop()
            raise RuntimeError("the LINE processing child did not start")

    async def stop(self) -> None:
        self._stopping = True
        try:
            await self._stop()
        finally:
            if self.metrics_dir is not None:
                shutil.rmtree(self.metrics_dir, ignore_errors=True)
                self.metrics_dir = None

    async def _stop(self) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(frame({"stop": True}))
        proc = self._proc
        if proc is not None and proc.returncode is None:
            try:
                await asyncio.wait_for(proc.wait(), self.tuning.drain_seconds + 20)
            except TimeoutError:
                log.error("LINE processing child did not stop; killed")
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _supervise(self, first_exit: asyncio.Future[int]) -> None:
        delay = self.tuning.restart_first_seconds
        loop = asyncio.get_running_loop()
        while not self._stopping:
            began = loop.time()
            code = await self._run_once()
            if not first_exit.done():
                first_exit.set_result(code)
            if self._stopping:
                return
            if loop.time() - began > 60:
                delay = self.tuning.restart_first_seconds
            log.error("LINE processing child exited; restarting", extra={"code": code, "after_s": delay})
            await asyncio.sleep(delay)
            delay = min(self.tuning.restart_max_seconds, delay * 2)

    async def _run_once(self) -> int:
        """One child's life: spawn, greet, listen until it ends; its exit code."""
        mine, theirs = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        if MULTIPROC_ENV not in os.environ:
            if self.metrics_dir is None:
                self.metrics_dir = Path(tempfile.mkdtemp(prefix="madoguchi-line-metrics-"))
            env[MULTIPROC_ENV] = str(self.metrics_dir)
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.channels.line_child",
                str(theirs.fileno()),
                pass_fds=[theirs.fileno()],
                stdin=asyncio.subprocess.DEVNULL,
                env=env,
                cwd=str(ROOT),
            )
        except OSError:
            log.exception("LINE processing child not started")
            mine.close()
            return -1
        finally:
            theirs.close()
        self._proc, self.pid = proc, proc.pid
        self.starts += 1
        reader, writer = await asyncio.open_unix_connection(sock=mine, limit=FRAME_LIMIT)
        root = logging.getLogger()  # the child logs as this process does (configured or not)
        level = logging.getLevelName(root.level) if root.handlers else None
        writer.write(raw_frame(pickle.dumps((self.settings, self.tuning, self.owner, level))))
        self._writer = writer
        self._sent = self._received = self._child_backlog = 0
        try:
            await self._listen(reader)
        finally:
            self._ready.clear()
            self._writer = None
            writer.close()
            for future in self._requests.values():
                if not future.done():
                    future.set_exception(ConnectionError("the LINE processing child ended"))
            self._requests.clear()
            self._sent = self._received = self._child_backlog = 0
        return await proc.wait()

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                message = await read_frame(reader)
            except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                return
            if "status" in message:
                self._child_backlog, self._received = message["status"]
            elif "wake" in message:
                self._spawn(self._wake(str(message["wake"])))
            elif "reply" in message:
                future = self._requests.pop(int(message["reply"]), None)
                if future is not None and not future.done():
                    future.set_result(message.get("error"))
            elif message.get("ready"):
                self._ready.set()

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- what the acknowledging process asks --------------------------------------------------------
    def hand_off(self, jobs: list[tuple[str, dict[str, Any]]]) -> None:
        """The stored events to the child, without waiting (dropped when no child listens: the
        rows are pending, and the next child queues them at its start)."""
        writer = self._writer
        if writer is None or writer.is_closing():
            return
        writer.write(frame({"jobs": jobs}))
        self._sent += len(jobs)

    def send(self, recipient_id: str) -> None:
        """Outbox rows were written for `recipient_id`: send them now (else the child's sweep does)."""
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(frame({"send": recipient_id}))

    async def request(self, kind: str, timeout: float) -> None:
        """`drain` or `join` on the child, across a restart, within `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"LINE processing child: {kind} not done")
            await asyncio.wait_for(self._ready.wait(), left)
            writer = self._writer
            if writer is None or writer.is_closing():
                await asyncio.sleep(0.01)
                continue
            key = next(self._ids)
            future: asyncio.Future[str | None] = loop.create_future()
            self._requests[key] = future
            writer.write(frame({kind: key, "timeout": left}))
            try:
                error = await asyncio.wait_for(future, left + 1)
            except ConnectionError:
                continue  # the child ended meanwhile: ask its successor
            if error:
                raise TimeoutError(f"LINE processing child: {error}")
            return
