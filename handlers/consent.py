"""Consent, privacy and account linking in chat.

- `privacy_info`: what the municipality uses for suggestions, and the resident's current choice.
- `consent_give` / `consent_withdraw`: change the `suggestions` consent (recorded and audited).
- the consent question (asked once by the suggestions hook): its yes/no arrives as `affirm` /
  `deny` and is answered by `answer_pending` (called from the yes/no handler).
- `link_account`: link this chat to a resident with the one-time code staff issue at the counter.
"""

from __future__ import annotations

import re
import unicodedata

from bot.engine.events import Button
from bot.engine.identity import redeem_link_code
from bot.engine.state import Expectation
from bot.engine.turn import TurnContext, payload
from handlers.base import Handler
from knowledge.profile import load_turn_profile, set_consent

CODE_IN_TEXT = re.compile(r"(?<!\d)(\d{6})(?!\d)")
BARE_CODE = re.compile(r"^\s*(?:連携コード|れんけいこーど|コード)?[\s:：は]*(\d{6})\s*(?:です|です。)?\s*$")

PRIVACY_TEXT = (
    "ご提案に使うのは、区に登録されている世帯の方の年齢（生年月日から計算）・続柄・介護認定の有無と、"
    "このチャットでのお問い合わせの内容です。お名前やご住所はご提案には使いません。\n"
    "使うのは、チャットを区の記録と連携し、同意いただいた場合だけです。同意はいつでも取り消せます。"
    "情報を読み取った記録は残し、職員が確認できるようにしています。"
)
STATUS_TEXT = {
    "given": "現在、ご提案への利用に同意いただいています。",
    None: "現在、ご提案への利用には同意いただいていません。",
}
ASK_TEXT = (
    "ご家族の状況（年齢や介護認定など）をもとに、役立ちそうな制度をこちらからお知らせしてもよろしいですか？"
    "使う情報は「使う情報を見る」でご確認いただけます。"
)
GIVEN_TEXT = (
    "ありがとうございます。今後、ご家族の状況に合った制度があればお知らせします。"
    "取り消したいときは「同意を取り消す」とお送りください。"
)
DECLINED_TEXT = "承知しました。ご家族の情報は使いません。気が変わったときは「提案を受け取りたい」とお送りください。"
WITHDRAWN_TEXT = "同意を取り消しました。これからはご家族の情報を使ったご提案はしません。"
NOT_LINKED_TEXT = (
    "このチャットは、まだ区の記録と連携されていません。連携するには、窓口で職員から"
    "6桁の「連携コード」を受け取り、「連携コード 123456」のようにお送りください。"
)
LINK_TEXT = {
    "linked": "連携が完了しました。これから手続きのご案内に、区に登録されている情報を生かせるようになります。",
    "invalid": "連携コードが正しくないか、有効期限が切れています。お手数ですが、もう一度お確かめください。",
    "rate_limited": "入力の回数が上限に達しました。しばらく時間をおいてから、もう一度お試しください。",
    "not_linkable": "このチャットでは連携できません。お手数ですが、ページを開き直してからもう一度お試しください。",
}
LINKED_THIS_TURN = "link_code_answered"  # a one-turn flag (TurnContext.flags)
ASK_CODE_TEXT = "窓口で職員からお受け取りになった6桁の連携コードを送ってください。"


def consent_buttons() -> tuple[Button, ...]:
    return (
        Button("はい", payload("affirm")),
        Button("いいえ", payload("deny")),
        Button("使う情報を見る", payload("privacy_info")),
    )


def find_code(text: str, *, bare: bool) -> str | None:
    """A 6-digit code in `text` (full-width digits too); `bare`: the message must be just the code."""
    text = unicodedata.normalize("NFKC", text)
    match = BARE_CODE.match(text) if bare else CODE_IN_TEXT.search(text)
    return match.group(1) if match else None


async def change_consent(ctx: TurnContext, status: str) -> None:
    session = ctx.db
    await set_consent(
        session,
        resident_id=ctx.state.resident_id or "",
        status=status,
        channel=ctx.event.channel,
        conversation_id=ctx.event.conversation_id,
    )
    ctx.state.consent_asked = True
    ctx.state.pending_question = None


class PrivacyInfoHandler:
    name = "privacy_info"
    intents = frozenset({"privacy_info"})

    async def handle(self, ctx: TurnContext) -> None:
        if ctx.state.resident_id is None:
            ctx.say(PRIVACY_TEXT + "\n" + NOT_LINKED_TEXT)
            return
        session = ctx.db
        profile = await load_turn_profile(session, ctx.state.resident_id, with_household=False)
        given = profile.consent == "given"
        action = (
            Button("同意を取り消す", payload("consent_withdraw"))
            if given
            else Button("同意する", payload("consent_give"))
        )
        ctx.say(PRIVACY_TEXT + "\n" + STATUS_TEXT["given" if given else None], buttons=(action,))


class ConsentHandler:
    """`consent_give` / `consent_withdraw`, and the yes/no to the consent question (an open
    `question` on the stack of expectations, claimed before any intent)."""

    name = "consent"
    intents = frozenset({"consent_give", "consent_withdraw"})
    expects = frozenset({"consent"})

    def claims(self, ctx: TurnContext, expectation: Expectation) -> bool:
        return ctx.parse.intent in ("affirm", "deny") and ctx.state.resident_id is not None

    async def answer(self, ctx: TurnContext, expectation: Expectation) -> None:
        await answer_pending(ctx)

    async def handle(self, ctx: TurnContext) -> None:
        if ctx.state.resident_id is None:
            ctx.say(NOT_LINKED_TEXT)
            return
        if ctx.parse.intent == "consent_give":
            await change_consent(ctx, "given")
            ctx.say(GIVEN_TEXT)
        else:
            await change_consent(ctx, "withdrawn")
            ctx.say(WITHDRAWN_TEXT, buttons=(Button("使う情報を見る", payload("privacy_info")),))


async def answer_pending(ctx: TurnContext) -> bool:
    """Answer an open question with this turn's `affirm` / `deny`; False when none is open."""
    question = ctx.state.pending_question
    if question == "consent" and ctx.state.resident_id is not None:
        yes = ctx.parse.intent == "affirm"
        await change_consent(ctx, "given" if yes else "declined")
        ctx.say(GIVEN_TEXT if yes else DECLINED_TEXT)
        return True
    return False


class LinkAccountHandler:
    """`link_account`, and a bare code typed after the bot asked for it (the open `link_code`
    question, claimed before any intent; the suggestion hook links a code in a message the NLU
    did not place)."""

    name = "link_account"
    intents = frozenset({"link_account"})
    expects = frozenset({"link_code"})

    def claims(self, ctx: TurnContext, expectation: Expectation) -> bool:
        text = ctx.event.text
        return bool(text) and not ctx.parse.from_payload and find_code(text, bare=True) is not None

    async def answer(self, ctx: TurnContext, expectation: Expectation) -> None:
        code = find_code(ctx.event.text, bare=True)
        ctx.once(LINKED_THIS_TURN)  # the suggestion hook leaves this turn alone
        ctx.state.fallback_streak = 0
        if code is not None:
            await link_with_code(ctx, code)

    async def handle(self, ctx: TurnContext) -> None:
        code = find_code(ctx.parse.text or ctx.event.text, bare=False)
        if code is None:
            if ctx.state.resident_id is not None:
                ctx.say("このチャットはすでに区の記録と連携されています。")
                return
            ctx.state.pending_question = "link_code"
            ctx.say(ASK_CODE_TEXT)
            return
        await link_with_code(ctx, code)


async def link_with_code(ctx: TurnContext, code: str) -> None:
    ctx.state.pending_question = None
    result = await redeem_link_code(
        ctx.db,
        secret=ctx.services.secret_key,
        channel=ctx.event.channel,
        user_id=ctx.event.sender_id,
        code=code,
        conversation_id=ctx.event.conversation_id,
        client_address=ctx.event.client_address,
    )
    if result.outcome == "linked":
        ctx.state.resident_id = result.resident_id
        ctx.state.consent_asked = False
    ctx.say(LINK_TEXT[result.outcome])


class SuggestionDeclineHandler:
    """The 「今は結構です」 button of a suggestion (`/suggestion_decline{"rule": ...}`)."""

    name = "suggestion_decline"
    intents = frozenset({"suggestion_decline"})

    async def handle(self, ctx: TurnContext) -> None:
        from handlers.suggestions import record_decision

        rule = ctx.parse.entity("rule")
        if isinstance(rule, str):
            await record_decision(ctx, rule, "declined")
        # While a form is open the router asks its question again right after this.
        ctx.say("承知しました。" if ctx.state.active_form else "承知しました。ほかにご用件があればどうぞ。")


def profile_handlers() -> list[Handler]:
    return [PrivacyInfoHandler(), ConsentHandler(), LinkAccountHandler(), SuggestionDeclineHandler()]
