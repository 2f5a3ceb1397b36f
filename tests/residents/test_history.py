"""A linked resident's history across channels and departments: reservations made in chat are
recorded in the same transaction, every interaction carries its department, and the staff
profile shows household, consents, history, reservations and suggestions, audited."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from bot.engine.testing import Conversation
from bot.settings import Settings
from knowledge.bookings import Reservation, ReservationCounter
from knowledge.residents import AuditLog, Interaction
from knowledge.residents_cli import import_residents_file
from tests.residents.conftest import write_json

pytestmark = pytest.mark.demo_mode  # the tests link residents through the demo's imported web links

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
STAFF = {"Authorization": "Bearer staff-secret"}


def small_file(tag: str) -> dict[str, Any]:
    """CONTRACTS §4: one household (a young child and a mother aged 82 with 要支援1), linked on the web."""
    return {
        "households": [
            {"id": f"H-{tag}", "address": "デモ区中央1-1-1",
             "members": [
                 {"id": f"R1-{tag}", "name": "山田 花子", "birth_date": "1990-04-01", "relation_to_head": "head"},
                 {"id": f"R2-{tag}", "name": "山田 蓮", "birth_date": "2024-02-10", "relation_to_head": "child"},
                 {"id": f"R3-{tag}", "name": "山田 トメ", "birth_date": "1944-05-05", "relation_to_head": "mother",
                  "care_level": "要支援1"}]}],
        "consents": [{"resident_id": f"R1-{tag}", "scopes": ["suggestions"]}],
        "links": [{"resident_id": f"R1-{tag}", "channel": "web", "user_id": f"hanako-{tag}"}],
    }  # fmt: skip


@pytest.fixture
def linked(settings: Settings, tmp_path: Path, tag: str) -> tuple[str, str]:
    """(resident id, web sender) of the imported small file."""
    import_residents_file(write_json(tmp_path / "residents.json", small_file(tag)), settings.resolved_database_url)
    return f"R1-{tag}", f"hanako-{tag}"


@pytest.fixture
async def no_reservations(services: Any) -> None:
    services.clock = lambda: NOW
    async with services.sessionmaker() as session, session.begin():
        await session.execute(delete(Reservation))
        await session.execute(delete(ReservationCounter))


async def history(services: Any, resident_id: str) -> list[Interaction]:
    async with services.sessionmaker() as session:
        rows = await session.scalars(
            select(Interaction).where(Interaction.resident_id == resident_id).order_by(Interaction.id)
        )
        return list(rows)


async def book_facility(conv: Conversation) -> str:
    await conv.say("中央区民館の会議室Aを予約したい")
    await conv.say("12月10日")
    await conv.press("午後 13:00〜17:00（800円）")
    await conv.say("10名です")
    if "お名前を教えてください" in conv.text:  # an unlinked sender gives a contact (M10)
        await conv.say("山田花子")
        await conv.say("090-1234-5678")
    await conv.press("はい")
    found = re.search(r"受付番号は (S-\d{8}-\d{4})", conv.text)
    assert found, conv.text
    return found.group(1)


@pytest.mark.usefixtures("no_reservations")
async def test_a_linked_residents_reservation_is_in_their_history(
    dispatcher: Any, services: Any, linked: tuple[str, str]
) -> None:
    rid, sender = linked
    conv = Conversation(dispatcher, sender_id=sender, channel="web")
    number = await book_facility(conv)
    rows = await history(services, rid)
    assert [(r.kind, r.intent, r.department) for r in rows] == [
        ("inquiry", "facility_booking", "kumin_katsudo"),  # the question that opened the form
        ("reservation", "facility_booking", "kumin_katsudo"),
    ]
    booked = rows[-1]
    assert booked.details == {"number": number}
    assert booked.channel == "web" and booked.conversation_id == f"web:{sender}"
    async with services.sessionmaker() as session:
        reservation = await session.scalar(select(Reservation).where(Reservation.number == number))
    assert reservation is not None and reservation.resident_id == rid


@pytest.mark.usefixtures("no_reservations")
async def test_an_unlinked_senders_reservation_records_no_interaction(dispatcher: Any, services: Any, tag: str) -> None:
    conv = Conversation(dispatcher, sender_id=f"stranger-{tag}", channel="web")
    number = await book_facility(conv)
    async with services.sessionmaker() as session:
        reservation = await session.scalar(select(Reservation).where(Reservation.number == number))
        recorded = await session.scalars(
            select(Interaction).where(Interaction.conversation_id == f"web:stranger-{tag}")
        )
        assert reservation is not None and reservation.resident_id is None
        assert list(recorded) == []


@pytest.mark.usefixtures("no_reservations")
async def test_a_handoff_is_filed_under_the_department_of_the_topic(
    dispatcher: Any, services: Any, linked: tuple[str, str]
) -> None:
    rid, sender = linked
    conv = Conversation(dispatcher, sender_id=sender, channel="web")
    await conv.say("粗大ごみを出したい")
    await conv.say("職員と話したい")
    assert "職員" in conv.text
    rows = await history(services, rid)
    assert [(r.kind, r.department) for r in rows] == [("inquiry", "seiso"), ("handoff", "seiso")]


def test_staff_profile_shows_household_history_and_reservations_and_is_audited(
    client: TestClient, settings: Settings, linked: tuple[str, str]
) -> None:
    rid, sender = linked
    settings.staff_token = "staff-secret"
    services = client.app.state.services  # type: ignore[attr-defined]
    services.clock = lambda: NOW

    def say(text: str) -> str:
        res = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
        assert res.status_code == 200
        return "\n".join(m["text"] for m in res.json())

    say("中央区民館の和室を予約したい")
    say('/inform{"date":"2026-12-11"}')
    say('/inform{"slot":"night"}')
    say('/inform{"people":8}')
    found = re.search(r"受付番号は (S-\d{8}-\d{4})", say("/affirm"))
    assert found
    url = f"/staff/api/residents/{rid}/profile"
    assert client.post(url, json={"staff_id": "s-042", "reason": "  "}, headers=STAFF).status_code == 422
    body = {"staff_id": "s-042", "reason": "問い合わせ対応", "conversation_id": f"web:{sender}"}
    res = client.post(url, json=body, headers=STAFF)
    assert res.status_code == 200
    profile = res.json()

    mother = next(m for m in profile["members"] if m["relation_to_head"] == "mother")
    assert (mother["name"], mother["age"], mother["care_level"]) == ("山田 トメ", 82, "要支援1")
    assert next(m for m in profile["members"] if m["is_self"])["id"] == rid
    assert profile["consents"][0]["scope"] == "suggestions" and profile["consents"][0]["status"] == "given"
    latest = profile["interactions"][0]
    assert (latest["kind"], latest["reservation_number"], latest["channel"]) == ("reservation", found.group(1), "web")
    assert latest["department"] == "kumin_katsudo" and latest["department_name"] == "地域振興課 施設予約係"
    assert latest["intent_title"]
    [reservation] = profile["reservations"]
    assert (reservation["number"], reservation["kind"], reservation["date"], reservation["status"]) == (
        found.group(1),
        "facility_booking",
        "2026-12-11",
        "confirmed",
    )

    async def reads() -> list[tuple[str, str, str | None]]:
        async with services.sessionmaker() as session:
            rows = await session.execute(
                select(AuditLog.actor, AuditLog.why, AuditLog.conversation_id).where(
                    AuditLog.resident_id == rid, AuditLog.action == "read_profile", AuditLog.actor != "system"
                )
            )
            return [tuple(r) for r in rows]  # type: ignore[misc]

    assert client.portal.call(reads) == [("staff:s-042", "問い合わせ対応", f"web:{sender}")]  # type: ignore[union-attr]


async def test_the_suggestion_history_names_the_offered_service(
    chat: Any, services: Any, linked: tuple[str, str], fixed_today: date
) -> None:
    from bot.staff.residents import staff_profile
    from knowledge.residents import Resident

    rid, sender = linked
    conv = chat(sender)
    await conv.say("一時預かりを利用したい")
    await conv.press("今は結構です")
    async with services.sessionmaker() as session:
        me = await session.get(Resident, rid)
        assert me is not None
        profile = await staff_profile(session, me, catalog=services.knowledge["catalog"], today=fixed_today)
    assert [(s["rule"], s["title"], s["status"]) for s in profile["suggestions"]] == [
        ("double_care", "介護の相談", "declined")
    ]
    assert profile["interactions"][0]["department"] == "hoiku"


async def test_a_catalog_only_procedure_is_in_the_history_like_any_other(
    dispatcher: Any, services: Any, settings: Settings, linked: tuple[str, str]
) -> None:
    """The suggestion hook takes its procedure intents from the loaded catalog: a procedure added
    only to $DATA_DIR/knowledge/procedures.yml is recorded as an inquiry, under its department."""
    from knowledge.loader import load_knowledge
    from tests.handlers.conftest import BICYCLE, write_local_catalog

    write_local_catalog(settings.data_dir, bicycle_parking=BICYCLE)
    load_knowledge(services)
    rid, sender = linked
    conv = Conversation(dispatcher, sender_id=sender, channel="web")
    await conv.say("/bicycle_parking")
    rows = await history(services, rid)
    assert [(r.kind, r.intent, r.department) for r in rows] == [("inquiry", "bicycle_parking", "seiso")]
