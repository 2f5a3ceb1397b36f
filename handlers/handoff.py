"""Asking for a person, and sensitive matters (DV, abuse) that always go to staff."""

from __future__ import annotations

from bot.engine.turn import TurnContext

# Safety first: the 110番 line leads, before the counselling lines.
DV_TEXT = (
    "いま危険がある場合は、すぐに110番（警察）へお電話ください。\n"
    "配偶者などからの暴力や虐待の相談は、秘密を守ってお受けします。\n"
    "・DV相談ナビ #8008（はれれば）\n"
    "・児童相談所虐待対応ダイヤル 189（いちはやく）"
)


class RequestHumanHandler:
    name = "request_human"
    intents = frozenset({"request_human"})

    async def handle(self, ctx: TurnContext) -> None:
        ctx.request_handoff("requested")


class SensitiveHandler:
    name = "dv_abuse"
    intents = frozenset({"dv_abuse"})

    async def handle(self, ctx: TurnContext) -> None:
        ctx.request_handoff("sensitive")
        ctx.say(dv_text(ctx))


def dv_text(ctx: TurnContext) -> str:
    """The hotlines of the office-hours data (110番 first), at once, whatever the hour."""
    hours = ctx.services.knowledge.office_hours
    hotlines = getattr(hours, "hotlines", ())
    if not hotlines:
        return DV_TEXT
    lines = [f"・{h.label}：{h.number}" for h in hotlines]
    return "いますぐ危険がある場合は、ためらわずにお電話ください。\n" + "\n".join(lines) + "\n" + SECRET_KEPT


SECRET_KEPT = "配偶者などからの暴力や虐待のご相談は、秘密を守ってお受けします。"
