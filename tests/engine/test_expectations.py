"""The stack of expectations (bot/engine/expectations.py): who owns the next message, newest on
top, asked top first by the router; stale entries dropped; state of the old shape still loads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.engine import requests_queue
from bot.engine.events import InboundEvent
from bot.engine.router import Router
from bot.engine.state import ActiveForm, ConversationState, Expectation, SqlStateStore, state_of
from bot.engine.turn import Parse, TurnContext
from bot.store.db import make_async_engine, make_sessionmaker, migrate
from bot.store.models import Conversation
from handlers.forms import Form, Slot


def new_state() -> ConversationState:
    return ConversationState(conversation_id="web:x", channel="web", sender_id="x")


def stack(state: ConversationState) -> list[tuple[str, str]]:
    return [(e.kind, e.name) for e in state.expectations]


def turn(state: ConversationState, text: str, intent: str, **entities: Any) -> TurnContext:
    parse = Parse(
        text=text,
        intent=intent,
        confidence=0.9,
        entities=[{"entity": k, "value": v} for k, v in entities.items()],
        from_payload=text.startswith("/"),
    )
    return TurnContext(
        event=InboundEvent(channel="web", sender_id="x", text=text),
        state=state,
        parse=parse,
        services=None,  # type: ignore[arg-type]  # routing only
        today=date(2026, 11, 27),
        db=None,  # type: ignore[arg-type]
    )


class Recorder:
    def __init__(self, name: str, intents: set[str]) -> None:
        self.name = name
        self.intents = frozenset(intents)
        self.calls: list[str] = []

    async def handle(self, ctx: TurnContext) -> None:
        self.calls.append(f"handle:{ctx.parse.intent}")


class Asker(Recorder):
    """Owns the question "demo_q" (answered by yes/no) and the followup "demo_area" (answered by
    `inform`); `ask_q` / `ask_area` put them on the stack."""

    expects = frozenset({"demo_q", "demo_area"})

    async def handle(self, ctx: TurnContext) -> None:
        await super().handle(ctx)
        if ctx.parse.intent == "ask_q":
            ctx.state.pending_question = "demo_q"
        elif ctx.parse.intent == "ask_area":
            ctx.state.expect("followup", "demo_area", for_turns=1)

    def claims(self, ctx: TurnContext, expectation: Expectation) -> bool:
        wanted = ("affirm", "deny") if expectation.kind == "question" else ("inform",)
        return ctx.parse.intent in wanted

    async def answer(self, ctx: TurnContext, expectation: Expectation) -> None:
        self.calls.append(f"answer:{expectation.name}:{ctx.parse.intent}")
        ctx.state.drop_expected(expectation.kind, expectation.name)


class CountForm(Form):
    """A real form (handlers/forms.py) with one slot, submitted on "はい"."""

    def __init__(self, name: str, intent: str) -> None:
        self.name, self.title, self.intents = name, name, frozenset({intent})
        self.slots = (Slot(name="count", question=f"{name}は何通ですか。", label="通数", entity="count"),)
        self.submitted: list[dict[str, Any]] = []

    async def submit(self, ctx: TurnContext, values: dict[str, Any]) -> None:
        self.submitted.append(values)
        ctx.say(f"{self.name}を受け付けました。")


@pytest.fixture
def parts() -> dict[str, Any]:
    a, b = CountForm("form_a", "start_a"), CountForm("form_b", "start_b")
    asker, fallback = Asker("asker", {"ask_q", "ask_area"}), Recorder("fallback", set())
    return {"router": Router([a, b, asker], fallback=fallback), "a": a, "b": b, "asker": asker, "fallback": fallback}


def test_the_stack_keeps_its_order_and_the_views_read_it() -> None:
    state = new_state()
    state.expect("requests", "requests", data={"parses": []})
    state.active_form = ActiveForm(name="first")
    state.paused_forms = [state.active_form]  # a second form starts: the first is put aside
    state.active_form = ActiveForm(name="second")
    state.pending_question = "consent"
    assert stack(state) == [
        ("requests", "requests"),
        ("paused_form", "first"),
        ("form", "second"),
        ("question", "consent"),
    ]
    assert state.active_form is not None and state.active_form.name == "second"
    assert [f.name for f in state.paused_forms] == ["first"]
    state.pending_question = None  # answered: popped
    state.active_form = None  # done: popped, the paused one waits for its owner to resume it
    assert stack(state) == [("requests", "requests"), ("paused_form", "first")]
    state.active_form = state.paused_forms.pop()  # the list writes through to the stack
    assert stack(state) == [("requests", "requests"), ("form", "first")]
    state.paused_forms.append(ActiveForm(name="third"))
    assert stack(state) == [("requests", "requests"), ("paused_form", "third"), ("form", "first")]
    state.paused_forms.clear()
    assert stack(state) == [("requests", "requests"), ("form", "first")]


async def test_a_paused_form_resumes_after_the_yes_that_completes_the_other(parts: dict[str, Any]) -> None:
    router, state = parts["router"], new_state()
    await router.route(turn(state, "Aをお願いします", "start_a"))
    await router.route(turn(state, "やっぱりBを先に", "start_b"))  # a sure other form: A is paused
    assert stack(state) == [("paused_form", "form_a"), ("form", "form_b")]
    await router.route(turn(state, "2通", "inform", count=2))
    ctx = turn(state, "/affirm", "affirm")
    await router.route(ctx)  # the yes completes B; A, below it, owns the next message again
    assert parts["b"].submitted == [{"count": 2}]
    assert "先ほどの手続きの続きに戻ります。" in [r.text for r in ctx.replies]
    assert stack(state) == [("form", "form_a")]
    await router.route(turn(state, "1通", "inform", count=1))
    assert state.active_form is not None and state.active_form.slots["count"] == 1


async def test_the_top_question_is_asked_first_then_the_form_below(parts: dict[str, Any]) -> None:
    router, state = parts["router"], new_state()
    await router.route(turn(state, "Aをお願いします", "start_a"))
    state.pending_question = "demo_q"  # e.g. asked by a hook after the form's question
    await router.route(turn(state, "2通", "inform", count=2))  # not a yes/no: down the stack to the form
    assert state.active_form is not None and state.active_form.slots["count"] == 2
    assert state.pending_question == "demo_q"
    await router.route(turn(state, "はい", "affirm"))  # the question on top claims its answer
    assert parts["asker"].calls == ["answer:demo_q:affirm"]
    assert stack(state) == [("form", "form_a")] and state.active_form.awaiting_confirmation


async def test_a_form_asked_again_after_an_interruption_is_back_on_top(parts: dict[str, Any]) -> None:
    router, state = parts["router"], new_state()
    await router.route(turn(state, "Aをお願いします", "start_a"))
    ctx = turn(state, "質問があります", "ask_q")
    ctx.parse.confidence = 0.95
    await router.route(ctx)  # answered (it asks its own question), then the form asks again
    assert stack(state) == [("question", "demo_q"), ("form", "form_a")]
    assert "では、form_aの続きです。" in [r.text for r in ctx.replies]


async def test_a_followup_counts_for_the_next_message_only(parts: dict[str, Any]) -> None:
    router, asker, state = parts["router"], parts["asker"], new_state()
    state.turn = 5
    await router.route(turn(state, "地区を聞いて", "ask_area"))
    state.turn = 6
    await router.route(turn(state, "本町", "inform"))
    assert asker.calls[-1] == "answer:demo_area:inform"
    await router.route(turn(state, "地区を聞いて", "ask_area"))  # asked again at turn 6
    state.turn = 8  # a message in between (e.g. while a person had the chat) has passed
    await router.route(turn(state, "本町", "inform"))
    assert state.expectations == []  # stale: dropped, not answered
    assert parts["fallback"].calls == ["handle:inform"]


def test_queued_requests_wait_below_and_are_taken_in_order() -> None:
    state = new_state()
    ctx = turn(state, "住民票と印鑑証明", "juminhyo")
    requests_queue.keep(ctx, [Parse(text="印鑑証明", intent="inkan", confidence=0.9)])
    state.active_form = ActiveForm(name="juminhyo")
    assert stack(state) == [("requests", "requests"), ("form", "juminhyo")]
    state.active_form = None
    parse = requests_queue.next_pending(ctx)
    assert parse is not None and parse.intent == "inkan"
    assert state.expectations == [] and requests_queue.next_pending(ctx) is None


OLD_SHAPE: dict[str, Any] = {
    "conversation_id": "web:old",
    "channel": "web",
    "sender_id": "old",
    "status": "bot",
    "active_form": {"name": "bulky_waste", "slots": {"items": ["ソファ"]}, "requested_slot": "date"},
    "paused_forms": [{"name": "juminhyo", "slots": {"copies": 2}}],
    "pending_question": "consent",
    "data": {
        "pending_requests": [{"text": "印鑑証明", "intent": "inkan", "confidence": 0.9, "entities": []}],
        "waste_area_question": {"turn": 3, "category": "燃やすごみ"},
        "declined_suggestions": ["care"],
    },
    "turn": 4,
}


def test_state_of_the_old_shape_loads_as_a_stack() -> None:
    state = ConversationState.model_validate(OLD_SHAPE)
    assert stack(state) == [
        ("requests", "requests"),
        ("paused_form", "juminhyo"),
        ("form", "bulky_waste"),
        ("question", "consent"),
        ("followup", "waste_area"),
    ]
    area = state.expected("followup", "waste_area")
    assert area is not None and area.data == {"category": "燃やすごみ"} and area.until_turn == 4
    assert state.data == {"declined_suggestions": ["care"]}  # only the expectations moved
    assert state.active_form is not None and state.active_form.slots == {"items": ["ソファ"]}
    saved = state.model_dump(mode="json")  # the new shape, with the views for readers of the old
    assert saved["active_form"]["name"] == "bulky_waste" and saved["pending_question"] == "consent"
    assert stack(ConversationState.model_validate(saved)) == stack(state)  # the stack wins over the views


@pytest.fixture(params=["sqlite", "postgres"])
async def sessionmaker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
        migrate(url)
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM conversations WHERE id = 'web:old'"))
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_a_row_saved_before_the_stack_still_loads(sessionmaker: Any) -> None:
    now = datetime.now(UTC)
    async with sessionmaker() as db, db.begin():
        db.add(
            Conversation(
                id="web:old", channel="web", sender_id="old", status="bot", created_at=now, updated_at=now,
                state=OLD_SHAPE, state_saved_at=now,
            )
        )  # fmt: skip
    store = SqlStateStore(sessionmaker, ttl_seconds=3600)
    loaded = await store.get("web:old")
    assert loaded is not None and loaded.pending_question == "consent"
    assert [f.name for f in loaded.paused_forms] == ["juminhyo"]
    await store.save(loaded)  # written back in the new shape
    async with sessionmaker() as db:
        row = await db.get(Conversation, "web:old")
        assert row is not None and [e["kind"] for e in row.state["expectations"]][:3] == [
            "requests",
            "paused_form",
            "form",
        ]
        assert stack(state_of(row, ttl_seconds=3600)) == stack(loaded)
