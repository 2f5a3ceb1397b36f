"""Consent in chat: privacy information, give, withdraw, and the question asked once, never nagging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.engine.testing import Conversation
from handlers.consent import ASK_TEXT, NOT_LINKED_TEXT, PRIVACY_TEXT
from knowledge.residents import AuditLog, Consent
from tests.residents.test_suggestions_chat import link, rows, suggestion

pytestmark = pytest.mark.demo_mode  # the tests link residents through the demo's imported web links

Rid = Callable[[str], str]
Chat = Callable[[str], Conversation]


async def consent_of(services: Any, resident_id: str) -> Consent | None:
    async with services.sessionmaker() as s:
        return await s.scalar(select(Consent).where(Consent.resident_id == resident_id))


async def undecided(demo: Rid, chat: Chat, services: Any) -> Conversation:
    """R060 (no consent in the data; mother aged 84 with 要介護3), linked to a web chat."""
    return chat(await link(services, demo("R060"), f"s-{demo('R060')}"))


async def test_asks_once_after_a_procedure_answer_and_yes_gives_consent(demo: Rid, chat: Chat, services: Any) -> None:
    conv = await undecided(demo, chat, services)
    await conv.say("マイナンバーカードを更新したい")
    assert conv.last[-1].text == ASK_TEXT
    assert [b.title for b in conv.last[-1].buttons] == ["はい", "いいえ", "使う情報を見る"]
    await conv.say("はい")
    assert "ありがとうございます" in conv.text
    row = await consent_of(services, demo("R060"))
    assert row is not None and (row.status, row.channel) == ("given", "web") and row.given_at and row.asked_at
    await conv.say("保育園に入りたい")
    assert suggestion(conv) == {"rule": "double_care", "reason": "ご家族に75歳以上の方がいらっしゃるため"}
    changes = await rows(services, AuditLog, AuditLog.resident_id == demo("R060"), AuditLog.action == "consent")
    assert [a.why for a in changes] == ["consent:asked", "consent:given"]


async def test_no_is_remembered_and_not_asked_again(demo: Rid, chat: Chat, services: Any) -> None:
    conv = await undecided(demo, chat, services)
    await conv.say("マイナンバーカードを更新したい")
    await conv.say("いいえ")
    assert "ご家族の情報は使いません" in conv.text
    row = await consent_of(services, demo("R060"))
    assert row is not None and row.status == "declined"
    await conv.say("保育園に入りたい")
    assert ASK_TEXT not in conv.text and suggestion(conv) is None
    await services.state.delete(f"web:s-{demo('R060')}")  # a new conversation
    fresh = chat(f"s-{demo('R060')}")
    await fresh.say("マイナンバーカードを更新したい")
    assert ASK_TEXT not in fresh.text


async def test_an_unanswered_question_is_not_repeated_in_a_new_conversation(
    demo: Rid, chat: Chat, services: Any
) -> None:
    conv = await undecided(demo, chat, services)
    await conv.say("マイナンバーカードを更新したい")
    assert ASK_TEXT in conv.text
    await conv.say("印鑑登録をしたい")  # passes the question over
    assert ASK_TEXT not in conv.text
    await conv.say("はい")  # no longer an answer to the consent question
    assert (await consent_of(services, demo("R060"))).status == "asked"  # type: ignore[union-attr]
    await services.state.delete(f"web:s-{demo('R060')}")
    fresh = chat(f"s-{demo('R060')}")
    await fresh.say("マイナンバーカードを更新したい")
    assert ASK_TEXT not in fresh.text


async def test_give_and_withdraw_by_text(demo: Rid, chat: Chat, services: Any) -> None:
    conv = await undecided(demo, chat, services)
    await conv.say("提案を受け取りたい")
    assert (await consent_of(services, demo("R060"))).status == "given"  # type: ignore[union-attr]
    await conv.say("同意を取り消したい")
    row = await consent_of(services, demo("R060"))
    assert row is not None and row.status == "withdrawn" and row.withdrawn_at and row.given_at
    await conv.say("保育園に入りたい")
    assert suggestion(conv) is None and ASK_TEXT not in conv.text


async def test_privacy_info_says_what_is_used_and_the_current_choice(demo: Rid, chat: Chat) -> None:
    conv = chat(demo("demo-hanako"))
    await conv.say("どんな情報を使っているの？")
    assert PRIVACY_TEXT in conv.text and "同意いただいています" in conv.text
    assert conv.button_titles == ["同意を取り消す"]
    await conv.press("同意を取り消す")
    assert "取り消しました" in conv.text


async def test_anonymous_consent_explains_linking(chat: Chat) -> None:
    conv = chat("someone-unlinked")
    await conv.say("提案を受け取りたい")
    assert conv.text == NOT_LINKED_TEXT
    await conv.say("どんな情報を使っているの？")
    assert PRIVACY_TEXT in conv.text and "連携コード" in conv.text


async def test_consented_resident_is_never_asked(demo: Rid, chat: Chat) -> None:
    conv = chat(demo("demo-kenichi"))
    await conv.say("マイナンバーカードを更新したい")
    assert ASK_TEXT not in conv.text


async def test_the_code_question_is_forgotten_when_the_resident_moves_on(chat: Chat, services: Any) -> None:
    conv = chat("someone-linking")
    await conv.say("アカウントを連携したい")
    assert (await services.state.get("web:someone-linking")).pending_question == "link_code"
    await conv.say("こんにちは")
    assert (await services.state.get("web:someone-linking")).pending_question is None


async def test_a_line_user_links_with_a_staff_code(demo: Rid, dispatcher: Any, services: Any) -> None:
    from bot.engine.identity import issue_link_code

    async with services.sessionmaker() as s, s.begin():
        issued = await issue_link_code(s, resident_id=demo("R001"), staff_id="s-7", secret=services.secret_key)
    assert issued is not None
    line_user = "U" + demo("x").split("-")[-1].rjust(32, "0")
    conv = Conversation(dispatcher, sender_id=line_user, channel="line")
    await conv.say(f"連携コード {issued[0]}")
    assert "連携が完了しました" in conv.text
    assert await services.resolve_resident("line", line_user) == demo("R001")
