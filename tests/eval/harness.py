"""The realistic evaluation set, end to end: each first message to a fresh conversation.

Separate from the NLU's training data (nlu/data) and from the blind set. A row says the intent
expected, the facet asked (or "-") and a fact taken from the catalog that must appear in the
bot's FIRST reply text (the answer, not the card below it): an answer that makes the resident
read a whole card to find it does not count.
"""

from __future__ import annotations

import csv
import importlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.engine.testing import Conversation

HERE = Path(__file__).resolve().parent
FIRST_MESSAGES = HERE / "first_messages.tsv"
DIALOGUES = HERE / "dialogues.yml"
NONE = "-"


@dataclass(frozen=True)
class Row:
    text: str
    intent: str
    facet: str
    fact: str


@dataclass
class Figures:
    n: int = 0
    intent_n: int = 0
    intent_ok: int = 0
    facet_n: int = 0
    facet_ok: int = 0
    fact_n: int = 0
    fact_first: int = 0
    fact_anywhere: int = 0
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def share(a: int, b: int) -> float:
            return round(a / b, 3) if b else 0.0

        return {
            "messages": self.n,
            "intent": share(self.intent_ok, self.intent_n),
            "facet": share(self.facet_ok, self.facet_n),
            "fact_in_first_reply": share(self.fact_first, self.fact_n),
            "fact_anywhere": share(self.fact_anywhere, self.fact_n),
        }


def load_rows(path: Path = FIRST_MESSAGES) -> list[Row]:
    with path.open(encoding="utf-8") as fh:
        lines = [line for line in fh if line.strip() and not line.startswith("#")]
    return [Row(*(cell.strip() for cell in rec)) for rec in csv.reader(lines, delimiter="\t")]


def load_dialogues(path: Path = DIALOGUES) -> list[dict[str, Any]]:
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["dialogues"])


def _optional(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):  # before the module existed (the first figure)
        return None


async def routed_intent(services: Any, text: str) -> str:
    parse = await services.interpreter.parse(text)
    intent = str((parse.get("intent") or {}).get("name") or "nlu_fallback")
    safety = _optional("nlu.safety", "safety_intent")
    return (safety(text, intent) if safety else None) or intent


async def run_first_messages(dispatcher: Any, services: Any) -> Figures:
    detect = _optional("nlu.facets", "detect_facet")
    figures = Figures()
    for row in load_rows():
        figures.n += 1
        if row.intent != NONE:  # "-": a question naming no procedure ("Open on Dec 31?"): no intent is right
            figures.intent_n += 1
            figures.intent_ok += await routed_intent(services, row.text) == row.intent
        if row.facet != NONE:
            figures.facet_n += 1
            figures.facet_ok += bool(detect and detect(row.text) == row.facet)
        conv = Conversation(dispatcher, sender_id=f"eval-{uuid.uuid4().hex[:10]}")
        await conv.say(row.text)
        if row.fact != NONE:
            figures.fact_n += 1
            first = conv.last[0].text if conv.last else ""
            figures.fact_first += row.fact in first
            figures.fact_anywhere += row.fact in conv.text
            if row.fact not in first:
                figures.failures.append(f"{row.text} -> {first[:60]!r} (want {row.fact})")
    return figures


async def run_dialogues(dispatcher: Any) -> tuple[int, int, list[str]]:
    """Each dialogue: turns of `say` and what the last reply must contain (`expect`, any of)."""
    passed, failures = 0, []
    dialogues = load_dialogues() if DIALOGUES.exists() else []
    for dialogue in dialogues:
        conv = Conversation(dispatcher, sender_id=f"evald-{uuid.uuid4().hex[:10]}")
        ok = True
        for turn in dialogue["turns"]:
            await conv.say(turn["say"])
            want = turn.get("expect") or []
            if want and not any(w in conv.text for w in want):
                ok = False
                failures.append(f"{dialogue['name']}: {turn['say']} -> {conv.text[:80]!r}")
                break
        passed += ok
    return passed, failures
