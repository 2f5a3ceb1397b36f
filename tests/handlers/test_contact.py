"""M10: an anonymous resident's booking asks a name and a phone number; masked in the chat,
stored for the staff, never logged. A linked resident is not asked."""

from __future__ import annotations

import logging

import pytest

from handlers.contact import format_phone, mask_phone, valid_phone
from tests.handlers.conftest import give_contact, stored

pytestmark = pytest.mark.usefixtures("booking_day")

PHONE = "080-2468-1357"


@pytest.mark.parametrize(
    ("phone", "ok", "shown"),
    [
        ("090-1234-5678", True, "090-****-5678"),
        ("09012345678", True, "090-****-5678"),
        ("０９０－１２３４－５６７８", True, "090-****-5678"),
        ("03-1234-5678", True, "03-****-5678"),
        ("045(123)4567", True, "045-***-4567"),
        ("050-1234-5678", True, "050-****-5678"),
        ("0120-000-530", True, "0120-***-530"),
        ("12345", False, None),
        ("090-1234-567", False, None),
        ("0901234567", False, None),
        ("1234567890", False, None),
    ],
)
def test_phone_formats(phone: str, ok: bool, shown: str | None) -> None:
    assert valid_phone(phone) is ok
    if shown:
        assert mask_phone(format_phone(phone)) == shown


async def test_anonymous_booking_asks_name_and_phone(bot, services, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    await bot.say("体育館を予約したい")
    await bot.say("12月9日")
    await bot.say("午前")
    await bot.say("20名です")
    assert "お名前を教えてください" in bot.text
    await bot.say("山田花子です")
    assert "電話番号を教えてください" in bot.text
    await bot.say("12345")
    assert "電話番号の形になっていないようです" in bot.text and "電話番号を教えてください" in bot.text
    await bot.say(f"電話は{PHONE}です")
    assert "この内容でよろしいですか" in bot.text
    assert "お名前：山田花子" in bot.text and "電話番号：080-****-1357" in bot.text
    assert PHONE not in bot.text
    await bot.say("電話番号を変えたい")
    assert "電話番号を教えてください" in bot.text
    await bot.say("03-1234-5678")
    assert "電話番号：03-****-5678" in bot.text
    await bot.press("はい")
    assert "受付番号" in bot.text
    rows = await stored(services, "facility_booking")
    assert rows[0].details["contact"] == {"name": "山田花子", "phone": "03-1234-5678"}
    ours = ("bot", "handlers", "knowledge", "nlu", "server")  # every app logger at any level; others from INFO
    records = [r for r in caplog.records if r.name.split(".")[0] in ours or r.levelno >= logging.INFO]
    # the message and every extra field, not logging's own bookkeeping (a thread id or a timestamp
    # may hold the digits "1357" by chance)
    own = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) - {"msg", "args"}
    logged = "\n".join(f"{r.getMessage()} {({k: v for k, v in r.__dict__.items() if k not in own})}" for r in records)
    for secret in ("2468", "1357", "1234-5678", "山田花子"):
        assert secret not in logged  # never logged


@pytest.mark.parametrize(
    ("start", "kind"),
    [
        (["1人掛けのソファを出したい", "中央1-1-1", '/inform{"date":"2026-12-01"}'], "bulky_waste"),
        (["来週火曜に2歳の子を預けたい", "9時から15時", '/inform{"facility":"himawari"}'], "childcare_temporary"),
        (
            [
                "母の介護について相談したい",
                "物忘れ",
                "中央1-1-1",
                '/inform{"method":"visit"}',
                '/inform{"date":"2026-12-01"}',
                '/inform{"time":"10:00"}',
            ],
            "care_consultation",
        ),
    ],
)
async def test_every_booking_kind_stores_the_contact(bot, services, start: list[str], kind: str) -> None:  # type: ignore[no-untyped-def]
    for message in start:
        await bot.say(message)
    await give_contact(bot, "佐藤 一郎", PHONE)
    assert "お名前：佐藤 一郎" in bot.text and "080-****-1357" in bot.text
    await bot.press("はい")
    rows = await stored(services, kind)
    assert rows[0].details["contact"] == {"name": "佐藤 一郎", "phone": PHONE}


async def test_a_wrong_typed_contact_button_is_asked_again(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("1人掛けのソファを出したい")
    await bot.say("中央1-1-1")
    await bot.say('/inform{"date":"2026-12-01"}')
    await bot.say('/inform{"contact_name":["x"]}')
    assert "お名前を教えてください" in bot.text and "システムで問題" not in bot.text
    await bot.say("山田花子")
    await bot.say('/inform{"contact_phone":{"a":1}}')
    assert "電話番号を教えてください" in bot.text and "システムで問題" not in bot.text
