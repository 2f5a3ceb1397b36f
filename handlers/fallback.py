"""What no handler owns: the municipality's FAQ if it knows, otherwise say so and offer a person."""

from __future__ import annotations

from bot.events import Button, Card
from bot.turn import TurnContext, payload
from handlers.conversation import MENU

STUCK_AFTER = 3  # misunderstood messages in a row before the bot offers staff on its own


class FallbackHandler:
    name = "fallback"
    intents = frozenset({"nlu_fallback"})

    async def handle(self, ctx: TurnContext) -> None:
        if self._answer_from_faq(ctx):
            ctx.state.fallback_streak = 0
            return
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
        ctx.say(
            "申し訳ありません。ご質問の内容がわかりませんでした。別の言葉で言い換えるか、メニューからお選びください。",
            buttons=MENU,
        )

    def _answer_from_faq(self, ctx: TurnContext) -> bool:
        faq = ctx.services.knowledge.get("faq")
        text = ctx.parse.text or ctx.event.text
        if faq is None or not text.strip():
            return False
        hits = faq.search(text, top_k=3)
        if not hits or not faq.is_confident(hits):
            return False
        best = hits[0]
        ctx.say(
            best.answer,
            card=Card(title=best.question, lines=(), kind="faq"),
            buttons=(Button("職員と話す", payload("request_human")),),
            custom={"faq_id": best.id},
        )
        return True
