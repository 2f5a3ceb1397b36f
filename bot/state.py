"""Conversation state: what the bot remembers between turns of one conversation.

Two stores share one contract (tests/bot/test_state_store.py runs it over both): an in-memory
store for the embedded mode and a Redis store (JSON values, key prefix, TTL) for production.
A store that cannot reach its backend raises `StateStoreError`; it never silently drops state.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field
from redis.asyncio import Redis
from redis.exceptions import RedisError

ConversationStatus = Literal["bot", "pending_handoff", "human"]


class ActiveForm(BaseModel):
    """A procedure being filled in over several turns."""

    name: str
    slots: dict[str, Any] = Field(default_factory=dict)
    requested_slot: str | None = None
    awaiting_confirmation: bool = False
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ConversationState(BaseModel):
    conversation_id: str
    channel: str
    sender_id: str
    status: ConversationStatus = "bot"
    active_form: ActiveForm | None = None
    paused_forms: list[ActiveForm] = Field(default_factory=list)
    last_intent: str | None = None
    fallback_streak: int = 0
    resident_id: str | None = None
    offered_suggestions: list[str] = Field(default_factory=list)
    consent_asked: bool = False
    pending_question: str | None = None  # e.g. "consent" while a yes/no question is open
    data: dict[str, Any] = Field(default_factory=dict)
    turn: int = 0
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class StateStoreError(RuntimeError):
    """The state backend is unavailable or returned something unreadable."""


class StateStore(Protocol):
    async def get(self, conversation_id: str) -> ConversationState | None: ...
    async def save(self, state: ConversationState) -> None: ...
    async def delete(self, conversation_id: str) -> None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class InMemoryStateStore:
    """Single-process store with the same TTL semantics as Redis."""

    def __init__(self, ttl_seconds: int) -> None:
        self._ttl = ttl_seconds
        self._items: dict[str, tuple[float, str]] = {}

    async def get(self, conversation_id: str) -> ConversationState | None:
        item = self._items.get(conversation_id)
        if item is None:
            return None
        expires, raw = item
        if expires <= time.monotonic():
            del self._items[conversation_id]
            return None
        return ConversationState.model_validate_json(raw)

    async def save(self, state: ConversationState) -> None:
        state.updated_at = datetime.now(UTC)
        self._items[state.conversation_id] = (time.monotonic() + self._ttl, state.model_dump_json())

    async def delete(self, conversation_id: str) -> None:
        self._items.pop(conversation_id, None)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._items.clear()


class RedisStateStore:
    def __init__(self, redis: Redis, *, prefix: str, ttl_seconds: int) -> None:
        self._redis = redis
        self._prefix = f"{prefix}state:"
        self._ttl = ttl_seconds

    def _key(self, conversation_id: str) -> str:
        return self._prefix + conversation_id

    async def get(self, conversation_id: str) -> ConversationState | None:
        try:
            raw = await self._redis.get(self._key(conversation_id))
        except RedisError as exc:
            raise StateStoreError(f"redis unavailable: {exc.__class__.__name__}") from exc
        if raw is None:
            return None
        try:
            return ConversationState.model_validate_json(raw)
        except ValueError as exc:
            raise StateStoreError("stored state is not valid JSON for this version") from exc

    async def save(self, state: ConversationState) -> None:
        state.updated_at = datetime.now(UTC)
        try:
            await self._redis.set(self._key(state.conversation_id), state.model_dump_json(), ex=self._ttl)
        except RedisError as exc:
            raise StateStoreError(f"redis unavailable: {exc.__class__.__name__}") from exc

    async def delete(self, conversation_id: str) -> None:
        try:
            await self._redis.delete(self._key(conversation_id))
        except RedisError as exc:
            raise StateStoreError(f"redis unavailable: {exc.__class__.__name__}") from exc

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except RedisError as exc:
            raise StateStoreError(f"redis unavailable: {exc.__class__.__name__}") from exc

    async def close(self) -> None:
        return None  # the Redis client is owned and closed by the app
