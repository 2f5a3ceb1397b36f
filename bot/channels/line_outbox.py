"""LINE delivery that is never lost: a persistent outbox and the worker that empties it.

Every batch (at most 5 messages, one API call) is written to `line_outbox` BEFORE the first
attempt and marked sent only when LINE accepted it. The first batch of a turn carries the reply
token; when the token is expired or used (400 "Invalid reply token"), the turn took longer than
the reply deadline, or replies kept failing, the batch is pushed instead. Pushes carry an
`X-Line-Retry-Key` (one UUID per row, the same on every retry) so LINE delivers a retried push
once (a repeat answers 409, which counts as delivered). 5xx, 429, timeouts and connection errors
are retried with exponential backoff and jitter; rows of one recipient go out in order.

A recipient's oldest pending row is claimed, when due, by one UPDATE that also leases it
(next_attempt_at moves forward, `_claim_next`), so two workers never send the same row at once and
a row held by a crashed process becomes due again when its lease ends. An attempt is two Core
statements (claim, record), no ORM session. Pending rows are picked up at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
)
from linebot.v3.messaging.exceptions import ApiException
from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import aliased
from yarl import URL

from bot.channels.line_store import (  # noqa: F401 - their home before line_store.py; still importable here
    CLAIMED,
    LineTuning,
    OutboxRow,
    PendingEvent,
    aware,
    outbox_rows,
)
from bot.logs import pseudonym
from bot.settings import Settings
from bot.store.models import utcnow

log = logging.getLogger(__name__)

Outcome = Literal["sent", "invalid_token", "transient", "permanent"]


class LineApi:
    """The async Messaging API client (line-bot-sdk v3) pointed at LINE_API_BASE_URL."""

    def __init__(self, settings: Settings, tuning: LineTuning) -> None:
        host = settings.line_api_base_url.rstrip("/")
        config = Configuration(host=host, access_token=settings.line_channel_access_token)
        # HTTPS_PROXY & co. are read once here, not at every call: the SDK's aiohttp session trusts
        # the environment, which costs a thread-pool hop (proxy and ~/.netrc look-ups) per request.
        config.proxy, auth = env_proxy(host)
        if auth is not None:
            config.proxy_headers = {"Proxy-Authorization": auth.encode()}
        # The SDK's generated methods ignore their own base path when Configuration.host is set,
        # which is what lets a stand-in on http://127.0.0.1:PORT receive every call.
        self._client = AsyncApiClient(config)
        session = self._client.rest_client.pool_manager
        session._trust_env = False  # noqa: SLF001 - the proxy was resolved above
        self.messaging = AsyncMessagingApi(self._client)
        self.timeout = tuning.request_timeout

    async def reply(self, token: str, messages: list[dict[str, Any]]) -> None:
        request = ReplyMessageRequest.from_dict({"replyToken": token, "messages": messages})
        await self.messaging.reply_message(request, _request_timeout=self.timeout)

    async def push(self, to: str, messages: list[dict[str, Any]], retry_key: str) -> None:
        request = PushMessageRequest.from_dict({"to": to, "messages": messages})
        await self.messaging.push_message(request, x_line_retry_key=retry_key, _request_timeout=self.timeout)

    async def show_loading(self, chat_id: str, seconds: int) -> None:
        request = ShowLoadingAnimationRequest(chatId=chat_id, loadingSeconds=seconds)
        await self.messaging.show_loading_animation(request, _request_timeout=min(self.timeout, 3.0))

    async def close(self) -> None:
        await self._client.close()


def env_proxy(url: str) -> tuple[str | None, aiohttp.BasicAuth | None]:
    """The proxy the environment names for `url` (HTTPS_PROXY, NO_PROXY …) and its credentials,
    as aiohttp reads them."""
    try:
        proxy, auth = get_env_proxy_for_url(URL(url))
    except LookupError:
        return None, None
    return str(proxy), auth


def classify(exc: BaseException) -> Outcome:
    if isinstance(exc, ApiException):
        body = str(exc.body or "").lower()
        if exc.status == 409:  # a push with this retry key was already accepted
            return "sent"
        if exc.status == 400 and "reply token" in body:
            return "invalid_token"
        if exc.status == 429 or (exc.status or 0) >= 500:
            return "transient"
        return "permanent"
    if isinstance(exc, TimeoutError | aiohttp.ClientError | OSError):
        return "transient"
    return "permanent"


class Outbox:
    def __init__(
        self,
        sessionmaker: async_sessionmaker,  # type: ignore[type-arg]
        api: LineApi,
        tuning: LineTuning,
        clock: Callable[[], datetime] = utcnow,
        gate: Callable[[], contextlib.AbstractAsyncContextManager[Any]] = contextlib.nullcontext,
    ) -> None:
        self._db = sessionmaker
        self._engine = sessionmaker.kw["bind"]
        self._gate = gate  # SQLite's single writer (Services.turn_gate); nothing on PostgreSQL
        self._api = api
        self._tuning = tuning
        self._clock = clock
        self._wake = asyncio.Event()
        self._busy: set[str] = set()
        self._again: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None

    # -- writing -----------------------------------------------------------------------------------
    async def enqueue(
        self,
        *,
        recipient_id: str,
        batches: Sequence[list[dict[str, Any]]],
        reply_token: str | None = None,
        event_at: datetime | None = None,
    ) -> list[int]:
        """Persist batches (the first may use the reply token); return their row ids in order."""
        rows = self.rows(recipient_id=recipient_id, batches=batches, reply_token=reply_token, event_at=event_at)
        async with self._gate(), self._db() as session, session.begin():
            session.add_all(rows)
        return [row.id for row in rows]

    def rows(
        self,
        *,
        recipient_id: str,
        batches: Sequence[list[dict[str, Any]]],
        reply_token: str | None = None,
        event_at: datetime | None = None,
    ) -> list[OutboxRow]:
        """Outbox rows for a caller that adds them to its own transaction (the turn's transcript)."""
        return outbox_rows(
            recipient_id=recipient_id, batches=batches, reply_token=reply_token, event_at=event_at, now=self._clock()
        )

    async def send(self, recipient_id: str) -> None:
        """First attempt right away, in the caller's task; what fails is left to the worker."""
        await self._drain_recipient(recipient_id)
        self._wake.set()

    # -- the worker --------------------------------------------------------------------------------
    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="line-outbox")

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        if self._tasks:  # in-flight sends end within the request timeout
            await asyncio.wait(self._tasks, timeout=self._tuning.request_timeout + 1)
        for task in self._tasks:
            task.cancel()

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until nothing is pending or in flight (tests and the benchmark)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._busy or await self.pending_count():
            if loop.time() > deadline:
                raise TimeoutError("LINE outbox still has pending messages")
            self._wake.set()
            await asyncio.sleep(0.02)

    async def pending_count(self) -> int:
        async with self._db() as session:
            rows = await session.scalars(select(OutboxRow.id).where(OutboxRow.status == "pending"))
            return len(rows.all())

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                wait = await self._sweep()
            except Exception:
                log.exception("LINE outbox sweep failed")
                wait = self._tuning.poll_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.01, wait))

    async def _sweep(self) -> float:
        """Start sending for every recipient whose oldest pending row is due; return the wait."""
        async with self._db() as session:
            rows = (
                await session.execute(
                    select(OutboxRow.recipient_id, OutboxRow.next_attempt_at)
                    .where(OutboxRow.status == "pending")
                    .order_by(OutboxRow.id)
                    .limit(1000)
                )
            ).all()
        now, wait = self._clock(), self._tuning.poll_seconds
        seen: set[str] = set()
        for recipient, due in rows:
            if recipient in seen:
                continue
            seen.add(recipient)
            delay = (aware(due) - now).total_seconds()
            if delay > 0:
                wait = min(wait, delay)
            elif recipient not in self._busy:
                task = asyncio.create_task(self._drain_recipient(recipient))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return wait

    async def _drain_recipient(self, recipient_id: str) -> None:
        if recipient_id in self._busy:
            self._again.add(recipient_id)  # rows written meanwhile: the sender in progress looks again
            return
        self._busy.add(recipient_id)
        try:
            while True:
                self._again.discard(recipient_id)
                row = await self._claim_next(recipient_id)
                if row is None:
                    return
                go_on, finished = await self._attempt(row)
                if not go_on:
                    return
                if finished and not row.more and recipient_id not in self._again:  # nothing else pending
                    return
        except Exception:
            log.exception("LINE outbox send failed", extra={"recipient": pseudonym(recipient_id)})
        finally:
            self._busy.discard(recipient_id)

    async def _claim_next(self, recipient_id: str) -> Any | None:
        """The recipient's oldest pending row, when it is due, leased to this worker: ONE Core
        statement (the claim's compare-and-set is the row's own `next_attempt_at <= now`: a second
        worker that read the same oldest id finds it leased into the future, and updates nothing)."""
        now = self._clock()
        oldest = (
            select(OutboxRow.id)
            .where(OutboxRow.recipient_id == recipient_id, OutboxRow.status == "pending")
            .order_by(OutboxRow.id)
            .limit(1)
            .scalar_subquery()
        )
        other = aliased(OutboxRow)
        later = (  # another pending row of the recipient after this one: claim again after sending
            exists()
            .where(other.recipient_id == recipient_id, other.status == "pending", other.id > OutboxRow.id)
            .correlate(OutboxRow)
        )
        claim = (
            update(OutboxRow)
            .where(OutboxRow.id == oldest, OutboxRow.status == "pending", OutboxRow.next_attempt_at <= now)
            .values(
                attempts=OutboxRow.attempts + 1, next_attempt_at=now + timedelta(seconds=self._tuning.lease_seconds)
            )
            .returning(*CLAIMED, later.label("more"))
        )
        async with self._gate(), self._engine.begin() as conn:
            return (await conn.execute(claim)).first()

    # -- one attempt -------------------------------------------------------------------------------
    async def _attempt(self, row: Any) -> tuple[bool, bool]:
        """Send one claimed row: (go on now, this row is finished). Go on: it was sent or given
        up (finished), or it is to be pushed at once (not finished); else it waits for a retry."""
        use_reply = row.reply_token is not None and not self._reply_too_late(row.event_at)
        try:
            if use_reply:
                await self._api.reply(row.reply_token, row.messages)
            else:
                await self._api.push(row.recipient_id, row.messages, row.retry_key)
            outcome: Outcome = "sent"
            error = ""
        except Exception as exc:  # classified below; nothing about the message is logged
            outcome = classify(exc)
            error = f"{type(exc).__name__}: {getattr(exc, 'status', '')}".strip()[:200]
        via = "reply" if use_reply else "push"
        return await self._record(row, attempts=row.attempts, via=via, outcome=outcome, error=error)

    def _reply_too_late(self, event_at: datetime | None) -> bool:
        if event_at is None:
            return False
        return (self._clock() - aware(event_at)).total_seconds() > self._tuning.reply_deadline

    async def _record(self, row: Any, *, attempts: int, via: str, outcome: Outcome, error: str) -> tuple[bool, bool]:
        now = self._clock()
        values: dict[str, Any] = {"last_error": error or None}
        go_on, finished = True, True
        if outcome == "sent":
            values.update(status="sent", sent_at=now, reply_token=None)
        elif outcome == "invalid_token" or (
            via == "reply" and outcome == "transient" and attempts >= self._tuning.reply_attempts
        ):
            values.update(reply_token=None, next_attempt_at=now)  # push it, right away (claimed next)
            finished = False
        elif outcome == "transient" and attempts < self._tuning.max_attempts:
            values.update(next_attempt_at=now + timedelta(seconds=self._backoff(attempts)))
            go_on, finished = False, False
        else:
            values.update(status="failed")
            log.error("LINE message given up", extra={"row": row.id, "via": via, "error": error, "attempts": attempts})
        async with self._gate(), self._engine.begin() as conn:
            await conn.execute(update(OutboxRow).where(OutboxRow.id == row.id).values(**values))
        log.info(
            "LINE delivery attempt",
            extra={
                "row": row.id,
                "via": via,
                "outcome": outcome,
                "attempts": attempts,
                "recipient": pseudonym(row.recipient_id),
            },
        )
        return go_on, finished

    def _backoff(self, attempts: int) -> float:
        ceiling = min(self._tuning.backoff_cap, self._tuning.backoff_base * 2 ** (attempts - 1))
        return ceiling * random.uniform(0.5, 1.0)
