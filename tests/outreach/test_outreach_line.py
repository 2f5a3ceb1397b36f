"""Outreach through the real LINE SDK against the local stand-in (CONTRACTS §7): sent once, only
with consent, never after an opt-out or in quiet hours, once with two runs at once, and a retried
push delivered once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.outreach.cli import run_once
from bot.store.db import make_async_engine, make_sessionmaker
from knowledge.bookings import Reservation
from knowledge.notices import NoticeOptout, utcnow

PUSH = "/v2/bot/message/push"


def pushes_to(standin, user: str) -> list:  # type: ignore[no-untyped-def]
    return [d for d in standin.delivered if d.via == "push" and d.to == user]


async def run(settings, now, **kw):  # type: ignore[no-untyped-def]
    return await run_once(settings, now, dry_run=kw.get("dry_run", False), wait=kw.get("wait", 10.0))


async def test_consented_resident_gets_the_renewal_notice_once(line_settings, standin, household, now) -> None:
    ids = household()
    first = await run(line_settings, now)
    assert first["rules"]["care_renewal"]["sent"] == 1
    pushed = pushes_to(standin, ids["line"])
    assert len(pushed) == 1 and pushed[0].retry_key
    text = pushed[0].messages[0]["text"]
    end = now.date() + timedelta(days=30)
    assert f"{end.year}年{end.month}月{end.day}日" in text
    assert "お知らせを止めて" in text  # every notice says how to stop it
    labels = [i["action"]["label"] for i in pushed[0].messages[-1]["quickReply"]["items"]]
    assert "更新の手続きを見る" in labels
    second = await run(line_settings, now + timedelta(hours=2))
    assert second["rules"]["care_renewal"]["sent"] == 0
    assert second["rules"]["care_renewal"]["skipped"]["already_sent"] == 1
    assert len(pushes_to(standin, ids["line"])) == 1


async def test_without_consent_nothing_is_sent(line_settings, standin, household, now) -> None:
    ids = household(consent=False)
    result = await run(line_settings, now)
    assert result["rules"]["care_renewal"]["skipped"]["no_consent"] == 1
    assert result["rules"]["care_renewal"]["sent"] == 0
    assert pushes_to(standin, ids["line"]) == []


async def test_a_deceased_resident_gets_nothing(line_settings, standin, household, now) -> None:
    ids = household(dead=True)
    result = await run(line_settings, now)
    assert result["rules"]["care_renewal"]["sent"] == 0
    assert pushes_to(standin, ids["line"]) == []


async def test_nothing_in_quiet_hours_then_sent_in_hours(line_settings, standin, household, now) -> None:
    ids = household()
    late = now.replace(hour=22)
    result = await run(line_settings, late)
    assert result["rules"]["care_renewal"]["skipped"]["quiet_hours"] == 1
    assert pushes_to(standin, ids["line"]) == []
    morning = (late + timedelta(days=1)).replace(hour=8, minute=5)
    assert (await run(line_settings, morning))["rules"]["care_renewal"]["sent"] == 1
    assert len(pushes_to(standin, ids["line"])) == 1


async def test_two_runs_at_once_send_once(line_settings, standin, household, now) -> None:
    ids = household()
    a, b = await asyncio.gather(run(line_settings, now), run(line_settings, now))
    sent = a["rules"]["care_renewal"]["sent"] + b["rules"]["care_renewal"]["sent"]
    assert sent == 1
    assert len(pushes_to(standin, ids["line"])) == 1


async def test_a_push_retried_after_a_failure_is_delivered_once(line_settings, standin, household, now) -> None:
    ids = household()
    standin.fail(PUSH, times=1, status=500)  # LINE answers 500 once: retried with backoff
    standin.hang(PUSH, 0.8, deliver=True)  # then accepted, but the answer is lost: retried, same key
    result = await run(line_settings.model_copy(), now, wait=30.0)
    pushed = pushes_to(standin, ids["line"])
    assert len(pushed) == 1
    keys = {c.header("X-Line-Retry-Key") for c in standin.calls_to(PUSH)}
    assert len(keys) == 1  # every attempt carried the same retry key
    assert len(standin.calls_to(PUSH)) >= 2
    assert result["rules"]["care_renewal"]["sent"] + result["rules"]["care_renewal"]["failed"] == 1


async def test_opted_out_resident_gets_nothing(line_settings, standin, household, now) -> None:
    ids = household()
    engine = make_async_engine(line_settings.resolved_database_url)
    async with make_sessionmaker(engine)() as db, db.begin():
        db.add(NoticeOptout(subject=f"resident:{ids['resident']}", topic="care", created_at=utcnow()))
    await engine.dispose()
    result = await run(line_settings, now)
    assert result["rules"]["care_renewal"]["skipped"]["opted_out"] == 1
    assert pushes_to(standin, ids["line"]) == []


async def test_the_day_before_a_booking_made_in_chat(line_settings, standin, now) -> None:
    user = "U" + "b" * 32
    engine = make_async_engine(line_settings.resolved_database_url)
    number = f"b{now.year}0001{now.microsecond}x"
    async with make_sessionmaker(engine)() as db, db.begin():
        db.add(
            Reservation(
                number=number,
                kind="bulky_waste",
                status="confirmed",
                conversation_id=f"line:{user}",
                channel="line",
                resource="chuo",
                service_date=now.date() + timedelta(days=2),
                quantity=1,
                details={},
            )
        )
    two_days = await run(line_settings, now)
    assert two_days["rules"]["bulky_tomorrow"]["due"] == 0
    day_before = await run(line_settings, now + timedelta(days=1))
    assert day_before["rules"]["bulky_tomorrow"]["sent"] == 1
    pushed = pushes_to(standin, user)
    assert len(pushed) == 1 and number in pushed[0].messages[0]["text"]
    async with make_sessionmaker(engine)() as db:
        await db.execute(select(Reservation).where(Reservation.number == number))
    await engine.dispose()


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        ("    colour: red\n", "colour"),
        ("    who: {member: {min_height: 3}}\n", "min_height"),
    ],
)
def test_a_rule_file_with_an_unknown_field_is_refused_naming_it(rules_file, broken, named) -> None:
    from knowledge.outreach_rules import load_rules
    from knowledge.suggestions import RuleError

    text = rules_file.read_text(encoding="utf-8").replace("    topic: care\n", "    topic: care\n" + broken, 1)
    if "who:" in broken:
        text = text.replace("    who: {member: {care_level: true}}\n", "", 1)
    rules_file.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError) as err:
        load_rules(rules_file)
    assert "care_renewal" in str(err.value) and named in str(err.value)
