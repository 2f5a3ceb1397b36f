"""Router decisions: active form first, commands that always win, interruptions and resume."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.engine.events import InboundEvent
from bot.engine.router import Router
from bot.engine.state import ActiveForm, ConversationState
from bot.engine.turn import Parse, TurnContext


class Recorder:
    def __init__(self, name: str, intents: set[str]) -> None:
        self.name = name
        self.intents = frozenset(intents)
        self.calls: list[str] = []

    async def handle(self, ctx: TurnContext) -> None:
        self.calls.append(f"handle:{ctx.parse.intent}")


class FakeForm(Recorder):
    def takes_over(self, ctx: TurnContext) -> bool:
        return ctx.parse.intent in ("affirm", "inform")

    async def resume(self, ctx: TurnContext) -> None:
        self.calls.append(f"resume:{ctx.parse.intent}")

    async def prompt(self, ctx: TurnContext) -> None:
        self.calls.append("prompt")


def ctx_for(text: str, intent: str, *, form: str | None = "demo_form", payload: bool = False) -> TurnContext:
    state = ConversationState(conversation_id="web:x", channel="web", sender_id="x")
    if form:
        state.active_form = ActiveForm(name=form)
    parse = Parse(text=text, intent=intent, confidence=0.9, from_payload=payload)
    return TurnContext(
        event=InboundEvent(channel="web", sender_id="x", text=text),
        state=state,
        parse=parse,
        services=None,
        today=date(2026, 11, 27),  # type: ignore[arg-type]
        db=None,  # type: ignore[arg-type]  # routing only: no database
    )


@pytest.fixture
def parts() -> dict[str, Any]:
    form = FakeForm("demo_form", {"demo"})
    cancel = Recorder("cancel", {"cancel"})
    human = Recorder("request_human", {"request_human"})
    other = Recorder("juminhyo", {"juminhyo"})
    fallback = Recorder("fallback", {"nlu_fallback"})
    return {
        "router": Router([form, cancel, human, other], fallback=fallback),
        "form": form,
        "cancel": cancel,
        "human": human,
        "other": other,
        "fallback": fallback,
    }


async def test_form_takes_its_answers(parts: dict[str, Any]) -> None:
    await parts["router"].route(ctx_for("はい", "affirm"))
    assert parts["form"].calls == ["resume:affirm"]


async def test_unrelated_question_is_answered_then_the_form_asks_again(parts: dict[str, Any]) -> None:
    await parts["router"].route(ctx_for("住民票は？", "juminhyo"))
    assert parts["other"].calls == ["handle:juminhyo"]
    assert parts["form"].calls == ["prompt"]


@pytest.mark.parametrize(
    ("text", "intent"), [("やめます", "cancel"), ("キャンセルで", "cancel"), ("職員と話したい", "request_human")]
)
async def test_real_commands_win_over_the_form(parts: dict[str, Any], text: str, intent: str) -> None:
    await parts["router"].route(ctx_for(text, intent))
    target = parts["cancel"] if intent == "cancel" else parts["human"]
    assert target.calls == [f"handle:{intent}"]
    assert parts["form"].calls == []


@pytest.mark.parametrize(
    ("text", "intent"), [("中央2-5です", "cancel"), ("3人", "request_human"), ("やっぱり12月15日で", "cancel")]
)
async def test_bare_answers_misread_as_commands_go_to_the_form(parts: dict[str, Any], text: str, intent: str) -> None:
    await parts["router"].route(ctx_for(text, intent))
    assert parts["form"].calls == [f"resume:{intent}"]
    assert parts["cancel"].calls == [] and parts["human"].calls == []


async def test_buttons_are_always_commands(parts: dict[str, Any]) -> None:
    await parts["router"].route(ctx_for("/cancel", "cancel", payload=True))
    assert parts["cancel"].calls == ["handle:cancel"]


async def test_without_a_form_intent_decides_and_unknown_goes_to_fallback(parts: dict[str, Any]) -> None:
    await parts["router"].route(ctx_for("3人", "request_human", form=None))
    assert parts["human"].calls == ["handle:request_human"]
    await parts["router"].route(ctx_for("？", "something_unknown", form=None))
    assert parts["fallback"].calls == ["handle:something_unknown"]


def test_two_handlers_for_one_intent_is_refused() -> None:
    with pytest.raises(ValueError, match="two handlers"):
        Router([Recorder("a", {"x"}), Recorder("b", {"x"})], fallback=Recorder("f", set()))
