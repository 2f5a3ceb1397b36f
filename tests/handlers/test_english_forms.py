"""The booking forms in English (issue 15, CONTRACTS §9): the same forms as in Japanese, their
words from forms_en.yml, their facts from services.yml — end to end."""

from __future__ import annotations

import re

import pytest

from tests.handlers.conftest import stored

pytestmark = pytest.mark.usefixtures("booking_day")  # today: Friday 2026-11-27
KANA = re.compile(r"[ぁ-んァ-ヶ]")


def no_japanese(bot) -> bool:  # type: ignore[no-untyped-def]
    """The bot's words and buttons are English (addresses, as the data writes them, aside)."""
    words = [r.text for r in bot.last] + bot.button_titles
    return not any(KANA.search(w) for w in words)


async def give_contact_en(bot, name: str = "Hanako Yamada", phone: str = "090-1234-5678") -> None:  # type: ignore[no-untyped-def]
    assert "your name" in bot.text, bot.text
    await bot.say(name)
    assert "phone number" in bot.text, bot.text
    await bot.say(phone)


async def test_childcare_booked_in_english_end_to_end(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("I'd like to book temporary childcare for my 2 year old next Tuesday")
    assert "From what time to what time" in bot.text and no_japanese(bot)  # age and date known
    await bot.say("9am to 3pm")
    assert bot.button_titles[:3] == ["Himawari Nursery", "Kosodate Plaza Kita", "Minato Infant Room"]
    await bot.press("Himawari Nursery")
    await give_contact_en(bot)
    assert "Is this correct?" in bot.text and no_japanese(bot)
    assert "Child's age: 2 years" in bot.text and "Date: Tue, Dec 1" in bot.text
    assert "Hours: 09:00-15:00" in bot.text and "Fee: 1,800 yen (300 yen per hour)" in bot.text  # services.yml's fee
    assert bot.button_titles == ["Yes", "Change", "Cancel"]
    await bot.say("yes")
    assert "Your reservation number is H-20261201-0001" in bot.text
    assert "Maternal and Child Health Handbook" in bot.text and "03-0000-1101" in bot.text
    rows = await stored(services, "childcare_temporary")
    assert [(r.number, r.resource, r.start_time, r.end_time) for r in rows] == [
        ("H-20261201-0001", "himawari", "09:00", "15:00")
    ]
    # Cancelled in English too, as the completion note says (the same form as in Japanese).
    await bot.say("Check my bookings")
    assert "H-20261201-0001: Temporary childcare Tue, Dec 1 09:00-15:00" in bot.text
    await bot.say("I want to cancel my booking")
    assert "I will help you cancel a booking" in bot.text and no_japanese(bot)
    await bot.say("H-20261201-0001")
    assert "Booking: Temporary childcare Tue, Dec 1" in bot.text and bot.button_titles[0] == "Yes"
    await bot.say("yes")
    assert "The booking H-20261201-0001 is cancelled" in bot.text
    assert [r.status for r in await stored(services, "childcare_temporary")] == ["cancelled"]


async def test_validation_messages_are_english(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("I want to use temporary childcare")
    assert "How old is your child?" in bot.text
    await bot.say("7 years old")
    assert "no facility can take a child of 7 years" in bot.text
    assert "Minato Infant Room: 3 months to under 3 years" in bot.text and no_japanese(bot)
    await bot.say("8 months")
    assert "Which day" in bot.text
    await bot.say("Sunday, December 6")
    assert "Sun, Dec 6" in bot.text and "closed" in bot.text and no_japanese(bot)
    await bot.say("the 3rd")  # Thursday, December 3
    assert "From what time" in bot.text


async def test_correction_and_question_at_the_confirmation(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("Book temporary childcare for my 3 year old on Dec 2, 9am to 12pm at Himawari")
    await give_contact_en(bot)
    assert "Date: Wed, Dec 2" in bot.text
    await bot.say("Actually, change the date to Dec 3")  # a correction with its value: confirm again
    assert "Date: Thu, Dec 3" in bot.text and "Is this correct?" in bot.text
    await bot.say("How much does it cost?")  # a question mid-form: answered, then the form again
    assert "yen" in bot.last[0].text and "Is this correct?" in bot.text and no_japanese(bot)
    await bot.say("no")
    assert "Which item do you want to change?" in bot.text and "Hours" in bot.button_titles
    await bot.press("Hours")
    await bot.say("afternoon")  # one word: the 13:00-17:00 span
    assert "Hours: 13:00-17:00" in bot.text
    await bot.say("cancel")
    assert "Cancelled" in bot.text and await stored(services, "childcare_temporary") == []


async def test_bulky_waste_in_english_items_sizes_town_and_refusals(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("I want to book bulky waste collection for a TV")
    assert "cannot be collected" in bot.text and "Home Appliance Recycling" in bot.text and no_japanese(bot)
    await bot.say("I want to book bulky waste collection for a sofa and 2 chairs")
    assert "Which is it?" in bot.text and "sofa (2 seats or more) 1,600 yen" in bot.button_titles
    await bot.press("sofa (2 seats or more) 1,600 yen")
    assert "town name" in bot.text
    await bot.say("Atlantis 1-1")
    assert "was not found" in bot.text and no_japanese(bot)
    await bot.say("Chuo 1-1-1")
    assert bot.button_titles[0] == "Tue, Dec 1"  # 中央: Tuesdays and Fridays, 4 days ahead at least
    await bot.say("Monday Dec 7")
    assert "not a collection day for the Chuo area" in bot.text and "Tue, Fri" in bot.text
    await bot.press("Fri, Dec 4")
    await give_contact_en(bot, "Taro Sato", "03-1234-5678")  # "Sato" is a name, not Saturday
    assert "chair x2  600 yen" in bot.text and "Total fee: 2,200 yen" in bot.text
    await bot.press("Yes")
    assert "Your reservation number is G-20261204-0001" in bot.text and "0120-000-530" in bot.text
    rows = await stored(services, "bulky_waste")
    assert rows[0].details["total_fee"] == 2200 and rows[0].details["town"] == "中央"


async def test_facility_booking_in_english(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("I want to reserve a meeting room")
    await bot.press("Chuo Community Hall, Meeting room A (up to 12)")
    await bot.say("Monday, Nov 30")  # 中央区民館 is closed on Mondays
    assert "closed every Mon" in bot.text and no_japanese(bot)
    await bot.say("next Wednesday")
    assert "Afternoon 13:00-17:00 (800 yen)" in bot.button_titles
    await bot.say("afternoon")
    await bot.say("20 people")
    assert "holds 12 people" in bot.text and no_japanese(bot)
    await bot.say("8")
    await give_contact_en(bot)
    assert "Time slot: Afternoon 13:00-17:00" in bot.text and "Fee: 800 yen" in bot.text
    await bot.say("yes")
    assert "Your reservation number is" in bot.text
    assert len(await stored(services, "facility_booking")) == 1


async def test_care_consultation_by_phone_in_english(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("I'd like to consult about care for my father")
    assert "What would you like to talk about?" in bot.text  # the centres' Japanese name is said beside
    await bot.press("Worried about forgetfulness")
    await bot.say("Minatomachi")
    assert "Demo Ward Minami Community Support Center" in bot.text
    await bot.say("By phone please")
    assert "Please call Demo Ward Minami Community Support Center" in bot.text and "03-0000-3303" in bot.text


async def test_writing_japanese_mid_form_continues_the_same_form_in_japanese(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("I want to use temporary childcare")
    await bot.say("2 years old")
    assert "Which day" in bot.text
    await bot.say("12月3日でお願いします")  # Japanese: the conversation turns Japanese, the form stays
    assert "何時から何時まで" in bot.text


async def test_a_fee_question_about_a_booking_is_answered_first_with_a_button_to_book(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("How much is temporary childcare?")
    assert "yen" in bot.last[0].text and "Book: Temporary childcare booking" in bot.button_titles
    await bot.press("Book: Temporary childcare booking")
    assert "How old is your child?" in bot.text


async def test_a_size_typed_in_one_word(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("I want bulky waste collection for a bed")
    assert "Which is it?" in bot.text
    await bot.say("single")  # a word only the single bed's names have
    assert "town name" in bot.text
