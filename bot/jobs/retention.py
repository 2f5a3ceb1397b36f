"""`python -m bot.retention [--apply] [--now ISO]`: erase personal data older than the retention policy.

個人情報保護法 expects personal data that is no longer needed to be erased without delay; how long
each kind is needed is the municipality's decision, so every period is a setting (in days; 0 keeps
that category forever). Run daily (`deploy/madoguchi-retention.timer`). Without `--apply` it is a
dry run: it counts what would go and changes nothing. It prints one JSON object (counts per
category, the cutoffs, `"applied"`); the log carries counts only, never a text, name, phone or id.

- RETENTION_TRANSCRIPT_DAYS (365): conversations last updated before the cutoff, with their
  messages and handoffs, but only conversations back with the bot (status "bot") and without a
  pending or active handoff: one waiting for or talking to staff is kept however old. In the
  conversations that stay (a resident who writes again keeps the same id), messages older than the
  cutoff go too (`old_messages`), on the same condition. Web chat sessions (`web_sessions`) issued
  before the same cutoff go too.
- RETENTION_CONTACT_DAYS (90): reservations whose service date is more than N days before today
  (in TIMEZONE) lose the contact's name and phone (`details.contact`), the address
  (`details.address`) and a consultation's topic (`details.topic`); the row and the rest of its details (number, kind, status, dates, fee,
  items, town …) stay for statistics and for numbers quoted on the phone.
  `details.personal_data_removed_at` (the date) marks a row as done, so later runs skip it.
- RETENTION_LINE_DAYS (30): LINE outbox rows sent or failed (never pending ones) and webhook events
  received before the cutoff and never processed (`stale_line_events`: there should be none; when
  there are, an operator should find out why).
- RETENTION_LINK_DAYS (30): code attempts (`link_attempts`), and link codes used or expired,
  issued before the cutoff.

Not touched: `residents`, `households`, `consents`, `channel_identities`, `interactions`,
`suggestion_records` and `audit_log`. The resident record and the audit of who read or changed it
follow the municipality's records-management rules (文書管理規程, 保存期間), not this job.

Each category runs in its own transactions, at most BATCH_SIZE rows per transaction, so a first run
on a large table never holds one huge transaction; a category that fails is reported (and the exit
code is 1) while the others still run. Every delete repeats its conditions, and on PostgreSQL the
rows of a batch are locked (rows another transaction holds are skipped until the next run), so a
conversation that comes back to life while the job runs is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from bot.jobs import report_retention
from bot.jobs.jobs_lock import run_once
from bot.jobs.retention_steps import (
    BATCH_SIZE,
    CATEGORY_COUNTS,
    Counts,
    Sessionmaker,
    erase_contacts,
    erase_line,
    erase_links,
    erase_transcripts,
)
from bot.logs import configure, mask
from bot.settings import Settings
from bot.store.db import make_async_engine, make_sessionmaker, migrate

# `python -m bot.retention` runs this file as __main__; its records still belong under "bot"
log = logging.getLogger("bot.jobs.retention" if __name__ == "__main__" else __name__)


@dataclass(frozen=True, slots=True)
class Policy:
    """Days each category is kept; 0 keeps it forever. `timezone` decides what "today" is."""

    transcript_days: int = 365
    contact_days: int = 90
    line_days: int = 30
    link_days: int = 30
    timezone: str = "Asia/Tokyo"

    def __post_init__(self) -> None:
        for name in ("transcript_days", "contact_days", "line_days", "link_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 (keep forever) or more")

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            transcript_days=settings.retention_transcript_days,
            contact_days=settings.retention_contact_days,
            line_days=settings.retention_line_days,
            link_days=settings.retention_link_days,
            timezone=settings.timezone,
        )


def _reason(exc: Exception) -> str:
    """The first line of the database's own message: SQLAlchemy's text adds the statement and its
    bound values (conversation ids carry sender ids), PostgreSQL's DETAIL line key values."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return mask(lines[0])[:200] if lines else ""


def _before(now: datetime, days: int) -> datetime | None:
    # UTC: SQLite stores DateTime(timezone=True) as naive UTC text (the app writes utcnow())
    return None if days == 0 else (now - timedelta(days=days)).astimezone(UTC)


async def purge(
    sessionmaker: Sessionmaker, policy: Policy, now: datetime, apply: bool, *, batch_size: int = BATCH_SIZE
) -> dict[str, Any]:
    """Count (dry run) or erase (`apply`) what the policy no longer keeps at `now` (timezone-aware).

    Returns {"applied", "now", "policy", "cutoffs", "counts", "errors"}: cutoffs are None for a
    category kept forever; errors maps a category that failed to the exception's class name.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    tz = ZoneInfo(policy.timezone)
    today = now.astimezone(tz).date()
    now_utc = now.astimezone(UTC)
    transcripts = _before(now, policy.transcript_days)
    line = _before(now, policy.line_days)
    links = _before(now, policy.link_days)
    contacts = today - timedelta(days=policy.contact_days) if policy.contact_days else None

    jobs: dict[str, Callable[[Counts], Awaitable[None]] | None] = dict.fromkeys(CATEGORY_COUNTS)
    if transcripts is not None:
        jobs["transcripts"] = partial(erase_transcripts, sessionmaker, transcripts, apply=apply, batch_size=batch_size)
    if contacts is not None:
        jobs["contacts"] = partial(erase_contacts, sessionmaker, contacts, today, apply=apply, batch_size=batch_size)
    if line is not None:
        jobs["line"] = partial(erase_line, sessionmaker, line, apply=apply, batch_size=batch_size)
    if links is not None:
        jobs["links"] = partial(erase_links, sessionmaker, links, now_utc, apply=apply, batch_size=batch_size)
    counts: Counts = {}
    errors: dict[str, str] = {}
    for category, job in jobs.items():
        found = dict.fromkeys(CATEGORY_COUNTS[category], 0)
        if job is not None:
            try:
                await job(found)  # counts what is done batch by batch: a failure keeps the tally so far
            except Exception as exc:  # one failing category must not stop the others
                errors[category] = type(exc).__name__
                log.error("retention %s failed", category, extra={"error": type(exc).__name__, "detail": _reason(exc)})
        counts.update(found)
        log.info(
            "retention %s: %s",
            category,
            "erased" if apply else "dry run",
            extra={"category": category, "applied": apply, "counts": found, "kept_forever": job is None},
        )

    def shown(value: datetime | date | None) -> str | None:
        if isinstance(value, datetime):
            return value.astimezone(tz).isoformat()
        return value.isoformat() if value is not None else None

    return {
        "applied": apply,
        "now": now.astimezone(tz).isoformat(),
        "policy": {k: v for k, v in asdict(policy).items() if k != "timezone"},
        "cutoffs": {
            "transcripts": shown(transcripts),
            "contacts": shown(contacts),
            "line": shown(line),
            "links": shown(links),
        },
        "counts": counts,
        "errors": errors,
    }


def _parse_now(value: str, timezone: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(timezone))


async def _run(settings: Settings, now: datetime, apply: bool) -> dict[str, Any]:
    engine = make_async_engine(settings.resolved_database_url)
    try:
        return await purge(make_sessionmaker(engine), Policy.from_settings(settings), now, apply)
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.retention",
        description="Erase personal data older than the RETENTION_* settings (a dry run unless --apply).",
    )
    parser.add_argument("--apply", action="store_true", help="erase; without it, only count what would go")
    parser.add_argument(
        "--now",
        metavar="ISO",
        help="apply the policy as at this time, e.g. 2026-11-27T12:00:00+09:00 (no offset: TIMEZONE);"
        " with --apply it may not be in the future",
    )
    args = parser.parse_args(argv)
    settings = Settings()
    configure(settings.log_level)
    try:
        now = _parse_now(args.now, settings.timezone) if args.now else datetime.now(UTC)
    except ValueError:
        parser.error(f"--now: not an ISO date-time: {args.now!r}")
    if args.apply and now > datetime.now(UTC) + timedelta(minutes=5):
        parser.error("--apply with a --now in the future would erase data before its period ends")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with run_once(settings, "retention") as mine:  # two runs at once (several hosts' timers): one works
        if not mine:
            print(json.dumps({"skipped": "another retention run holds the lock"}))
            return 0
        migrate(settings.resolved_database_url)  # idempotent; the tables must be at head
        result = asyncio.run(_run(settings, now, args.apply))
        result["photos"] = asyncio.run(report_retention.run(settings, now, args.apply))  # 通報の写真
    print(json.dumps(result, ensure_ascii=False))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
