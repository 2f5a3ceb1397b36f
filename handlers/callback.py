"""「折り返し電話してほしい」: a callback ticket (name, phone, a time window, a short topic) for the
department of the matter, stored for its staff (knowledge/callbacks.py) and closed by them with an
outcome. Offered when staff are off duty or the queue is long; DV is never offered a call (a call
to the resident's phone may reach the abuser): the hotlines instead."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.engine.events import Button
from bot.engine.turn import TurnContext, payload
from handlers.contact import CONTACT_SLOTS, mask_phone
from handlers.forms import Form, Slot
from knowledge.callbacks import CallbackTicket
from knowledge.office_hours import OfficeHours, department_for, describe

WINDOWS = ("平日 午前（9時〜12時）", "平日 午後（13時〜17時）", "いつでもよい")
MAX_TOPIC = 200
FREE_SLOTS = frozenset({"window", "topic"})


def _free(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    if ctx.parse.from_payload:
        given = ctx.parse.entity("value")
        return given.strip() or None if isinstance(given, str) else None
    text = unicodedata.normalize("NFKC", ctx.parse.text).strip()
    return text or None


def _window_choices(_ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    return [Button(w, payload("inform", value=w)) for w in WINDOWS]


def _check_window(_ctx: TurnContext, value: Any, _values: dict[str, Any]) -> str | None:
    return None if isinstance(value, str) and 0 < len(value) <= 60 else "ご希望の時間帯を60字以内で教えてください。"


def _check_topic(_ctx: TurnContext, value: Any, _values: dict[str, Any]) -> str | None:
    ok = isinstance(value, str) and 0 < len(value) <= MAX_TOPIC
    return None if ok else f"ご用件を{MAX_TOPIC}字以内で短く教えてください。"


class CallbackForm(Form):
    name = "callback_request"
    intents = frozenset({"callback_request"})
    title = "折り返し電話のご依頼"
    slots = (
        replace(CONTACT_SLOTS[0], question="お電話する際のお名前を教えてください。（例：山田花子）", when=None),
        replace(CONTACT_SLOTS[1], question="お電話番号を教えてください。（例：090-1234-5678）", when=None),
        Slot(
            "window",
            "お電話してよい時間帯を選ぶか、入力してください。",
            "希望の時間帯",
            extract=_free,
            validate=_check_window,
            choices=_window_choices,
            free_text=True,
            aliases=("時間帯",),
        ),
        Slot(
            "topic",
            "ご用件を短く教えてください。（例：国民健康保険の手続きについて）",
            "ご用件",
            extract=_free,
            validate=_check_topic,
            free_text=True,
            aliases=("用件",),
        ),
    )

    def takes_over(self, ctx: TurnContext) -> bool:
        """The topic and the time window are free answers: 「粗大ごみの申込みについて」 is the topic
        asked for, not a new 粗大ごみ request (cancel and asking for a person still win)."""
        active = ctx.state.active_form
        asked = active.requested_slot if active is not None else None
        if asked in FREE_SLOTS and not ctx.parse.from_payload and ctx.parse.intent not in ("cancel", "request_human"):
            return True
        return super().takes_over(ctx)

    async def start(self, ctx: TurnContext) -> bool:
        ctx.say("職員からお電話で折り返しご連絡します。いくつか教えてください。")
        return True

    def summary_lines(self, ctx: TurnContext, values: dict[str, Any]) -> list[str]:
        lines = super().summary_lines(ctx, values)
        return [
            line if not line.startswith("電話番号") else f"電話番号：{mask_phone(values['contact_phone'])}"
            for line in lines
        ]

    async def submit(self, ctx: TurnContext, values: dict[str, Any]) -> None:
        department = self._department(ctx)
        ticket = CallbackTicket(
            conversation_id=ctx.event.conversation_id,
            department=department,
            name=str(values["contact_name"]),
            phone=str(values["contact_phone"]),
            window=str(values["window"]),
            topic=str(values["topic"]),
            status="open",
            created_at=datetime.now(UTC),
        )
        ctx.db.add(ticket)
        await ctx.db.flush()
        hours = ctx.services.knowledge.office_hours
        now = ctx.services.now()
        when = "担当の職員から順番にお電話します。"
        if isinstance(hours, OfficeHours) and not hours.is_open(department, now):
            back = hours.next_opening(department, now)
            when = f"{describe(back)}以降に、担当の職員からお電話します。" if back else when
        ctx.say(f"折り返しのご依頼を受け付けました（受付番号 C-{ticket.id}）。{when}")

    @staticmethod
    def _department(ctx: TurnContext) -> str:
        known = ctx.state.data.get("handoff_department")
        if isinstance(known, str) and known:
            return known
        names = [f.name for f in ctx.state.paused_forms] + [ctx.state.last_intent]
        hours = ctx.services.knowledge.office_hours
        return department_for(ctx.services.knowledge.catalog, hours if isinstance(hours, OfficeHours) else None, *names)
