"""A resident calls to cancel: staff find the reservation by the number read out on the phone and
cancel it with a reason; the place is freed and the staff id is kept. Also in the console page."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from knowledge.bookings import Reservation, ReservationCounter
from tests.bot.test_handoff import TOKEN, say, staff_client  # noqa: F401  (fixture)

AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def book_gym(client: TestClient) -> str:
    client.app.state.services.clock = lambda: NOW  # type: ignore[attr-defined]
    sender = f"t-{uuid.uuid4().hex[:10]}"
    for text in ("12月9日の午前に体育館を20人で使いたい", "山田花子です", "090-1234-5678", "/affirm"):
        replies = say(client, sender, text)
    done = " ".join(r.get("text", "") for r in replies)
    assert "受付番号は S-20261209-" in done, done
    return done.split("受付番号は ")[1].split(" ")[0]


@pytest.fixture
def clean(staff_client: TestClient) -> TestClient:  # noqa: F811
    """No reservations left by an earlier test (PostgreSQL keeps one database)."""

    async def wipe() -> None:
        async with staff_client.app.state.services.sessionmaker() as s, s.begin():  # type: ignore[attr-defined]
            await s.execute(delete(Reservation))
            await s.execute(delete(ReservationCounter))

    staff_client.portal.call(wipe)  # type: ignore[union-attr]
    return staff_client


def test_staff_find_and_cancel_a_reservation(clean: TestClient) -> None:
    number = book_gym(clean)
    spoken = number.lower().replace("-", "")  # "s202612090001", as read out on the phone
    found = clean.get(f"/staff/api/reservations/{spoken}", headers=AUTH)
    assert found.status_code == 200 and found.json()["number"] == number and found.json()["status"] == "confirmed"
    assert clean.post(f"/staff/api/reservations/{number}/cancel", headers=AUTH, json={}).status_code == 422
    done = clean.post(
        f"/staff/api/reservations/{number}/cancel", headers=AUTH, json={"reason": "電話で連絡", "staff_id": "sato"}
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "cancelled" and body["details"]["cancellation"] == {
        "by": "staff:sato",
        "reason": "電話で連絡",
    }
    again = clean.post(f"/staff/api/reservations/{number}/cancel", headers=AUTH, json={"reason": "二重"})
    assert again.status_code == 409
    # the place is free again: the same slot can be booked
    assert book_gym(clean) != number


def test_unknown_number_and_no_token(clean: TestClient) -> None:
    assert clean.get("/staff/api/reservations/S-20261209-0999", headers=AUTH).status_code == 404
    assert (
        clean.post("/staff/api/reservations/S-20261209-0999/cancel", headers=AUTH, json={"reason": "x"}).status_code
        == 404
    )
    assert clean.get("/staff/api/reservations/S-20261209-0001").status_code == 401
