"""窓口予約 (issue 14): out of hours and after a long wait the resident is offered, beside the
callback, a counter visit with the department in charge, in slots cut from that department's office
hours (data); booked with buttons, numbered, shown to that department's staff only (403 for
another), cancelled by the resident like the other reservations, linked when staff close with the
outcome `visit`; two residents after one last place: exactly one gets it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.settings import Settings
from bot.store.db import make_sync_engine
from knowledge.bookings import Reservation, find_number
from knowledge.office_hours import load_office_hours
from tests.bot.test_staff_departments import SHARED, Staff, say, text_of

JST = ZoneInfo("Asia/Tokyo")
OUT_OF_HOURS = datetime(2026, 12, 4, 4, 36, tzinfo=JST)  # a Friday, before 8:30
IN_HOURS = datetime(2026, 12, 4, 10, 0, tzinfo=JST)


@pytest.fixture
def staff(settings: Settings) -> Iterator[Staff]:
    made = Staff(settings)
    yield made
    made.close()


@pytest.fixture
def app(settings: Settings, interpreter: Any) -> FastAPI:
    from server import create_app

    return create_app(settings.model_copy(update={"staff_token": SHARED}), interpreter=interpreter)


class Residents:
    """Senders of this test; their reservations are deleted afterwards (the database is shared)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.made: list[str] = []

    def new(self) -> str:
        who = f"web-{uuid.uuid4().hex[:10]}"
        self.made.append(f"web:{who}")
        return who

    def close(self) -> None:
        engine = make_sync_engine(self.settings.resolved_database_url)
        with Session(engine) as s, s.begin():
            s.execute(delete(Reservation).where(Reservation.conversation_id.in_(self.made)))
        engine.dispose()


@pytest.fixture
def residents(settings: Settings) -> Iterator[Residents]:
    made = Residents(settings)
    yield made
    made.close()


@pytest.fixture
def web(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        c.app.state.services.clock = lambda: OUT_OF_HOURS  # type: ignore[attr-defined]
        yield c


def buttons(replies: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [b for r in replies for b in r.get("buttons") or []]


def press(client: TestClient, who: str, replies: list[dict[str, Any]], title: str) -> list[dict[str, Any]]:
    found = [b for b in buttons(replies) if b["title"] == title]
    assert found, (title, [b["title"] for b in buttons(replies)])
    return say(client, who, found[0]["payload"])


def slots_from_data(department: str, day: date) -> list[str]:
    hours = load_office_hours(Settings().data_dir)
    return [f"{a}〜{b}" for a, b in hours.visit_slots(department, day)]


def book(client: TestClient, who: str) -> tuple[str, list[dict[str, Any]]]:
    """Out of hours mid-粗大ごみ: ask for a person, take the visit offer, the first day and time."""
    say(client, who, "/bulky_waste")
    offer = say(client, who, "/request_human")
    assert "対応時間外" in text_of(offer) and "窓口予約" in text_of(offer)
    assert {"/callback_request", "/counter_visit"} <= {b["payload"] for b in buttons(offer)}
    days = press(client, who, offer, "窓口の予約をする")
    assert "清掃リサイクル課の窓口" in text_of(days) and "平日 8:30〜17:15" in text_of(days)
    day_buttons = [b for b in buttons(days) if b["payload"].startswith("/counter_visit")]
    assert day_buttons and day_buttons[0]["title"] == "12月7日（月）"  # Sat 5 and Sun 6: closed
    assert not any("（土）" in b["title"] or "（日）" in b["title"] for b in day_buttons)
    times = say(client, who, day_buttons[0]["payload"])
    return day_buttons[0]["payload"], times


def test_out_of_hours_visit_booked_with_buttons(web: TestClient, staff: Staff, residents: Residents) -> None:
    who = residents.new()
    _, times = book(web, who)
    offered = [b["title"] for b in buttons(times) if b["payload"].startswith("/counter_visit")]
    # every slot comes from the office-hours data (平日 8:30–17:15 in 60-minute slots), none invented
    assert set(offered) <= set(slots_from_data("seiso", date(2026, 12, 7))) and offered
    assert "16:30〜17:30" not in offered  # past closing time: not offered
    confirm = press(web, who, times, offered[0])
    assert "この内容で予約しますか" in text_of(confirm)
    cards = [r["custom"]["card"] for r in confirm if (r.get("custom") or {}).get("card")]
    card = " ".join(c["title"] + " " + " ".join(c["lines"]) for c in cards)
    assert "窓口：清掃リサイクル課" in card and "12月7日（月）" in card and "粗大ごみ" in card
    done = press(web, who, confirm, "予約する")
    number = find_number(text_of(done))
    assert number and number.startswith("V-20261207-"), text_of(done)

    seiso, kumin, boss = staff.add("seiso"), staff.add("kumin"), staff.add(role="supervisor")
    listed = web.get("/staff/api/reservations?kind=counter_visit&date=2026-12-07", headers=seiso).json()
    [mine] = [r for r in listed if r["number"] == number]
    assert mine["resource"] == "seiso" and mine["details"]["department_name"] == "清掃リサイクル課"
    assert number not in [r["number"] for r in web.get("/staff/api/reservations", headers=kumin).json()]
    assert web.get(f"/staff/api/reservations/{number}", headers=kumin).status_code == 403
    assert web.post(f"/staff/api/reservations/{number}/cancel", headers=kumin, json={"reason": "x"}).status_code == 403
    assert web.get(f"/staff/api/reservations/{number}", headers=boss).status_code == 200
    # the queued conversation's packet shows the visit; closing with `visit` links it
    packet = web.get(f"/staff/api/conversations/web:{who}", headers=seiso).json()["packet"]
    assert [v["number"] for v in packet["visits"]] == [number]
    closed = web.post(f"/staff/api/conversations/web:{who}/close", headers=seiso, json={"outcome": "visit"}).json()
    assert closed["reservation"] == number
    detail = web.get(f"/staff/api/conversations/web:{who}", headers=seiso).json()
    assert any(number in m["text"] for m in detail["messages"] if m["author"] == "staff")
    assert any(a["action"] == "close" and number in (a["text"] or "") for a in detail["history"])


def test_resident_cancels_the_visit_like_other_reservations(web: TestClient, residents: Residents) -> None:
    who = residents.new()
    _, times = book(web, who)
    first = next(b for b in buttons(times) if b["payload"].startswith("/counter_visit"))
    done = press(web, who, say(web, who, first["payload"]), "予約する")
    number = find_number(text_of(done))
    assert number
    say(web, who, "/cancel")  # the 粗大ごみ form and the queued request go
    listed = say(web, who, "予約をキャンセルしたい")
    cards = [r["custom"]["card"] for r in listed if (r.get("custom") or {}).get("card")]
    assert any(number in line for c in cards for line in c["lines"]), listed
    pick = next(b for b in buttons(listed) if "窓口予約" in b["title"])
    assert "この内容でよろしいですか" in text_of(say(web, who, pick["payload"]))
    cancelled = say(web, who, "/affirm")
    assert f"受付番号 {number} の予約を取り消しました" in text_of(cancelled)
    # the place is free again: the next resident may take it
    again = say(web, residents.new(), first["payload"])
    assert "この内容で予約しますか" in text_of(again), text_of(again)


def test_two_residents_one_last_slot_exactly_one_wins(web: TestClient, residents: Residents) -> None:
    a, b = residents.new(), residents.new()
    _, times = book(web, a)
    first = next(x for x in buttons(times) if x["payload"].startswith("/counter_visit"))
    confirm = say(web, a, first["payload"])
    yes = next(x["payload"] for x in buttons(confirm) if x["title"] == "予約する")
    say(web, b, yes.replace('"confirm":"yes"', '"confirm":"no"'))  # b sees the same confirmation
    barrier = threading.Barrier(2)

    def confirm_for(who: str) -> str:
        barrier.wait()  # both presses leave together
        return text_of(say(web, who, yes))

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(confirm_for, (a, b)))
    won = [t for t in answers if "窓口予約が完了しました" in t]
    lost = [t for t in answers if "たった今、予約が入りました" in t]
    assert len(won) == 1 and len(lost) == 1, answers
    assert find_number(won[0]) is not None and find_number(lost[0]) is None


def test_a_stale_or_made_up_button_books_nothing(web: TestClient, residents: Residents) -> None:
    who = residents.new()
    say(web, who, "/bulky_waste")
    say(web, who, "/request_human")
    saturday = say(web, who, '/counter_visit{"date":"2026-12-05","time":"09:00","confirm":"yes"}')
    assert "予約をお受けできません" in text_of(saturday) and find_number(text_of(saturday)) is None
    night = say(web, who, '/counter_visit{"date":"2026-12-07","time":"20:00","confirm":"yes"}')
    assert "空いている時間" in text_of(night) and find_number(text_of(night)) is None


def test_in_hours_offer_only_after_a_long_wait(web: TestClient, residents: Residents) -> None:
    web.app.state.services.clock = lambda: IN_HOURS  # type: ignore[attr-defined]
    who = residents.new()
    say(web, who, "/bulky_waste")
    assert "番目にお待ちいただいています" in text_of(say(web, who, "/request_human"))  # (offered if the queue is long)
    from datetime import timedelta

    # (the request's time is the real one: the wait is measured from it)
    web.app.state.services.clock = lambda: datetime.now(JST) + timedelta(hours=1)  # type: ignore[attr-defined]
    later = say(web, who, "まだですか")
    assert {"/callback_request", "/counter_visit"} <= {b["payload"] for b in buttons(later)}


def test_dv_is_never_offered_a_visit_or_call(web: TestClient, residents: Residents) -> None:
    replies = say(web, residents.new(), "/dv_abuse")
    assert "/counter_visit" not in {b["payload"] for b in buttons(replies)}


def test_english_chat_books_a_visit(web: TestClient, residents: Residents) -> None:
    who = residents.new()
    say(web, who, "Hello, I need help with my garbage collection please")
    offer = say(web, who, "I want to talk to a staff member please")
    assert "Book a counter visit" in [b["title"] for b in buttons(offer)], text_of(offer)
    days = press(web, who, offer, "Book a counter visit")
    assert "Please choose a day" in text_of(days)
    day = next(b for b in buttons(days) if b["payload"].startswith("/counter_visit"))
    times = say(web, who, day["payload"])
    assert "Free times on" in text_of(times)
    slot = next(b for b in buttons(times) if b["payload"].startswith("/counter_visit"))
    confirm = say(web, who, slot["payload"])
    done = press(web, who, confirm, "Book it")
    assert "Your reservation number is V-" in text_of(done), text_of(done)
