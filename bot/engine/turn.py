"""What a handler sees and produces in one turn.

`Parse` wraps the NLU's Rasa-format dict; `TurnContext` carries the event, the conversation
state (mutable: handlers change it and the dispatcher saves it), the shared services, the turn's
database session (`db`: one transaction that the dispatcher commits once, at the end) and the
replies collected so far. Button payloads in Rasa's form (`/intent` or `/intent{"slot": value}`)
become a parse with confidence 1.0, so pressing a button is the same as typing its meaning.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.events import Button, Card, InboundEvent, Reply
from bot.engine.jsonbody import loads_strict
from bot.engine.state import ConversationState

if TYPE_CHECKING:
    from bot.engine.services import Services

_PAYLOAD = re.compile(r"^/([A-Za-z_][A-Za-z0-9_.-]{0,80})(\{.*\})?$", re.S)

HandoffReason = Literal["requested", "stuck", "sensitive"]


@dataclass(slots=True)
class Parse:
    text: str
    intent: str
    confidence: float
    entities: list[dict[str, Any]] = field(default_factory=list)
    ranking: list[dict[str, Any]] = field(default_factory=list)
    from_payload: bool = False
    language: str | None = None  # the NLU's reading of the text (nlu/language.py); None: not told

    @classmethod
    def from_nlu(cls, data: dict[str, Any]) -> Parse:
        intent = data.get("intent") or {}
        return cls(
            text=data.get("text", ""),
            intent=intent.get("name") or "nlu_fallback",
            confidence=float(intent.get("confidence") or 0.0),
            entities=list(data.get("entities") or []),
            ranking=list(data.get("intent_ranking") or []),
            language=data.get("language"),
        )

    @classmethod
    def from_button(cls, text: str) -> Parse | None:
        match = _PAYLOAD.match(text.strip())
        if not match:
            return None
        entities: list[dict[str, Any]] = []
        if match.group(2):
            try:
                values = loads_strict(match.group(2))
            except ValueError:  # not JSON, or too deep / too long a number to carry
                return None
            if not isinstance(values, dict):
                return None
            entities = [{"entity": k, "value": v, "extractor": "payload"} for k, v in values.items()]
        return cls(text=text, intent=match.group(1), confidence=1.0, entities=entities, from_payload=True)

    def entity(self, name: str) -> Any | None:
        for ent in self.entities:
            if ent.get("entity") == name:
                return ent.get("value")
        return None

    def entity_values(self, name: str) -> list[Any]:
        return [e.get("value") for e in self.entities if e.get("entity") == name]


def payload(intent: str, **values: Any) -> str:
    """Build a button payload that parses back into `intent` with `values` as entities."""
    if not values:
        return f"/{intent}"
    return f"/{intent}{json.dumps(values, ensure_ascii=False, separators=(',', ':'))}"


@dataclass(slots=True)
class TurnContext:
    event: InboundEvent
    state: ConversationState
    parse: Parse
    services: Services
    today: date
    db: AsyncSession  # the turn's one transaction: handlers read and write here, never commit
    replies: list[Reply] = field(default_factory=list)
    handoff_request: HandoffReason | None = None
    handled_by: str | None = None
    # one-turn flags ("the photo of this turn was taken"): they live on the turn, never in the
    # stored state; what must outlast the turn is an expectation on the state's stack
    flags: set[str] = field(default_factory=set)

    def say(
        self,
        text: str,
        *,
        buttons: tuple[Button, ...] | list[Button] = (),
        card: Card | None = None,
        custom: dict[str, Any] | None = None,
    ) -> None:
        self.replies.append(Reply(text=text, buttons=tuple(buttons), card=card, custom=custom))

    def once(self, flag: str) -> bool:
        """True the first time `flag` is raised in this turn, False after."""
        if flag in self.flags:
            return False
        self.flags.add(flag)
        return True

    def request_handoff(self, reason: HandoffReason) -> None:
        self.handoff_request = reason
