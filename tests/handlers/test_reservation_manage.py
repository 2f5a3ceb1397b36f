"""予約の確認・取消し in the chat: own reservations listed and cancelled, another device's booking
only with the phone number given when booking, deadlines from the data, places freed."""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.engine.testing import Conversation
from handlers.reservation_lookup import short_label
from handlers.reservation_manage import find_number
from knowledge.bookings import CANCELLED, CONFIRMED, places_taken
from tests.handlers.conftest import give_contact, stored
from tests.residents.conftest import chat, demo, fixed_today, tag  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("booking_day")

PHONE = "080-2468-1357"


async def book_gym(conv: Conversation, day: str = "12月9日") -> str:
    await conv.say("体育館を予約したい")
    await conv.say(day)
    await conv.say("午前")
    await conv.say("20名です")
    await give_contact(conv, phone=PHONE)
    await conv.press("はい")
    number = find_number(conv.text)
    assert number and number.startswith("S-"), conv.text
    return number


def other_device(bot: Conversation) -> Conversation:
    return Conversation(bot.dispatcher, sender_id=f"t-{uuid.uuid4().hex[:10]}")


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("受付番号S-20261201-0003を取り消したい", "S-20261201-0003"),
        ("s-20261201-0003", "S-20261201-0003"),
        ("Ｇ－２０２６１２０５－００１２です", "G-20261205-0012"),
        ("H202612050001", "H-20261205-0001"),
        ("K 20261205 0001", "K-20261205-0001"),
        ("X-20261201-0003", None),
        ("S-2026120-0003", None),
        ("予約をキャンセルしたい", None),
    ],
)
def test_reservation_numbers(text: str, number: str | None) -> None:
    assert find_number(text) == number


async def test_own_reservation_is_listed_and_cancelled(bot, services) -> None:  # type: ignore[no-untyped-def]
    number = await book_gym(bot)
    await bot.say("予約の確認をしたい")
    assert "これからの予約は1件です" in bot.text and number in bot.text, bot.text
    await bot.say("予約をキャンセルしたい")
    assert "予約の取消しをお手伝いします" in bot.text
    assert number in bot.text  # the list card
    rows = await stored(services, "facility_booking")
    await bot.press(short_label(rows[0]))
    assert "この内容でよろしいですか" in bot.text and f"受付番号：{number}" in bot.text
    await bot.press("はい")
    assert f"受付番号 {number} の予約を取り消しました" in bot.text
    assert "施設の予約をあらためて予約する" in bot.button_titles
    row = (await stored(services, "facility_booking"))[0]
    assert row.status == CANCELLED and row.cancelled_at is not None
    async with services.sessionmaker() as session:
        taken = await places_taken(
            session, kind="facility_booking", resource=row.resource, service_date=row.service_date
        )
    assert taken == 0  # the place is free again
    await bot.say("予約の確認")
    assert "これからの予約はありません" in bot.text


async def test_number_from_another_device_needs_the_booking_phone(bot, services, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    number = await book_gym(bot)
    other = other_device(bot)
    await other.say(f"受付番号{number}の予約を取り消したい")
    assert "電話番号を教えてください" in other.text
    await other.say("090-9999-9999")
    assert "一致しません" in other.text and "電話番号を教えてください" in other.text
    await other.say(PHONE)
    assert "この内容でよろしいですか" in other.text and "080-****-1357" in other.text
    await other.press("はい")
    assert "取り消しました" in other.text
    assert (await stored(services, "facility_booking"))[0].status == CANCELLED
    ours = ("bot", "handlers", "knowledge", "nlu", "server")  # every app logger at any level; others from INFO
    records = [r for r in caplog.records if r.name.split(".")[0] in ours or r.levelno >= logging.INFO]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in records)
    for secret in ("2468-1357", "08024681357", "9999-9999", "09099999999"):
        assert secret not in logged  # phone numbers are never logged


async def test_three_wrong_phones_end_the_attempt(bot, services) -> None:  # type: ignore[no-untyped-def]
    number = await book_gym(bot)
    other = other_device(bot)
    await other.say(f"{number}をキャンセルしたい")
    for phone in ("090-1111-1111", "090-2222-2222", "090-3333-3333"):
        await other.say(phone)
    assert "ご本人の確認ができなかったため" in other.text
    assert "施設の受付へご連絡ください" in other.text  # the data's change_note: how else to cancel
    await other.say(PHONE)  # too late: the attempt is over, the form is gone
    assert (await stored(services, "facility_booking"))[0].status == CONFIRMED


async def test_deadline_comes_from_the_data(bot, services) -> None:  # type: ignore[no-untyped-def]
    number = await book_gym(bot, "12月9日")  # 施設: until the end of the day 3 days before (12/6)
    services.clock = lambda: datetime(2026, 12, 7, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    await bot.say(f"{number}を取り消したい")
    assert "チャットで取り消せるのは利用日の3日前まで" in bot.text, bot.text
    assert (await stored(services, "facility_booking"))[0].status == CONFIRMED


async def test_unknown_number(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("S-20261209-0999の予約を取り消したい")
    assert "受付番号 S-20261209-0999 の予約が見つかりません" in bot.text


async def test_cancel_request_without_reservations_does_not_start_a_booking(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("体育館の予約をキャンセルしたい")
    assert "利用日を教えてください" not in bot.text
    assert "予約は見つかりませんでした" in bot.text and "受付番号を教えてください" in bot.text
    await bot.say("やめます")
    assert await stored(services, "facility_booking") == []


async def test_in_a_booking_form_it_stops_the_booking_being_entered(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("体育館を予約したい")
    assert "利用日を教えてください" in bot.text
    await bot.say("予約を取り消したいです")
    assert "予約をやめました" in bot.text or "取りやめ" in bot.text or "やめました" in bot.text, bot.text
    await bot.say("12月9日")
    assert "時間帯" not in bot.text  # the booking form is no longer asking


async def test_change_request_explains_cancel_then_rebook(bot, services) -> None:  # type: ignore[no-untyped-def]
    number = await book_gym(bot)
    await bot.say("予約した日を変更したい")
    assert "あらためて予約していただく形で日時などを変更できます" in bot.text and number in bot.text
    rows = await stored(services, "facility_booking")
    await bot.press(short_label(rows[0]))
    await bot.press("はい")
    await bot.press("施設の予約をあらためて予約する")
    assert "予約したい施設・部屋を選んでください" in bot.text  # a new booking starts


async def test_past_reservation_cannot_be_cancelled(bot, services) -> None:  # type: ignore[no-untyped-def]
    number = await book_gym(bot, "12月9日")
    services.clock = lambda: datetime(2026, 12, 10, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    await bot.say(f"{number}を取り消したい")
    assert "すでに過ぎています" in bot.text
    [kept] = await stored(services, "facility_booking")
    assert date(2026, 12, 9) == kept.service_date
    assert kept.status == "confirmed" and kept.cancelled_at is None  # not cancelled


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("一時預かりの予約をする", "お子さんの年齢を教えてください"),
        ("体育館の予約をする", "利用日を教えてください"),  # 体育館 already names the place
    ],
)
async def test_a_new_booking_is_not_taken_for_managing_one(bot, text: str, question: str) -> None:  # type: ignore[no-untyped-def]
    await bot.say(text)
    assert question in bot.text, bot.text


@pytest.mark.parametrize(
    ("text", "card"),
    [
        ("会議室って何日前から予約できる？", "期限：利用日の60日前から前日まで"),
        ("体育館の使用料はいくらですか", "費用："),
        ("一時預かりはいつまでに予約すればいい？", "一時預かり"),
    ],
)
async def test_questions_about_booking_rules_are_answered_not_booked(bot, services, text: str, card: str) -> None:  # type: ignore[no-untyped-def]
    await bot.say(text)
    assert card in bot.text, bot.text
    assert "教えてください" not in bot.text  # no form question
    assert any(t.endswith("をする") for t in bot.button_titles), bot.button_titles
    await bot.press(next(t for t in bot.button_titles if t.endswith("をする")))
    assert "教えてください" in bot.text or "選んでください" in bot.text  # the button starts the booking


async def test_the_capabilities_menu_lists_reservations(bot) -> None:  # type: ignore[no-untyped-def]
    number = await book_gym(bot)
    await bot.say("何ができるの？")
    await bot.press("予約の確認・取消し")
    assert "これからの予約は1件です" in bot.text and number in bot.text
    await bot.press("予約を取り消す")
    assert "予約の取消しをお手伝いします" in bot.text


@pytest.mark.demo_mode  # demo-hanako-<tag>: an imported web link
async def test_linked_residents_cancellation_is_in_their_history(demo, chat, services) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from sqlalchemy import select

    from knowledge.residents import Interaction

    conv = chat(demo("demo-hanako"))  # linked: no name or phone asked
    await conv.say("12月9日の午前に体育館を20人で使いたい")
    await conv.press("はい")
    number = find_number(conv.text)
    assert number, conv.text
    await conv.say(f"{number}を取り消したい")
    await conv.press("はい")
    assert "取り消しました" in conv.text
    async with services.sessionmaker() as session:
        rows = list(await session.scalars(select(Interaction).where(Interaction.resident_id == demo("R001"))))
    cancelled = [r for r in rows if (r.details or {}).get("action") == "cancelled"]
    assert [(r.kind, r.intent, r.details["number"]) for r in cancelled] == [("reservation", "facility_booking", number)]
