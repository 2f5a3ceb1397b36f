"""What no handler owns: say so and offer a person; and how an FAQ answer is shown.

Whether the municipality's FAQ answers a message is decided before any handler runs, in one
place (`handlers.faq_first.faq_answer`); by the time a message reaches `FallbackHandler`, the FAQ had
nothing confident for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.engine.events import Button, Card
from bot.engine.turn import TurnContext, payload
from handlers.conversation import MENU
from handlers.dated_hours import say_general_day_hours
from handlers.variants import say_did_you_mean

if TYPE_CHECKING:
    from knowledge.faq import FaqHit

STUCK_AFTER = 3  # misunderstood messages in a row before the bot offers staff on its own


def say_faq_answer(ctx: TurnContext, hit: FaqHit) -> None:
    """Answer with the FAQ entry word for word (its question as the card title), and offer staff."""
    ctx.state.fallback_streak = 0
    ctx.say(
        hit.answer,
        card=Card(title=hit.question, lines=(), kind="faq"),
        buttons=(Button("職員と話す", payload("request_human")),),
        custom={"faq_id": hit.id},
    )


class FallbackHandler:
    name = "fallback"
    intents = frozenset({"nlu_fallback"})

    async def handle(self, ctx: TurnContext) -> None:
        ctx.state.fallback_streak += 1
        if ctx.state.fallback_streak >= STUCK_AFTER:
            ctx.state.fallback_streak = 0
            ctx.say(
                "うまくお答えできず申し訳ありません。職員におつなぎしましょうか。",
                buttons=(
                    Button("職員と話す", payload("request_human")),
                    Button("メニューを見る", payload("bot_capabilities")),
                ),
            )
            return
        if say_general_day_hours(ctx):  # 「12月29日は開いていますか」: the hours of that date
            return
        if say_did_you_mean(ctx):  # -- writing variants (handlers/variants.py): a choice, not "unknown"
            return
        ctx.say(
            "申し訳ありません。ご質問の内容がわかりませんでした。別の言葉で言い換えるか、メニューからお選びください。",
            buttons=MENU,
        )
