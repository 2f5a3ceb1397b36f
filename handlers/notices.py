"""Outreach notices in chat (CONTRACTS §7): 「お知らせを止めて」 (all, or one topic: 「健診のお知らせ
はいらない」), 「お知らせを再開して」 and 「どんなお知らせが届きますか」 (what is on, and why).

An opt-out is kept for the linked resident (whatever chat they use) or, for an anonymous chat,
for this conversation; bot/outreach/send.py checks it before every notice.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from bot.engine.events import Button
from bot.engine.turn import TurnContext, payload
from knowledge.base import required
from knowledge.notices import ALL_TOPICS, NoticeOptout, subjects, utcnow
from knowledge.outreach_rules import OutreachBook, Topic
from knowledge.residents import Consent

STOP_WORDS = (
    "止め",
    "とめ",
    "停止",
    "いらな",
    "要らな",
    "不要",
    "やめ",
    "送らない",
    "解除",
    "オフ",
    "減らし",
    "大丈夫",
)
RESUME_WORDS = ("再開", "また送", "また受け取", "受け取りたい", "オンに", "戻し", "送ってほしい")
STOPPED = "承知しました。{what}をお送りしないようにしました。再開するときは「お知らせを再開して」と送ってください。"
RESUMED = "{what}を再開しました。止めるときは「お知らせを止めて」と送ってください。"


class NoticeSettingsHandler:
    name = "notice_settings"
    intents = frozenset({"notice_settings"})

    async def handle(self, ctx: TurnContext) -> None:
        book: OutreachBook = required(ctx.services.knowledge.outreach, "outreach")
        text = ctx.parse.text
        action = ctx.parse.entity("notice_action") or _action(text)
        topic = book.topics.get(str(ctx.parse.entity("notice_topic") or "")) or book.topic_in(text)
        subject = subjects(resident_id=ctx.state.resident_id, conversation_id=ctx.state.conversation_id)[0]
        what = f"「{topic.label}」" if topic else "お知らせ"
        if action == "stop":
            await _stop(ctx, subject, topic)
            ctx.say(
                STOPPED.format(what=what),
                buttons=(Button("お知らせを再開する", payload("notice_settings", notice_action="resume")),),
            )
        elif action == "resume":
            await _resume(ctx, subject, topic)
            ctx.say(RESUMED.format(what=what) + await _consent_note(ctx))
        else:
            await _describe(ctx, book, subject)


def _action(text: str) -> str:
    if any(w in text for w in RESUME_WORDS):
        return "resume"
    if any(w in text for w in STOP_WORDS):
        return "stop"
    return "list"


async def _stop(ctx: TurnContext, subject: str, topic: Topic | None) -> None:
    key = topic.id if topic else ALL_TOPICS
    found = await ctx.db.scalar(
        select(NoticeOptout.id).where(NoticeOptout.subject == subject, NoticeOptout.topic == key)
    )
    if found is None:
        ctx.db.add(NoticeOptout(subject=subject, topic=key, created_at=utcnow()))


async def _resume(ctx: TurnContext, subject: str, topic: Topic | None) -> None:
    query = delete(NoticeOptout).where(NoticeOptout.subject == subject)
    if topic is not None:
        query = query.where(NoticeOptout.topic.in_([topic.id]))
    await ctx.db.execute(query)
    if topic is not None:  # 「健診を再開」 after 「全部止めて」: all others stay stopped
        stopped_all = await ctx.db.scalar(
            select(NoticeOptout.id).where(NoticeOptout.subject == subject, NoticeOptout.topic == ALL_TOPICS)
        )
        if stopped_all is not None:
            await ctx.db.execute(delete(NoticeOptout).where(NoticeOptout.id == stopped_all))
            book: OutreachBook = required(ctx.services.knowledge.outreach, "outreach")
            for other in book.topics.values():
                if other.id != topic.id:
                    ctx.db.add(NoticeOptout(subject=subject, topic=other.id, created_at=utcnow()))


async def _consent_note(ctx: TurnContext) -> str:
    if ctx.state.resident_id is None:
        return "\nこのチャットでご予約いただいたときの前日のお知らせが届きます。"
    if await _has_outreach_consent(ctx):
        return ""
    return "\nご家族の状況に合わせたお知らせは、お知らせへの同意をいただいた方にだけお送りしています（窓口でお申し出ください）。"


async def _has_outreach_consent(ctx: TurnContext) -> bool:
    found = await ctx.db.scalar(
        select(Consent.id).where(
            Consent.resident_id == ctx.state.resident_id, Consent.scope == "outreach", Consent.status == "given"
        )
    )
    return found is not None


async def _describe(ctx: TurnContext, book: OutreachBook, subject: str) -> None:
    stopped = set(await ctx.db.scalars(select(NoticeOptout.topic).where(NoticeOptout.subject == subject)))
    consent = ctx.state.resident_id is not None and await _has_outreach_consent(ctx)
    lines = []
    for topic in book.topics.values():
        profile = any(r.topic == topic.id and r.uses_profile for r in book.rules)
        off = ALL_TOPICS in stopped or topic.id in stopped
        state = "停止中" if off else ("受け取る" if consent or not profile else "同意がないため届きません")
        why = "ご家族の状況（登録情報）から" if profile else "このチャットでのご予約から"
        lines.append(f"・{topic.label}：{state}（{why}お送りします）")
    text = "区からは次のお知らせをお送りしています。\n" + "\n".join(lines)
    text += "\n止めるときは「〇〇のお知らせを止めて」、再開するときは「お知らせを再開して」と送ってください。"
    buttons = (
        Button("すべて止める", payload("notice_settings", notice_action="stop")),
        Button("すべて再開する", payload("notice_settings", notice_action="resume")),
    )
    ctx.say(text, buttons=buttons)
