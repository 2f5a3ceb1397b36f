"""施設予約: room, date, free slots, number of people; availability; staff visibility."""

from __future__ import annotations

import pytest

from bot.engine.testing import Conversation
from tests.handlers.conftest import NOW, give_contact, stored

pytestmark = pytest.mark.usefixtures("booking_day")


async def test_booking_with_closed_day_over_capacity_and_a_correction(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("中央区民館の会議室Aを予約したい")
    assert "利用日" in bot.text
    assert bot.button_titles[:4] == ["11月28日（土）", "11月29日（日）", "12月1日（火）", "12月2日（水）"]
    await bot.say('/inform{"date":"2026-11-30"}')
    assert "11月30日（月）は中央区民館の休館日です（休館日：毎週月曜日）" in bot.text
    await bot.say("12月10日")
    assert bot.button_titles[:3] == [
        "午前 09:00〜12:00（600円）",
        "午後 13:00〜17:00（800円）",
        "夜間 18:00〜21:30（900円）",
    ]
    await bot.press("午後 13:00〜17:00（800円）")
    assert "人数" in bot.text
    await bot.say("15名で使います")
    assert "中央区民館 会議室Aの定員は12人です" in bot.text
    await bot.say("10名です")
    await give_contact(bot)
    assert "時間帯：午後 13:00〜17:00" in bot.text and "使用料：800円" in bot.text
    await bot.say("午前に変更したい")
    assert "時間帯：午前 09:00〜12:00" in bot.text and "使用料：600円" in bot.text
    await bot.press("はい")
    assert "受付番号は S-20261210-0001" in bot.text and "03-0000-2201" in bot.text
    rows = await stored(services, "facility_booking")
    assert [(r.resource, r.start_time, r.details["people"]) for r in rows] == [("chuo_conf_a", "09:00", 10)]


async def test_a_taken_slot_is_not_offered_and_is_refused(bot, dispatcher) -> None:  # type: ignore[no-untyped-def]
    first = Conversation(dispatcher, sender_id="first-group")
    await first.say("体育館を予約したい")
    await first.say("12月10日")
    assert "12月10日（木）はデモ区総合体育館の休館日です" in first.text
    await first.say("12月9日")
    await first.press("午前 09:00〜12:00（2,400円）")
    await first.say("30名です")
    await give_contact(first)
    await first.press("はい")
    assert "S-20261209-0001" in first.text
    await bot.say("体育館を予約したい")
    await bot.say("12月9日")
    assert not any(t.startswith("午前") for t in bot.button_titles)
    await bot.say("午前")
    assert "12月9日（水）の午前はすでに予約が入っています" in bot.text
    assert "空いている時間帯：午後（13:00〜17:00）、夜間（18:00〜21:30）" in bot.text


async def test_interruption_then_resume_and_cancel(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("施設を予約したい")
    assert "会議室A" in " ".join(bot.button_titles)
    await bot.press("北区民館 集会室（40人）")
    await bot.say("住民票はどこで取れますか")
    assert "施設の予約の続きです" in bot.text and "利用日" in bot.text
    await bot.say("12月10日")
    assert "時間帯" in bot.text
    await bot.say("やめる")
    assert "取りやめました" in bot.text
    assert not await stored(services, "facility_booking")


def test_staff_see_reservations_made_over_the_web_chat(client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.staff_token = "s3cret"
    client.app.state.services.clock = lambda: NOW

    def say(text: str) -> list[dict]:  # type: ignore[type-arg]
        response = client.post("/webhooks/rest/webhook", json={"sender": "resident-1", "message": text})
        assert response.status_code == 200
        return response.json()

    say("中央区民館の和室を予約したい")
    say('/inform{"date":"2026-12-10"}')
    say('/inform{"slot":"night"}')
    asked = say('/inform{"people":8}')
    assert any("お名前" in m["text"] for m in asked)  # an anonymous resident: name and phone
    say("山田花子です")
    confirm = say("090-1234-5678")
    assert any("電話番号：090-****-5678" in m["text"] for m in confirm) or "090-****-5678" in str(confirm)
    assert "090-1234-5678" not in str(confirm)
    done = say("/affirm")
    assert any("S-20261210-0001" in m["text"] for m in done)
    headers = {"Authorization": "Bearer s3cret"}
    assert client.get("/staff/api/reservations").status_code == 401
    rows = client.get("/staff/api/reservations?kind=facility_booking&date=2026-12-10", headers=headers).json()
    assert [(r["number"], r["resource"], r["start_time"], r["details"]["people"]) for r in rows] == [
        ("S-20261210-0001", "chuo_japanese", "18:00", 8)
    ]
    assert rows[0]["details"]["contact"] == {"name": "山田花子", "phone": "090-1234-5678"}  # for the staff
    assert client.get("/staff/api/reservations?date=2026-12-11", headers=headers).json() == []
    assert client.get("/staff/api/reservations?kind=nope", headers=headers).status_code == 422
