"""`python -m bot.outreach run [--now ISO-8601] [--dry-run]` (CONTRACTS §7).

Evaluates every rule at `now`, sends what is due and prints one JSON object on its last line. LINE
pushes are attempted before the command ends (retried with backoff for `--wait` seconds); a push
still undelivered then is counted `failed` and stays in the outbox, which the server keeps
retrying with the same `X-Line-Retry-Key`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.line_outbox import LineApi, LineTuning, Outbox, OutboxRow
from bot.channels.line_render import batches, render
from bot.engine.events import Reply
from bot.logs import configure
from bot.outreach.send import OutreachRun, run_rules
from bot.settings import Settings
from bot.store.db import make_async_engine, make_sessionmaker, migrate
from knowledge.outreach_rules import load_rules, rules_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.outreach", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="send the notices due now (or at --now)")
    run.add_argument("--now", help="ISO-8601 time to evaluate the rules at (default: the clock)")
    run.add_argument("--dry-run", action="store_true", help="count what is due; write and send nothing")
    run.add_argument("--wait", type=float, default=30.0, help="seconds to keep retrying LINE pushes")
    args = parser.parse_args(argv)
    settings = Settings()
    configure(settings.log_level)
    try:
        now = parse_now(args.now, settings.timezone)
    except ValueError as exc:
        parser.error(str(exc))
    url = settings.resolved_database_url
    if url.startswith("sqlite"):  # the embedded mode: bring its file up to date, as the server does
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate(url)
    result = asyncio.run(run_once(settings, now, dry_run=args.dry_run, wait=args.wait))
    print(json.dumps(result, ensure_ascii=False))
    return 0


def parse_now(value: str | None, timezone: str) -> datetime:
    if not value:
        return datetime.now(ZoneInfo(timezone))
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"--now: {value!r} is not an ISO-8601 time (e.g. 2026-12-04T10:00:00+09:00)") from None
    return now if now.tzinfo else now.replace(tzinfo=ZoneInfo(timezone))


async def run_once(settings: Settings, now: datetime, *, dry_run: bool, wait: float) -> dict[str, Any]:
    engine = make_async_engine(settings.resolved_database_url)
    sessionmaker = make_sessionmaker(engine)
    run = OutreachRun(settings, sessionmaker, list(load_rules(rules_path(settings.data_dir)).rules))
    outbox: Outbox | None = None
    api: LineApi | None = None
    line_rows: list[list[OutboxRow]] = []
    if settings.line_channel_access_token:
        tuning = LineTuning()
        api = LineApi(settings, tuning)
        outbox = Outbox(sessionmaker, api, tuning)

        async def write_line(db: AsyncSession, sender_id: str, replies: list[Reply]) -> None:
            rows = outbox.rows(recipient_id=sender_id, batches=batches(render(replies)))  # type: ignore[union-attr]
            db.add_all(rows)
            line_rows.append(rows)

        run.writers["line"] = write_line
    try:
        result = await run_rules(run, now, dry_run=dry_run)
        if outbox is not None and line_rows:
            await _deliver_line(outbox, run, line_rows, result, wait)
    finally:
        if outbox is not None:
            await outbox.stop()
        if api is not None:
            await api.close()
        await engine.dispose()
    return result


async def _deliver_line(
    outbox: Outbox, run: OutreachRun, line_rows: list[list[OutboxRow]], result: dict[str, Any], wait: float
) -> None:
    outbox.start()
    for _rule, channel, sender, _reply in run.written:
        if channel == "line":
            await outbox.send(sender)
    with contextlib.suppress(TimeoutError):
        await outbox.flush(timeout=wait)
    ids = [row.id for rows in line_rows for row in rows]
    async with run.sessionmaker() as db:
        status = dict((await db.execute(select(OutboxRow.id, OutboxRow.status).where(OutboxRow.id.in_(ids)))).all())
    line_written = [w for w in run.written if w[1] == "line"]
    for (rule_id, _channel, _sender, _reply), rows in zip(line_written, line_rows, strict=True):
        if any(status.get(row.id) != "sent" for row in rows):
            counts = result["rules"][rule_id]
            counts["sent"] -= 1
            counts["failed"] += 1


if __name__ == "__main__":
    sys.exit(main())
