"""Interpreter protocol used by the dispatcher, and the embedded implementation."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol, runtime_checkable

from nlu.engine import NLUEngine


@runtime_checkable
class Interpreter(Protocol):
    async def parse(self, text: str, *, today: dt.date | None = None) -> dict[str, Any]:
        """Rasa `/model/parse` dict for `text` (see CONTRACTS §2)."""
        ...


class EmbeddedInterpreter:
    """Runs the in-process NLUEngine; parse is CPU-fast (well under a millisecond), no thread pool."""

    def __init__(self, engine: NLUEngine) -> None:
        self.engine = engine

    async def parse(self, text: str, *, today: dt.date | None = None) -> dict[str, Any]:
        return self.engine.parse(text, today=today)
