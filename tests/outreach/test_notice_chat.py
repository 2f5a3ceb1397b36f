"""Stopping, restarting and asking about notices in chat, and the command's output (CONTRACTS §7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.engine.testing import Conversation
from bot.outreach.cli import run_once
from bot.settings import Settings
from knowledge.notices import NoticeOptout

REPO = Path(__file__).resolve().parents[2]


async def optouts(services, subject: str) -> set[str]:  # type: ignore[no-untyped-def]
    async with services.sessionmaker() as db:
        return set(await db.scalars(select(NoticeOptout.topic).where(NoticeOptout.subject == subject)))


async def test_stop_one_topic_restart_and_ask(services, dispatcher) -> None:
    chat = Conversation(dispatcher, sender_id="t-notice-chat-1")
    subject = "conv:web:t-notice-chat-1"
    await chat.say("予約の前日のお知らせはいらない")
    assert await optouts(services, subject) == {"reminder"}
    await chat.say("どんなお知らせが届きますか")
    assert "停止中" in chat.text and "介護" in chat.text  # what is on, what is off, and why
    await chat.say("お知らせを全部止めて")
    assert await optouts(services, subject) == {"reminder", "*"}
    await chat.say("お知らせを再開して")
    assert await optouts(services, subject) == set()


async def test_the_stop_button_of_a_notice_stops_its_topic(services, dispatcher) -> None:
    chat = Conversation(dispatcher, sender_id="t-notice-chat-2")
    await chat.say('/notice_settings{"notice_action":"stop","notice_topic":"reminder"}')
    assert await optouts(services, "conv:web:t-notice-chat-2") == {"reminder"}


@pytest.mark.demo_mode
async def test_a_web_resident_who_stopped_in_chat_gets_nothing(settings, services, dispatcher, household, now) -> None:
    ids = household(line=False, web=True)
    chat = Conversation(dispatcher, sender_id=ids["web"])
    await chat.say("介護のお知らせを止めてください")
    assert await optouts(services, f"resident:{ids['resident']}") == {"care"}
    result = await run_once(settings, now, dry_run=False, wait=1.0)
    assert result["rules"]["care_renewal"]["skipped"]["opted_out"] == 1
    await chat.say("お知らせを再開して")
    result = await run_once(settings, now, dry_run=False, wait=1.0)
    assert result["rules"]["care_renewal"]["sent"] == 1  # written into the resident's web chat
    async with services.sessionmaker() as db:
        from bot.store.models import Message

        texts = list(await db.scalars(select(Message.text).where(Message.conversation_id == f"web:{ids['web']}")))
    assert any("介護認定の有効期間" in t for t in texts)


def test_the_command_prints_the_contract_object_on_its_last_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["DATA_DIR"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "bot.outreach", "run", "--now", "2026-12-04T10:00:00+09:00", "--dry-run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["now"].startswith("2026-12-04T10:00:00")
    for counts in result["rules"].values():
        assert {"due", "sent", "failed", "skipped"} <= set(counts)
        assert {"no_consent", "opted_out", "quiet_hours", "already_sent", "no_channel"} <= set(counts["skipped"])
    bad = subprocess.run(
        [sys.executable, "-m", "bot.outreach", "run", "--now", "yesterday"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "--now" in bad.stderr


def test_settings_default_quiet_hours() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (s.outreach_quiet_start_hour, s.outreach_quiet_end_hour) == (21, 8)
