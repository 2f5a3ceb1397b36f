"""一時預かり for a linked resident (demo-hanako): 一時 in 一時預かり is not a time (M9)."""

from __future__ import annotations

from typing import Any

from tests.residents.conftest import chat, demo, fixed_today, tag  # noqa: F401  (fixtures)


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
