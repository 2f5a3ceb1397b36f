"""Greetings, thanks, what the bot can do, and messages outside the municipality's services."""

from __future__ import annotations

from bot.engine.events import Button
from bot.engine.turn import TurnContext, payload
from handlers.dated_hours import say_general_day_hours

MENU = (
    Button("住民票の写し", payload("juminhyo")),
    Button("引っ越しの手続き", payload("moving_in")),
    Button("一時預かり", payload("childcare_temporary")),
    Button("粗大ごみ", payload("bulky_waste")),
    Button("介護の相談", payload("care_consultation")),
    Button("職員と話す", payload("request_human")),
)


def municipality(ctx: TurnContext) -> str:
    return ctx.services.settings.municipality_name


class GreetHandler:
    name = "greet"
    intents = frozenset({"greet", "follow"})

    async def handle(self, ctx: TurnContext) -> None:
        if ctx.event.kind == "follow":  # a new friend on LINE: what we do and how we treat data
            ctx.say(FOLLOW_TEXT.format(name=municipality(ctx)), buttons=MENU)
            return
        ctx.say(
            f"こんにちは。{municipality(ctx)}の窓口案内です。"
            "手続きのご案内や予約・申込みを24時間お手伝いします。ご用件をどうぞ。",
            buttons=MENU,
        )


FOLLOW_TEXT = (
    "友だち追加ありがとうございます。{name}の窓口案内です。\n"
    "証明書の取り方、引っ越しや子育て・介護の手続き、粗大ごみや施設の申込みなどを24時間ご案内します。"
    "文章でそのまま聞くか、下のメニューからお選びください。\n\n"
    "【個人情報について】やり取りの内容は、ご案内と職員への引き継ぎのために{name}で記録します。"
    "お名前などは手続きに必要なときだけお尋ねします。マイナンバーやパスワードは送らないでください。"
)


class CapabilitiesHandler:
    name = "bot_capabilities"
    intents = frozenset({"bot_capabilities"})

    async def handle(self, ctx: TurnContext) -> None:
        ctx.say(
            "次のようなことをお手伝いできます。\n"
            "・証明書（住民票・印鑑証明・税証明）の取り方\n"
            "・引っ越し、出生、おくやみなどの手続き一覧\n"
            "・一時預かり、施設、粗大ごみの予約・申込み\n"
            "・このチャットでした予約の確認・取消し\n"
            "・ごみの分け方、介護や子育ての相談先\n"
            "文章でそのまま聞いてください。職員と話すこともできます。",
            buttons=[*MENU, Button("予約の確認・取消し", payload("reservation_manage", action="check"))],
        )


class ThanksHandler:
    name = "thanks"
    intents = frozenset({"thanks"})

    async def handle(self, ctx: TurnContext) -> None:
        ctx.say("どういたしまして。ほかにもご用件があれば、いつでもどうぞ。")


class GoodbyeHandler:
    name = "goodbye"
    intents = frozenset({"goodbye"})

    async def handle(self, ctx: TurnContext) -> None:
        ctx.say("ご利用ありがとうございました。またいつでもお声がけください。")


class OutOfScopeHandler:
    name = "out_of_scope"
    intents = frozenset({"out_of_scope"})

    async def handle(self, ctx: TurnContext) -> None:
        if say_general_day_hours(ctx):  # 「明日 窓口やってる？」: the hours of that date
            return
        ctx.say(
            f"申し訳ありません。こちらでは{municipality(ctx)}の手続きや暮らしのご案内だけをお手伝いしています。",
            buttons=MENU,
        )


class YesNoHandler:
    """`affirm` / `deny` with no open question: nothing to confirm, say so briefly."""

    name = "yes_no"
    intents = frozenset({"affirm", "deny"})

    async def handle(self, ctx: TurnContext) -> None:
        from handlers.consent import answer_pending  # the open yes/no question (e.g. consent)

        if await answer_pending(ctx):
            return
        ctx.say("承知しました。ほかにご用件があればどうぞ。", buttons=MENU)


class CancelHandler:
    name = "cancel"
    intents = frozenset({"cancel"})

    async def handle(self, ctx: TurnContext) -> None:
        state = ctx.state
        if state.active_form is None and not state.paused_forms:
            ctx.say("承知しました。ほかにご用件があればどうぞ。", buttons=MENU)
            return
        state.active_form = None
        state.paused_forms.clear()
        state.pending_question = None
        ctx.say("手続きを取りやめました。入力いただいた内容は破棄しました。ほかにご用件があればどうぞ。", buttons=MENU)


class UnsupportedEventHandler:
    """Stickers, images, locations and the like: a polite word, never a crash."""

    name = "unsupported"
    intents = frozenset({"event_unsupported"})

    async def handle(self, ctx: TurnContext) -> None:
        ctx.say("ありがとうございます。恐れ入りますが、ご用件は文章で送ってください。", buttons=MENU)
