"""`python -m bot.retention`: what the policy no longer keeps goes, nothing else does.

SQLite always; PostgreSQL where DATABASE_URL is set. The tests' clock is in 2001, so the rows other
tests write (at today's date) are never old enough to count, and the PostgreSQL database the whole
run shares can be used as it is; `db` first removes the rows earlier tests here left (all before 2010).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.line_outbox import OutboxRow, PendingEvent
from bot.jobs.retention import Policy, purge
from bot.logs import JsonFormatter
from bot.settings import Settings
from bot.store.db import make_async_engine, make_sessionmaker, migrate
from bot.store.models import Conversation, Handoff, Message
from knowledge.bookings import Reservation
from knowledge.residents import AuditLog, Household, Interaction, LinkAttempt, LinkCode, Resident, WebSession
from tests.conftest import REPO

JST = ZoneInfo("Asia/Tokyo")
NOW = datetime(2001, 11, 27, 12, 0, tzinfo=JST)
ANCIENT = datetime(2010, 1, 1, tzinfo=UTC)  # everything these tests write is older
POLICY = Policy(transcript_days=365, contact_days=90, line_days=30, link_days=30)
NAME = "窓口花子"
PHONE = "090-3141-5926"
SECRET_TEXT = "息子の件で相談したいです"
ADDRESS = "デモ区本町1-2-3"

Sessionmaker = async_sessionmaker[AsyncSession]


def aged(days: int, *, hours: int = 0) -> datetime:
    """The UTC time `days` days (and `hours`) before NOW, as the app writes it (utcnow())."""
    return (NOW - timedelta(days=days, hours=hours)).astimezone(UTC)


OUTSIDE = 1  # an hour past the cutoff: goes
INSIDE = -1  # an hour before it: stays


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Sessionmaker]:
    engine = make_async_engine(settings.resolved_database_url)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        for stmt in (
            delete(Message).where(Message.created_at < ANCIENT),
            delete(Handoff).where(Handoff.requested_at < ANCIENT),
            delete(Conversation).where(Conversation.updated_at < ANCIENT),
            delete(WebSession).where(WebSession.created_at < ANCIENT),
            delete(Reservation).where(Reservation.service_date < ANCIENT.date()),
            delete(OutboxRow).where(OutboxRow.created_at < ANCIENT),
            delete(PendingEvent).where(PendingEvent.received_at < ANCIENT),
            delete(LinkAttempt).where(LinkAttempt.at < ANCIENT),
            delete(LinkCode).where(LinkCode.issued_at < ANCIENT),
        ):
            await session.execute(stmt)
    yield sessionmaker
    await engine.dispose()


@dataclass
class Seeded:
    gone: dict[str, set[Any]] = field(default_factory=dict)  # table: keys the policy removes
    kept: dict[str, set[Any]] = field(default_factory=dict)  # table: keys it keeps
    senders: list[str] = field(default_factory=list)
    old_reservation: int = 0
    young_reservation: int = 0

    def add(self, table: str, key: Any, *, goes: bool) -> None:
        (self.gone if goes else self.kept).setdefault(table, set()).add(key)


def tag() -> str:
    return uuid.uuid4().hex[:12]


def personal_details() -> dict[str, Any]:
    return {
        "contact": {"name": NAME, "phone": PHONE},
        "address": ADDRESS,
        "topic": f"{NAME}の母の物忘れ",
        "town": "本町",
        "items": [{"name": "ソファ", "fee": 800}],
        "total_fee": 800,
    }


async def seed(sessionmaker: Sessionmaker) -> Seeded:
    s = Seeded()
    async with sessionmaker() as session, session.begin():
        # conversations: (status, age in days, hours past the cutoff, open handoff status, goes)
        for status, days, hours, handoff, goes in (
            ("bot", 365, OUTSIDE, None, True),
            ("bot", 365, OUTSIDE, "closed", True),
            ("bot", 400, 0, None, True),
            ("bot", 365, INSIDE, None, False),
            ("bot", 3650, 0, "pending", False),
            ("bot", 3650, 0, "active", False),
            ("human", 3650, 0, None, False),
            ("pending_handoff", 3650, 0, None, False),
        ):
            sender = f"U{tag()}"
            cid = f"line:{sender}"
            s.senders.append(sender)
            at = aged(days, hours=hours)
            session.add(
                Conversation(id=cid, channel="line", sender_id=sender, status=status, created_at=at, updated_at=at)
            )
            s.add("conversations", cid, goes=goes)
            await session.flush()
            for direction, author, text in (
                ("in", "resident", f"{SECRET_TEXT} {NAME} {PHONE}"),
                ("out", "bot", "ご用件を承りました。"),
            ):
                message = Message(
                    conversation_id=cid, direction=direction, channel="line", author=author, text=text, created_at=at
                )
                session.add(message)
                await session.flush()
                s.add("messages", message.id, goes=goes)
            if handoff is not None:
                handoff_row = Handoff(conversation_id=cid, reason="requested", status=handoff, requested_at=at)
                session.add(handoff_row)
                await session.flush()
                s.add("handoffs", handoff_row.id, goes=goes)

        for hours, goes in ((OUTSIDE, True), (INSIDE, False)):
            token = f"{tag()}{tag()}"
            session.add(WebSession(token_hash=token, created_at=aged(365, hours=hours)))
            s.add("web_sessions", token, goes=goes)

        # today in Tokyo is 2001-11-27: 08-28 is 91 days before (stripped), 08-29 exactly 90 (kept)
        for service_date, details in (
            (date(2001, 8, 28), personal_details()),
            (date(2001, 8, 29), personal_details()),
            (date(2001, 3, 1), {"town": "本町", "personal_data_removed_at": "2001-06-01"}),  # done before
        ):
            reservation = Reservation(
                number=f"G-{tag()}",
                kind="bulky_waste",
                status="confirmed",
                conversation_id=f"web:{tag()}",
                channel="web",
                resource="north",
                service_date=service_date,
                details=details,
                created_at=aged(120),
            )
            session.add(reservation)
            await session.flush()
            if service_date == date(2001, 8, 28):
                s.old_reservation = reservation.id
            elif service_date == date(2001, 8, 29):
                s.young_reservation = reservation.id

        for status, hours, goes in (
            ("sent", OUTSIDE, True),
            ("failed", OUTSIDE, True),
            ("sent", 24 * 300, True),
            ("pending", 24 * 300, False),  # never delivered: never deleted
            ("sent", INSIDE, False),
        ):
            outbox = OutboxRow(
                recipient_id=s.senders[0],
                messages=[{"type": "text", "text": f"{NAME}様 {PHONE}"}],
                retry_key=str(uuid.uuid4()),
                next_attempt_at=aged(30, hours=hours),
                status=status,
                created_at=aged(30, hours=hours),
            )
            session.add(outbox)
            await session.flush()
            s.add("line_outbox", outbox.id, goes=goes)
        for hours, goes in ((OUTSIDE, True), (INSIDE, False)):
            event_id = tag()
            event = {"type": "message", "message": {"type": "text", "text": SECRET_TEXT}}
            session.add(PendingEvent(webhook_event_id=event_id, event=event, received_at=aged(30, hours=hours)))
            s.add("line_pending_events", event_id, goes=goes)

        household = Household(id=f"h-{tag()}", address=ADDRESS, updated_at=aged(3650))
        resident = Resident(
            id=f"r-{tag()}",
            household_id=household.id,
            name=NAME,
            birth_date=date(1960, 4, 1),
            relation_to_head="head",
            updated_at=aged(3650),
        )
        session.add_all([household, resident])
        await session.flush()
        for hours, goes in ((OUTSIDE, True), (INSIDE, False)):
            attempt = LinkAttempt(channel="line", user_id=s.senders[0], success=False, at=aged(30, hours=hours))
            session.add(attempt)
            await session.flush()
            s.add("link_attempts", attempt.id, goes=goes)
        for days, hours, used, expires_in, goes in (
            (30, OUTSIDE, True, 0, True),  # used
            (30, OUTSIDE, False, 0, True),  # expired unused
            (30, OUTSIDE, False, 365, False),  # neither used nor expired yet
            (30, INSIDE, True, 0, False),  # used, but too recent
        ):
            issued = aged(days, hours=hours)
            code = LinkCode(
                resident_id=resident.id,
                code_hash=tag(),
                issued_by="staff-1",
                issued_at=issued,
                expires_at=issued + timedelta(minutes=30, days=expires_in),
                used_at=issued + timedelta(minutes=5) if used else None,
            )
            session.add(code)
            await session.flush()
            s.add("link_codes", code.id, goes=goes)

        # never touched, however old
        session.add(
            AuditLog(actor="system", action="link", why="link code:line", resident_id=resident.id, at=aged(3650))
        )
        session.add(Interaction(resident_id=resident.id, kind="inquiry", created_at=aged(3650)))
        s.add("residents", resident.id, goes=False)
    return s


EXPECTED = {
    "conversations": 3,
    "messages": 6,
    "handoffs": 1,
    "old_messages": 0,
    "web_sessions": 1,
    "reservations_personal_data_removed": 1,
    "line_outbox": 3,
    "stale_line_events": 1,
    "link_attempts": 1,
    "link_codes": 2,
}
NOTHING = dict.fromkeys(EXPECTED, 0)

KEYS: dict[str, Any] = {
    "conversations": Conversation.id,
    "messages": Message.id,
    "handoffs": Handoff.id,
    "web_sessions": WebSession.token_hash,
    "line_outbox": OutboxRow.id,
    "line_pending_events": PendingEvent.webhook_event_id,
    "link_attempts": LinkAttempt.id,
    "link_codes": LinkCode.id,
    "residents": Resident.id,
}


async def present(sessionmaker: Sessionmaker, seeded: Seeded, *, skip: str = "") -> dict[str, set[Any]]:
    """Which of the seeded keys are still in the database, per table (but `skip`)."""
    found: dict[str, set[Any]] = {}
    async with sessionmaker() as session:
        for table, key in KEYS.items():
            if table == skip:
                continue
            mine = seeded.gone.get(table, set()) | seeded.kept.get(table, set())
            found[table] = set(await session.scalars(select(key).where(key.in_(mine))))
    return found


async def details_of(sessionmaker: Sessionmaker, reservation_id: int) -> dict[str, Any]:
    async with sessionmaker() as session:
        row = await session.get(Reservation, reservation_id)
        assert row is not None
        return dict(row.details)


async def test_dry_run_counts_and_changes_nothing(db: Sessionmaker) -> None:
    seeded = await seed(db)
    before = await present(db, seeded)
    result = await purge(db, POLICY, NOW, apply=False)
    assert result["applied"] is False
    assert result["counts"] == EXPECTED
    assert result["errors"] == {}
    assert result["cutoffs"] == {
        "transcripts": "2000-11-27T12:00:00+09:00",
        "contacts": "2001-08-29",
        "line": "2001-10-28T12:00:00+09:00",
        "links": "2001-10-28T12:00:00+09:00",
    }
    assert await present(db, seeded) == before
    assert "contact" in await details_of(db, seeded.old_reservation)


async def test_apply_removes_exactly_what_is_past_the_policy(db: Sessionmaker) -> None:
    seeded = await seed(db)
    result = await purge(db, POLICY, NOW, apply=True, batch_size=2)  # several batches per table
    assert result["applied"] is True
    assert result["counts"] == EXPECTED
    assert result["errors"] == {}
    left = await present(db, seeded)
    for table in KEYS:
        assert left[table] == seeded.kept.get(table, set()), table
    again = await purge(db, POLICY, NOW, apply=True)
    assert again["counts"] == NOTHING


async def test_open_handoffs_and_staff_conversations_are_kept_however_old(db: Sessionmaker) -> None:
    seeded = await seed(db)
    await purge(db, Policy(transcript_days=1, contact_days=0, line_days=0, link_days=0), NOW, apply=True)
    async with db() as session:
        rows = (await session.execute(select(Conversation.id, Conversation.status))).all()
        statuses = {status for cid, status in rows if cid in seeded.kept["conversations"]}
        open_handoffs = set(
            await session.scalars(
                select(Handoff.status).where(Handoff.conversation_id.in_(seeded.kept["conversations"]))
            )
        )
    assert statuses == {"bot", "human", "pending_handoff"}
    assert open_handoffs == {"pending", "active"}
    assert len({cid for cid, _ in rows} & seeded.kept["conversations"]) == 4  # all but the young one
    # every message of a kept conversation is kept with it
    left = await present(db, seeded)
    assert len(left["messages"]) == 2 * 4


async def test_reservations_lose_contact_and_address_but_keep_the_rest(db: Sessionmaker) -> None:
    seeded = await seed(db)
    first = await purge(db, POLICY, NOW, apply=True)
    assert first["counts"]["reservations_personal_data_removed"] == 1
    details = await details_of(db, seeded.old_reservation)
    assert details == {
        "town": "本町",
        "items": [{"name": "ソファ", "fee": 800}],
        "total_fee": 800,
        "personal_data_removed_at": "2001-11-27",
    }
    async with db() as session:
        row = await session.get(Reservation, seeded.old_reservation)
        assert row is not None and row.number.startswith("G-") and row.status == "confirmed"
        assert row.service_date == date(2001, 8, 28)
    assert await details_of(db, seeded.young_reservation) == personal_details()  # 90 days: not yet
    later = await purge(db, POLICY, NOW + timedelta(days=3), apply=True)
    assert later["counts"]["reservations_personal_data_removed"] == 1  # the young one's turn, only it
    assert (await details_of(db, seeded.old_reservation))["personal_data_removed_at"] == "2001-11-27"
    again = await purge(db, POLICY, NOW + timedelta(days=3), apply=False)
    assert again["counts"]["reservations_personal_data_removed"] == 0


async def test_today_is_the_municipality_s_date(db: Sessionmaker) -> None:
    seeded = await seed(db)
    just_after_midnight = datetime(2001, 11, 27, 0, 30, tzinfo=JST)  # still 26 November in UTC
    result = await purge(db, POLICY, just_after_midnight.astimezone(UTC), apply=True)
    assert result["cutoffs"]["contacts"] == "2001-08-29"
    assert "contact" not in await details_of(db, seeded.old_reservation)


async def test_a_policy_of_zero_keeps_everything(db: Sessionmaker) -> None:
    seeded = await seed(db)
    before = await present(db, seeded)
    forever = Policy(transcript_days=0, contact_days=0, line_days=0, link_days=0)
    result = await purge(db, forever, NOW + timedelta(days=36500), apply=True)
    assert result["counts"] == NOTHING
    assert result["cutoffs"] == {"transcripts": None, "contacts": None, "line": None, "links": None}
    assert await present(db, seeded) == before
    assert "contact" in await details_of(db, seeded.old_reservation)


async def test_one_category_at_zero_leaves_the_others_working(db: Sessionmaker) -> None:
    seeded = await seed(db)
    result = await purge(db, Policy(transcript_days=0), NOW, apply=True)
    assert result["counts"] == {**EXPECTED, "conversations": 0, "messages": 0, "handoffs": 0, "web_sessions": 0}
    left = await present(db, seeded)
    assert left["conversations"] == seeded.gone["conversations"] | seeded.kept["conversations"]
    assert left["line_outbox"] == seeded.kept["line_outbox"]


async def test_the_log_carries_counts_only(db: Sessionmaker, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    seeded = await seed(db)
    await purge(db, POLICY, NOW, apply=False)
    await purge(db, POLICY, NOW, apply=True, batch_size=2)
    ours = [r for r in caplog.records if r.name.startswith("bot")]
    assert any(getattr(r, "counts", None) == {"line_outbox": 3, "stale_line_events": 1} for r in ours)
    formatter = JsonFormatter()
    for record in ours:
        line = formatter.format(record) + repr(record.__dict__)
        for secret in (NAME, PHONE, SECRET_TEXT, ADDRESS, *seeded.senders):
            assert secret not in line, record.getMessage()


async def test_a_failing_category_is_reported_and_the_others_still_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    url = f"sqlite:///{tmp_path / 'broken.db'}"  # its own database: a table is dropped
    migrate(url)
    engine = make_async_engine(url)
    sessionmaker = make_sessionmaker(engine)
    try:
        seeded = await seed(sessionmaker)
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE line_outbox"))
        result = await purge(sessionmaker, POLICY, NOW, apply=True)
        assert result["errors"] == {"line": "OperationalError"}
        assert result["counts"] == {**EXPECTED, "line_outbox": 0, "stale_line_events": 0}
        left = await present(sessionmaker, seeded, skip="line_outbox")
        assert left["link_codes"] == seeded.kept["link_codes"]
        everything = seeded.gone["line_pending_events"] | seeded.kept["line_pending_events"]
        assert left["line_pending_events"] == everything  # the category stops at its failure
    finally:
        await engine.dispose()
    failed = [r for r in caplog.records if r.name == "bot.jobs.retention" and r.levelno == logging.ERROR]
    assert [getattr(r, "error", None) for r in failed] == ["OperationalError"]
    assert "no such table" in getattr(failed[0], "detail", "")


def test_the_command_prints_one_json_object(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'retention.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "RETENTION_"))}
    env.update(DATABASE_URL=url, DATA_DIR=str(tmp_path), RETENTION_LINE_DAYS="7")

    def run(*args: str) -> dict[str, Any]:
        proc = subprocess.run(
            [sys.executable, "-m", "bot.retention", "--now", "2026-11-27T12:00:00+09:00", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert '"logger": "bot.jobs.retention"' in proc.stderr  # the counts, as JSON log lines
        result: dict[str, Any] = json.loads(proc.stdout)  # stdout is the JSON object and nothing else
        return result

    dry = run()  # also creates and migrates the database
    assert dry["applied"] is False
    assert dry["counts"] == NOTHING
    assert dry["policy"] == {"transcript_days": 365, "contact_days": 90, "line_days": 7, "link_days": 30}
    assert dry["cutoffs"]["line"] == "2026-11-20T12:00:00+09:00"

    async def add_old_event() -> None:
        engine = make_async_engine(url)
        async with make_sessionmaker(engine)() as session, session.begin():
            received = datetime(2026, 11, 1, tzinfo=UTC)
            session.add(PendingEvent(webhook_event_id="ev-1", event={"type": "follow"}, received_at=received))
        await engine.dispose()

    asyncio.run(add_old_event())
    assert run()["counts"]["stale_line_events"] == 1
    applied = run("--apply")
    assert applied["applied"] is True
    assert applied["counts"]["stale_line_events"] == 1
    assert run()["counts"]["stale_line_events"] == 0

    future = subprocess.run(
        [sys.executable, "-m", "bot.retention", "--apply", "--now", "2999-01-01T00:00:00+09:00"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert future.returncode == 2 and "future" in future.stderr and future.stdout == ""


async def test_old_messages_of_a_conversation_still_in_use_go(db: Sessionmaker) -> None:
    """A resident who writes again keeps the same conversation id: the conversation stays, its
    messages older than the cutoff go (not while staff are involved)."""
    cid = f"line:U{tag()}"
    staff_cid = f"line:U{tag()}"
    async with db() as session, session.begin():
        for conv_id, status in ((cid, "bot"), (staff_cid, "human")):
            session.add(
                Conversation(
                    id=conv_id,
                    channel="line",
                    sender_id=conv_id[5:],
                    status=status,
                    created_at=aged(800),
                    updated_at=aged(1),
                )
            )
        await session.flush()
        for conv_id in (cid, staff_cid):
            for days in (800, 400, 10):
                session.add(
                    Message(
                        conversation_id=conv_id,
                        direction="in",
                        channel="line",
                        author="resident",
                        text=SECRET_TEXT,
                        created_at=aged(days),
                    )
                )
    dry = await purge(db, POLICY, NOW, apply=False)
    assert dry["counts"]["old_messages"] == 2
    done = await purge(db, POLICY, NOW, apply=True)
    assert done["counts"]["old_messages"] == 2 and done["counts"]["conversations"] == 0
    async with db() as session:
        left = list(
            await session.scalars(select(Message.conversation_id).where(Message.conversation_id.in_((cid, staff_cid))))
        )
        conversations = set(await session.scalars(select(Conversation.id).where(Conversation.id.in_((cid, staff_cid)))))
    assert left.count(cid) == 1 and left.count(staff_cid) == 3
    assert conversations == {cid, staff_cid}
