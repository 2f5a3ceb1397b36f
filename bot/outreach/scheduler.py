"""The outreach rules run inside the server every `OUTREACH_INTERVAL_SECONDS` (0: never; a
cron-style deployment calls `python -m bot.outreach run` instead). Every worker may run it: each
notice is claimed once in the database, so two workers never send one twice, and a restart loses
nothing (what was not claimed is due at the next run)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from bot.outreach.send import OutreachRun, run_rules
from knowledge.base import required

log = logging.getLogger(__name__)


class OutreachScheduler:
    def __init__(self, services: Any) -> None:
        self.services = services
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.services.settings.outreach_interval_seconds > 0:
            self._task = asyncio.create_task(self._loop(), name="outreach-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run_now(self) -> dict[str, Any]:
        svc = self.services
        run = OutreachRun(svc.settings, svc.sessionmaker, list(required(svc.knowledge.outreach, "outreach").rules))
        run.writers = dict(svc.outbox_writers)
        result = await run_rules(run, svc.now())
        for _rule, channel, sender, reply in run.written:  # after the commits: wake the channel
            await svc.deliver(channel, sender, [reply])
        from bot.staff.broadcasts import send_approved  # approved during quiet hours: now

        await send_approved(svc)
        return result

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.services.settings.outreach_interval_seconds)
            try:
                result = await self.run_now()
                sent = sum(c["sent"] for c in result["rules"].values())
                log.info("outreach run", extra={"sent": sent})
            except Exception:  # a database hiccup: try again at the next interval
                log.exception("outreach run failed")
