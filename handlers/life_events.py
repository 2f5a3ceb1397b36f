"""Life-event checklists: 転入・転出・転居・出生・死亡 → the resident's own list of procedures.

A few yes/no questions (children? a dog? a マイナンバーカード? 国民健康保険?) decide which steps
of the catalog's `life_events` apply; the list ends as a checklist card with each procedure's
deadline, window and what to bring, all from the catalog. A plain question about the procedure
("転入届の期限は？") gets the information card, with a button to build the list. What a message
answers to the questions is read by `handlers.life_event_answers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.engine.events import Button, Card
from bot.engine.turn import TurnContext, payload
from handlers.forms import Form, Slot
from handlers.life_event_answers import extract_origin, message_text, read_answers
from handlers.procedures import catalog_of, say_procedure
from knowledge.catalog import Catalog, LifeEvent, LifeEventStep

LIFE_EVENT_CUES = (
    "引っ越し",
    "引越",
    "引っ越",
    "越してき",
    "転勤",
    "生まれ",
    "産まれ",
    "出産",
    "亡くな",
    "他界",
    "一覧",
    "チェック",
    "何をすれば",
    "何をしたら",
    "必要な手続き",
    "手続きを教え",
    "まとめて",
)
MAX_STEP_BUTTONS = 4


@dataclass(frozen=True)
class Question:
    text: str
    label: str
    yes: str = "はい"
    no: str = "いいえ"

    def render(self, value: Any) -> str:
        return self.yes if value else self.no


QUESTIONS: dict[str, Question] = {
    "from_abroad": Question("どちらから引っ越してきましたか。", "引っ越し前", "海外から", "ほかの市区町村から"),
    "children": Question("18歳までのお子さん（高校生年代まで）はいますか。", "18歳までのお子さん"),
    "school_children": Question("その中に、小学生・中学生はいますか。", "小・中学生"),
    "dog": Question("犬を飼っていますか。", "犬"),
    "has_mynumber_card": Question("マイナンバーカードをお持ちですか。", "マイナンバーカード"),
    "national_health_insurance": Question(
        "国民健康保険に入っていますか（会社などの健康保険に入っていない方）。", "国民健康保険"
    ),
    "care_certified": Question("要介護・要支援の認定を受けている方はいますか。", "要介護・要支援の認定"),
    "pension_recipient": Question("亡くなった方は、年金を受け取っていましたか。", "年金の受給"),
    "household_head": Question("亡くなった方は、世帯主でしたか。", "世帯主"),
}
QUESTION_OVERRIDES: dict[str, dict[str, str]] = {
    "birth": {"national_health_insurance": "お子さんは国民健康保険に入りますか（保護者が国民健康保険の場合）。"},
    "death": {
        "national_health_insurance": "亡くなった方は、国民健康保険に入っていましたか。",
        "care_certified": "亡くなった方は、要介護・要支援の認定を受けていましたか。",
    },
}
EVENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "moving_in": (
        "転入の手続き一覧",
        ("from_abroad", "children", "school_children", "dog", "has_mynumber_card", "national_health_insurance"),
    ),
    "moving_out": (
        "転出の手続き一覧",
        ("children", "school_children", "dog", "has_mynumber_card", "national_health_insurance", "care_certified"),
    ),
    "moving_within": (
        "転居の手続き一覧",
        ("children", "school_children", "dog", "has_mynumber_card", "national_health_insurance"),
    ),
    "birth": ("出生の手続き一覧", ("national_health_insurance",)),
    "death": (
        "おくやみの手続き一覧",
        ("national_health_insurance", "care_certified", "pension_recipient", "household_head"),
    ),
}


def _asked(ctx: TurnContext) -> str | None:
    form = ctx.state.active_form
    return form.requested_slot if form is not None else None


def _answer_extractor(key: str, keys: tuple[str, ...]):  # type: ignore[no-untyped-def]
    def extract(ctx: TurnContext, _values: dict[str, Any]) -> bool | None:
        given = ctx.parse.entity(key)
        if isinstance(given, bool):
            return given
        return read_answers(ctx, keys, _asked(ctx)).get(key)

    return extract


def _choices(key: str, question: Question):  # type: ignore[no-untyped-def]
    def choices(_ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
        return [
            Button(question.yes, payload("inform", **{key: True})),
            Button(question.no, payload("inform", **{key: False})),
        ]

    return choices


def _always(_values: dict[str, Any]) -> bool:
    return True


def _only_with_children(values: dict[str, Any]) -> bool:
    return bool(values.get("children"))


def _slot(event: str, key: str) -> Slot:
    question = QUESTIONS[key]
    text = QUESTION_OVERRIDES.get(event, {}).get(key, question.text)
    return Slot(
        key,
        text,
        question.label,
        # a bare はい/いいえ answers only the question asked; "犬はいません" answers the dog question
        extract=extract_origin if key == "from_abroad" else _answer_extractor(key, EVENTS[event][1]),
        choices=_choices(key, question),
        render=question.render,
        required=_only_with_children if key == "school_children" else _always,
        aliases=(question.label,),
    )


class LifeEventForm(Form):
    def __init__(self, event: str) -> None:
        title, keys = EVENTS[event]
        self.event = event
        self.name = f"life_event_{event}"
        self.intents = frozenset({event})
        self.title = title
        self.slots = tuple(_slot(event, key) for key in keys)

    async def start(self, ctx: TurnContext) -> bool:
        catalog = catalog_of(ctx)
        proc = catalog.procedure(self.event)
        if not self._wants_checklist(ctx):
            build = Button("必要な手続きの一覧をつくる", payload(self.event, start="yes"))
            say_procedure(ctx, proc, extra_buttons=[build])
            return False
        office = catalog.office_of(proc)
        condolence = "心よりお悔やみ申し上げます。" if self.event == "death" else ""
        deadline = f"{proc.deadline}に、" if proc.deadline else ""
        ctx.say(
            f"{condolence}{proc.title}は、{deadline}{office.name}（{office.where}）へ届け出てください。"
            f"ほかに必要な手続きを一覧にしますので、{len(self.slots)}つほど教えてください。"
        )
        return True

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(slot.name for slot in self.slots)

    def takes_over(self, ctx: TurnContext) -> bool:
        # "会社の保険です" or "犬はいません" looks like a question about that topic to the
        # classifier; it is an answer to this list.
        if ctx.state.active_form is not None and read_answers(ctx, self.keys, _asked(ctx)):
            return True
        return super().takes_over(ctx)

    async def resume(self, ctx: TurnContext) -> None:
        form = self._form(ctx)
        asked = form.requested_slot
        unanswered = (
            asked is not None
            and not form.awaiting_confirmation
            and ctx.parse.intent != "form_change"
            and not ctx.parse.from_payload
            and not self._would_fill(ctx)
        )
        if unanswered:
            self._say_not_an_answer(ctx, read_answers(ctx, self.keys, asked))
        await super().resume(ctx)

    def _say_not_an_answer(self, ctx: TurnContext, answers: dict[str, bool]) -> None:
        """The message does not answer the question asked: say so before it is asked again."""
        kept = [f"{QUESTIONS[k].label}：{QUESTIONS[k].render(v)}" for k, v in answers.items()]
        if kept:
            ctx.say(f"「{'、'.join(kept)}」と承りました。先にこちらを教えてください。")
        else:
            ctx.say("すみません、いまの質問へのお答えとして読み取れませんでした。下のボタンからもお選びいただけます。")

    def _wants_checklist(self, ctx: TurnContext) -> bool:
        if ctx.parse.from_payload:  # "必要な手続きの一覧をつくる" carries start; a related button does not
            return ctx.parse.entity("start") is not None
        text = message_text(ctx)
        return any(cue in text for cue in LIFE_EVENT_CUES)

    async def submit(self, ctx: TurnContext, values: dict[str, Any]) -> None:
        catalog = catalog_of(ctx)
        event = catalog.life_event(self.event)
        steps = applicable_steps(event, values)
        ctx.say(
            f"必要な手続きは{len(steps)}件です。期限の近いものからお済ませください。",
            card=Card(title=event.title, lines=tuple(checklist_lines(catalog, steps)), kind="checklist"),
            buttons=step_buttons(catalog, steps, exclude=self.event),
        )


def applicable_steps(event: LifeEvent, answers: dict[str, Any]) -> list[LifeEventStep]:
    return [step for step in event.steps if step.applies(answers)]


def checklist_lines(catalog: Catalog, steps: list[LifeEventStep]) -> list[str]:
    lines: list[str] = []
    hours: dict[str, list[str]] = {}
    for step in steps:
        proc = catalog.procedure(step.procedure)
        office = catalog.office_of(proc)
        deadline = step.deadline if step.deadline is not None else proc.deadline
        lines.append(f"□ {proc.title}" + (f"｜{deadline}" if deadline else ""))
        if step.note:
            lines.append(f"　{step.note}")
        lines.append(f"　窓口：{office.name}（{office.where}）")
        documents = step.documents if step.documents is not None else proc.documents
        lines.append("　持ち物：" + "／".join(documents))
        hours.setdefault(catalog.hours_label(office.hours), [])
        if office.name not in hours[catalog.hours_label(office.hours)]:
            hours[catalog.hours_label(office.hours)].append(office.name)
    for label, offices in hours.items():
        lines.append(f"受付時間（{'・'.join(offices)}）：{label}")
    return lines


def step_buttons(catalog: Catalog, steps: list[LifeEventStep], *, exclude: str) -> list[Button]:
    seen: list[str] = []
    for step in steps:
        proc = catalog.procedure(step.procedure)
        if proc.intent and proc.id != exclude and proc.id not in seen:
            seen.append(proc.id)
    return [Button(catalog.procedure(i).name, payload(i)) for i in seen[:MAX_STEP_BUTTONS]]


def life_event_forms() -> list[LifeEventForm]:
    return [LifeEventForm(event) for event in EVENTS]
