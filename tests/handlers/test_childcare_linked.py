"""一時預かり for a linked resident (demo-hanako): 一時 in 一時預かり is not a time (M9)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.residents.conftest import chat, demo, fixed_today, tag  # noqa: F401  (fixtures)

pytestmark = pytest.mark.demo_mode  # the tests link residents through the demo's imported web links


async def test_linked_resident_suggestion_then_age_asks_the_hours(demo: Any, chat: Any) -> None:  # noqa: F811
    conv = chat(demo("demo-hanako"))
    await conv.say("来週の火曜日に息子を一時預かりに預けたいです")
    assert "ダブルケア" in conv.text  # the profile suggestion
    assert "何時から何時まで" not in conv.text  # no time was given: nothing to refuse
    assert "お子さんの年齢" in conv.text
    await conv.say("2歳です")
    assert "両方を教えてください" not in conv.text
    assert "何時から何時まで預けますか" in conv.text
    await conv.press("09:00〜12:00")
    assert "利用する施設" in conv.text


async def test_linked_resident_is_not_asked_name_or_phone(demo: Any, chat: Any) -> None:  # noqa: F811
    conv = chat(demo("demo-hanako"))
    await conv.say("来週の火曜日に息子を一時預かりに預けたいです")
    await conv.say("2歳です")
    await conv.press("09:00〜12:00")
    await conv.press("ひまわり保育園")
    assert "お名前" not in conv.text and "電話番号" not in conv.text
    assert "この内容でよろしいですか" in conv.text


async def test_consenting_linked_resident_is_offered_the_childs_age(demo: Any, chat: Any, services: Any) -> None:  # noqa: F811
    """R002 (born 2024-02-10) is 2歳 on 2026-11-27: offered as a button, no name shown, read audited."""
    from sqlalchemy import select

    from knowledge.residents import AuditLog

    conv = chat(demo("demo-hanako"))
    await conv.say("一時預かりを利用したい")
    assert "お子さんの年齢" in conv.text
    assert "2歳のお子さん" in conv.button_titles
    assert "蓮" not in conv.text and not any("蓮" in t for t in conv.button_titles)
    await conv.press("2歳のお子さん")
    assert "預けたい日" in conv.text
    async with services.sessionmaker() as session:
        whys = list(await session.scalars(select(AuditLog.why).where(AuditLog.resident_id == demo("R001"))))
    assert "一時預かりの予約: お子さんの年齢の候補" in whys


async def test_no_age_buttons_after_consent_is_withdrawn(demo: Any, chat: Any) -> None:  # noqa: F811
    conv = chat(demo("demo-hanako"))
    await conv.say("同意を取り消したい")
    if "同意を取り消す" in conv.button_titles:
        await conv.press("同意を取り消す")
    await conv.say("一時預かりを利用したい")
    assert "お子さんの年齢" in conv.text
    assert not any(t.endswith("のお子さん") for t in conv.button_titles), conv.button_titles


async def test_anonymous_resident_gets_no_age_buttons(bot: Any) -> None:
    await bot.say("一時預かりを利用したい")
    assert "お子さんの年齢" in bot.text
    assert not any(t.endswith("のお子さん") for t in bot.button_titles)
