"""Who owns the next message: one ordered stack of expectations in the conversation's state.

Each entry says what the bot is waiting for and which handler owns the answer; the newest is on
top and the router asks the top first (`bot/engine/router.py`):

- `form`: the active form (at most one), filled in over several turns (`handlers/forms.py`);
- `paused_form`: a form put aside when another one started, resumed when that one is done;
- `question`: an open yes/no or code question of the bot ("consent", "link_code"): its answer
  has an owner, so the FAQ does not take it (`ConversationState.pending_question` is its name);
- `followup`: a question whose answer counts for the next message only (ごみ's "which area?");
- `requests`: further requests of one message, taken one after the other when no form waits
  (`bot/engine/requests_queue.py`).

An entry with `until_turn` is stale after that turn and dropped (`prune`), like one whose owner
the router does not know. State saved before the stack existed (separate `active_form`,
`paused_forms`, `pending_question` fields and `data` keys) loads through `from_legacy`: no
migration, the next save writes the stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

ExpectationKind = Literal["form", "paused_form", "question", "followup", "requests"]

# `data` keys of the old state shape that were expectations, and their stack names
LEGACY_AREA_KEY = "waste_area_question"  # {"turn": …, "category": …}: good for the next message
LEGACY_REQUESTS_KEY = "pending_requests"  # [{"text", "intent", "confidence", "entities"}, …]
AREA = "waste_area"  # the followup of handlers/waste.py
REQUESTS = "requests"


class ActiveForm(BaseModel):
    """A procedure being filled in over several turns."""

    name: str
    slots: dict[str, Any] = Field(default_factory=dict)
    requested_slot: str | None = None
    awaiting_confirmation: bool = False
    started_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class Expectation(BaseModel):
    kind: ExpectationKind
    name: str  # what is expected: a form's name, "consent", "link_code", "waste_area", "requests"
    form: ActiveForm | None = None  # kinds form and paused_form
    data: dict[str, Any] = Field(default_factory=dict)  # e.g. the area question's category, the queued requests
    pushed_turn: int = 0
    until_turn: int | None = None  # counts up to and including this turn; None: until answered or dropped

    def stale(self, turn: int) -> bool:
        return self.until_turn is not None and turn > self.until_turn


def top_first(stack: list[Expectation]) -> Iterator[Expectation]:
    return reversed(list(stack))


def find(stack: list[Expectation], kind: ExpectationKind, name: str | None = None) -> Expectation | None:
    """The top-most entry of `kind` (named `name`, when given)."""
    for entry in top_first(stack):
        if entry.kind == kind and (name is None or entry.name == name):
            return entry
    return None


def remove(stack: list[Expectation], kind: ExpectationKind, name: str | None = None) -> list[Expectation]:
    """Take every entry of `kind` (named `name`) off the stack; the removed ones, bottom first."""
    gone = [e for e in stack if e.kind == kind and (name is None or e.name == name)]
    stack[:] = [e for e in stack if e not in gone]
    return gone


def raise_to_top(stack: list[Expectation], entry: Expectation) -> None:
    """`entry` asked again (a form after an interruption): its answer is the next one expected."""
    if entry in stack:
        stack.remove(entry)
        stack.append(entry)


def prune(stack: list[Expectation], turn: int) -> list[Expectation]:
    """Drop the stale entries (their one message has passed); the dropped ones."""
    gone = [e for e in stack if e.stale(turn)]
    stack[:] = [e for e in stack if not e.stale(turn)]
    return gone


def set_paused(stack: list[Expectation], forms: list[ActiveForm], turn: int) -> None:
    """The paused forms become `forms` (oldest first), right below the active form."""
    remove(stack, "paused_form")
    active = find(stack, "form")
    at = stack.index(active) if active is not None else len(stack)
    stack[at:at] = [Expectation(kind="paused_form", name=f.name, form=f, pushed_turn=turn) for f in forms]


def set_active(stack: list[Expectation], form: ActiveForm | None, turn: int) -> None:
    """The active form becomes `form` (on top), or none."""
    remove(stack, "form")
    if form is not None:
        stack.append(Expectation(kind="form", name=form.name, form=form, pushed_turn=turn))


def from_legacy(data: dict[str, Any]) -> dict[str, Any]:
    """The stored state of a conversation saved before the stack: its separate fields become the
    stack (oldest first: queued requests, paused forms, the active form, the open question, the
    area followup). The views (`active_form`, …) written next to a stack are ignored."""
    data = dict(data)
    active = data.pop("active_form", None)
    paused = data.pop("paused_forms", None) or []
    question = data.pop("pending_question", None)
    if "expectations" in data:
        return data
    extra = dict(data.get("data") or {})
    requests = extra.pop(LEGACY_REQUESTS_KEY, None)
    area = extra.pop(LEGACY_AREA_KEY, None)
    stack: list[dict[str, Any]] = []
    if requests:
        stack.append({"kind": "requests", "name": REQUESTS, "data": {"parses": list(requests)}})
    stack += [{"kind": "paused_form", "name": _form_name(f), "form": f} for f in paused]
    if active is not None:
        stack.append({"kind": "form", "name": _form_name(active), "form": active})
    if question:
        stack.append({"kind": "question", "name": question})
    if isinstance(area, dict) and isinstance(area.get("turn"), int):
        asked = area["turn"]
        stack.append(
            {
                "kind": "followup",
                "name": AREA,
                "data": {"category": area.get("category")},
                "pushed_turn": asked,
                "until_turn": asked + 1,
            }
        )
    data["expectations"] = stack
    if "data" in data:
        data["data"] = extra
    return data


def _form_name(form: Any) -> str:
    return form.name if isinstance(form, ActiveForm) else str(dict(form).get("name", ""))
