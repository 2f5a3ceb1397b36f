"""Conversation state: what the bot remembers between turns of one conversation.

The state is a JSON column of the conversation row. A turn claims that row (`claim`, inside the
turn's transaction: on PostgreSQL `SELECT … FOR UPDATE`, which also orders the conversation's
turns across workers and is released by the database when a crashed worker's connection goes;
on SQLite `BEGIN IMMEDIATE`) and writes the new state back in the same transaction (`put`), so a
turn commits whole or not at all and no cache holds the only copy. `SqlStateStore` reads and
writes the same column outside a turn (staff, tests); the contract suite runs it over SQLite and
PostgreSQL. A state idle for longer than the TTL is forgotten: the next message starts afresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, SupportsIndex

from pydantic import BaseModel, Field, ValidationError, computed_field, model_validator
from sqlalchemy import and_, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import ClauseElement

from bot.engine import expectations
from bot.engine.expectations import ActiveForm, Expectation, ExpectationKind
from bot.store import raw
from bot.store.db import LOCK_TIMEOUT_INFO
from bot.store.models import Conversation
from knowledge.residents import ChannelIdentity

ConversationStatus = Literal["bot", "pending_handoff", "human"]
__all__ = ["ActiveForm", "ConversationState", "Expectation", "SqlStateStore", "StateStore", "claim", "put"]


class ConversationState(BaseModel):
    conversation_id: str
    channel: str
    sender_id: str
    status: ConversationStatus = "bot"
    # who owns the next message, newest on top (bot/engine/expectations.py); `active_form`,
    # `paused_forms` and `pending_question` are views of it
    expectations: list[Expectation] = Field(default_factory=list)
    last_intent: str | None = None
    fallback_streak: int = 0
    resident_id: str | None = None
    offered_suggestions: list[str] = Field(default_factory=list)
    consent_asked: bool = False
    data: dict[str, Any] = Field(default_factory=dict)
    language: str = "ja"  # ja | easy_ja | en | other (CONTRACTS §9; handlers/i18n.py)
    turn: int = 0
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @model_validator(mode="before")
    @classmethod
    def _old_shape(cls, data: Any) -> Any:
        """State saved before the stack (or built with the old field names) loads as a stack."""
        return expectations.from_legacy(data) if isinstance(data, dict) else data

    # -- views of the stack (also written into the stored JSON, for readers of the old shape) --
    @computed_field  # type: ignore[prop-decorator]
    @property
    def active_form(self) -> ActiveForm | None:
        entry = expectations.find(self.expectations, "form")
        return entry.form if entry is not None else None

    @active_form.setter
    def active_form(self, form: ActiveForm | None) -> None:
        expectations.set_active(self.expectations, form, self.turn)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def paused_forms(self) -> list[ActiveForm]:
        """The forms put aside, oldest first; changing this list changes the stack."""
        return PausedForms(self)

    @paused_forms.setter
    def paused_forms(self, forms: list[ActiveForm]) -> None:
        expectations.set_paused(self.expectations, list(forms), self.turn)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pending_question(self) -> str | None:
        """The bot's open yes/no or code question ("consent", "link_code"), if any."""
        entry = expectations.find(self.expectations, "question")
        return entry.name if entry is not None else None

    @pending_question.setter
    def pending_question(self, name: str | None) -> None:
        expectations.remove(self.expectations, "question")
        if name is not None:
            self.expect("question", name)

    # -- the stack for handlers --------------------------------------------------------------
    def expect(
        self, kind: ExpectationKind, name: str, *, data: dict[str, Any] | None = None, for_turns: int | None = None
    ) -> Expectation:
        """Push what the bot now waits for; `for_turns`: it counts for that many next messages only."""
        until = None if for_turns is None else self.turn + for_turns
        entry = Expectation(kind=kind, name=name, data=data or {}, pushed_turn=self.turn, until_turn=until)
        self.expectations.append(entry)
        return entry

    def expected(self, kind: ExpectationKind, name: str | None = None) -> Expectation | None:
        """The top-most live entry of `kind` (named `name`)."""
        entry = expectations.find(self.expectations, kind, name)
        return None if entry is None or entry.stale(self.turn) else entry

    def drop_expected(self, kind: ExpectationKind, name: str | None = None) -> list[Expectation]:
        return expectations.remove(self.expectations, kind, name)


class PausedForms(list[ActiveForm]):
    """`state.paused_forms`: a list whose changes (`pop`, `clear`, …) are written to the stack."""

    def __init__(self, state: ConversationState) -> None:
        super().__init__(e.form for e in state.expectations if e.kind == "paused_form" and e.form is not None)
        self._state = state

    def _sync(self) -> None:
        expectations.set_paused(self._state.expectations, list(self), self._state.turn)

    def append(self, form: ActiveForm) -> None:
        super().append(form)
        self._sync()

    def extend(self, forms: Iterable[ActiveForm]) -> None:
        super().extend(forms)
        self._sync()

    def insert(self, index: SupportsIndex, form: ActiveForm) -> None:
        super().insert(index, form)
        self._sync()

    def pop(self, index: SupportsIndex = -1) -> ActiveForm:
        form = super().pop(index)
        self._sync()
        return form

    def remove(self, form: ActiveForm) -> None:
        super().remove(form)
        self._sync()

    def clear(self) -> None:
        super().clear()
        self._sync()


class StateStoreError(RuntimeError):
    """The stored state is unreadable for this version (the database itself failing raises its own
    errors, answered with 503 by the app)."""


class LockTimeout(RuntimeError):
    """The conversation stayed locked longer than the lock timeout."""


class StateStore(Protocol):
    async def get(self, conversation_id: str) -> ConversationState | None: ...
    async def save(self, state: ConversationState) -> None: ...
    async def delete(self, conversation_id: str) -> None: ...


@dataclass(slots=True)
class ConversationRow:
    """The columns of a conversation row a turn reads (a plain row, not an ORM object: the turn's
    hot path reads and writes it with one Core statement each, issue 12)."""

    id: str
    channel: str
    sender_id: str
    status: str
    state: dict[str, Any] | None
    state_saved_at: datetime | None
    # the sender's channel identity as read with the row (resident id, how it was linked), both
    # None when there is none: the turn resolves the resident from it without a statement of its own
    link: tuple[str | None, str | None] = (None, None)


_COLUMNS = (
    Conversation.id,
    Conversation.channel,
    Conversation.sender_id,
    Conversation.status,
    Conversation.state,
    Conversation.state_saved_at,
)


async def begin_turn(db: AsyncSession) -> None:
    """Open the turn's transaction. SQLite: take the write lock now (`BEGIN IMMEDIATE`), so a turn
    that reads first and writes later never fails to upgrade its lock under a concurrent writer."""
    dialect = db.get_bind().dialect
    if dialect.name == "sqlite":
        await raw.fetch_all(db, [(raw.compiled("begin.immediate", dialect, lambda: text("BEGIN IMMEDIATE")), {})])


async def claim(
    db: AsyncSession,
    *,
    conversation_id: str,
    channel: str,
    sender_id: str,
    lock_timeout_seconds: float,
    ttl_seconds: int,
) -> tuple[ConversationRow, ConversationState]:
    """The conversation's row (created when new), locked for this transaction, and its state.

    One statement for a conversation that exists (the common case): the locking read; a new one
    is inserted (waiting, like the read, for a row another transaction is inserting) and read."""
    found = await claim_existing(
        db, conversation_id=conversation_id, lock_timeout_seconds=lock_timeout_seconds, ttl_seconds=ttl_seconds
    )
    if found is not None:
        return found
    now = datetime.now(UTC)
    values: dict[str, Any] = {"id": conversation_id, "channel": channel, "sender_id": sender_id, "status": "bot"}
    values |= {"created_at": now, "updated_at": now}
    dialect = db.get_bind().dialect
    try:
        await raw.fetch(db, raw.compiled("conversation.insert", dialect, lambda: _insert(dialect.name)), values)
    except DBAPIError as exc:
        _raise_lock_timeout(exc, lock_timeout_seconds)
        raise
    found = await claim_existing(
        db, conversation_id=conversation_id, lock_timeout_seconds=lock_timeout_seconds, ttl_seconds=ttl_seconds
    )
    assert found is not None
    return found


async def claim_existing(
    db: AsyncSession,
    *,
    conversation_id: str,
    lock_timeout_seconds: float,
    ttl_seconds: int,
) -> tuple[ConversationRow, ConversationState] | None:
    """Like `claim` for a conversation that must exist already (staff actions): None when not."""
    dialect = db.get_bind().dialect
    if dialect.name == "postgresql":
        await _lock_timeout(db, lock_timeout_seconds)
    try:
        rows = await raw.fetch(db, raw.compiled("conversation.claim", dialect, _claim), {"cid": conversation_id})
    except DBAPIError as exc:
        _raise_lock_timeout(exc, lock_timeout_seconds)
        raise
    if not rows:
        return None
    found = rows[0]
    conversation_id_, channel, sender_id, status, state, saved_at, resident_id, linked_by = found
    row = ConversationRow(conversation_id_, channel, sender_id, status, state, saved_at, (resident_id, linked_by))
    return row, state_of(row, ttl_seconds=ttl_seconds)


def _claim() -> ClauseElement:
    """The conversation row, locked (PostgreSQL; SQLite's turn holds the write lock already), with
    the sender's channel identity."""
    identity = and_(ChannelIdentity.channel == Conversation.channel, ChannelIdentity.user_id == Conversation.sender_id)
    return (
        select(*_COLUMNS, ChannelIdentity.resident_id, ChannelIdentity.linked_by)
        .outerjoin(ChannelIdentity, identity)
        .where(Conversation.id == bindparam("cid"))
        .with_for_update(of=Conversation)
    )


def _insert(dialect: str) -> ClauseElement:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    columns = ("id", "channel", "sender_id", "status", "created_at", "updated_at")
    values = {name: bindparam(name, type_=Conversation.__table__.c[name].type) for name in columns}
    return insert(Conversation).values(**values).on_conflict_do_nothing(index_elements=["id"])


def _update() -> ClauseElement:
    table = Conversation.__table__
    columns = ("state", "state_saved_at", "status", "resident_id", "updated_at")
    values = {name: bindparam(name, type_=table.c[name].type) for name in columns}
    return update(Conversation).where(Conversation.id == bindparam("cid")).values(**values)


async def _lock_timeout(db: AsyncSession, seconds: float) -> None:
    """PostgreSQL: how long the turn waits for the row. Set once per connection when the engine was
    made with this timeout (bot.store.db: no statement per turn), else for this transaction."""
    millis = int(seconds * 1000)
    _, fairy = await raw.driver(db)
    if fairy.info.get(LOCK_TIMEOUT_INFO) != millis:
        await db.execute(text(f"SET LOCAL lock_timeout = '{millis}ms'"))


def _raise_lock_timeout(exc: DBAPIError, seconds: float) -> None:
    if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
        raise LockTimeout(f"conversation busy for more than {seconds:g} s") from None


class _StoredState(Protocol):
    id: str
    channel: str
    sender_id: str
    status: str
    state: dict[str, Any] | None
    state_saved_at: datetime | None


def state_of(conv: _StoredState, *, ttl_seconds: int) -> ConversationState:
    """The state saved on `conv`, or a fresh one when there is none or it is older than the TTL."""
    if conv.state is not None and not _expired(conv, ttl_seconds):
        try:
            return ConversationState.model_validate(conv.state)
        except ValidationError as exc:
            raise StateStoreError("stored state is not valid for this version") from exc
    return ConversationState(
        conversation_id=conv.id,
        channel=conv.channel,
        sender_id=conv.sender_id,
        status=conv.status,  # type: ignore[arg-type]  # a person may be in charge of an old chat
    )


async def put(db: AsyncSession, conv: ConversationRow, state: ConversationState) -> None:
    """Write `state` onto its row (one UPDATE): committed with the rest of the turn."""
    await raw.fetch_all(db, [put_statement(db, conv, state)])


def put_statement(
    db: AsyncSession, conv: ConversationRow, state: ConversationState
) -> tuple[raw.Compiled, dict[str, Any]]:
    """The UPDATE that writes `state` onto its row, to run alone (`put`) or with the turn's other
    writes (bot.store.raw); `conv` is updated as the row will be."""
    now = datetime.now(UTC)
    state.updated_at = now
    saved = state.model_dump(mode="json")
    values = {"cid": conv.id, "state": saved, "state_saved_at": now, "status": state.status}
    values |= {"resident_id": state.resident_id, "updated_at": now}
    conv.state, conv.state_saved_at, conv.status = saved, now, state.status
    return raw.compiled("conversation.put", db.get_bind().dialect, _update), values


def _expired(conv: _StoredState, ttl_seconds: int) -> bool:
    saved = conv.state_saved_at
    if saved is None:
        return False
    saved = saved if saved.tzinfo else saved.replace(tzinfo=UTC)  # SQLite gives naive UTC
    return saved < datetime.now(UTC) - timedelta(seconds=ttl_seconds)


class SqlStateStore:
    """The conversation state outside a turn (staff actions, tools, tests), one transaction a call."""

    def __init__(self, sessionmaker: async_sessionmaker, *, ttl_seconds: int) -> None:  # type: ignore[type-arg]
        self._sessionmaker = sessionmaker
        self._ttl = ttl_seconds

    async def get(self, conversation_id: str) -> ConversationState | None:
        async with self._sessionmaker() as db:
            conv = await db.get(Conversation, conversation_id)
            if conv is None or conv.state is None or _expired(conv, self._ttl):
                return None
            return state_of(conv, ttl_seconds=self._ttl)

    async def save(self, state: ConversationState) -> None:
        async with self._sessionmaker() as db, db.begin():
            conv, _ = await claim(
                db,
                conversation_id=state.conversation_id,
                channel=state.channel,
                sender_id=state.sender_id,
                lock_timeout_seconds=30,
                ttl_seconds=self._ttl,
            )
            await put(db, conv, state)

    async def delete(self, conversation_id: str) -> None:
        """Forget what the bot remembered (the transcript stays): the next message starts afresh."""
        async with self._sessionmaker() as db, db.begin():
            conv = await db.get(Conversation, conversation_id)
            if conv is not None:
                conv.state = None
                conv.state_saved_at = None
