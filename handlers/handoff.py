"""Asking for a person, and sensitive matters (DV, abuse) that always go to staff."""

from __future__ import annotations

from bot.turn import TurnContext


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
        ctx.say(
            "配偶者などからの暴力や虐待の相談は、秘密を守ってお受けします。\n"
            "・DV相談ナビ #8008（はれれば）\n"
            "・児童相談所虐待対応ダイヤル 189（いちはやく）"
        )
