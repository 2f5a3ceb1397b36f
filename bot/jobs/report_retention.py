"""Retention of 通報の写真 (called by `python -m bot.retention`).

- RETENTION_PHOTO_DAYS (180): the photo of a report created before the cutoff is deleted from
  PHOTO_DIR and the report keeps a `photo_removed` entry in its history (the report itself, its
  category, place and status stay: they are the department's record, not the resident's data).
- Uploads never attached to a report (the resident stopped, or the widget uploaded and left) go
  after ORPHAN_HOURS, whatever the setting: nobody will ever look at them.

Dry run unless `apply`; the counts are `report_photos` and `orphan_uploads`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from bot.store.db import make_async_engine, make_sessionmaker
from knowledge import photos
from knowledge.reports import Report, ReportEvent, ReportUpload

ORPHAN_HOURS = 24
BATCH = 500


async def _old_photos(
    sessionmaker: async_sessionmaker[AsyncSession], directory: Path, cutoff: datetime, *, apply: bool
) -> int:
    done = 0
    while True:
        async with sessionmaker() as session, session.begin():
            rows = list(
                await session.scalars(
                    select(Report).where(Report.created_at < cutoff, Report.photo.is_not(None)).limit(BATCH)
                )
            )
            if not apply:
                return len(rows)
            for report in rows:
                photos.remove(directory, str(report.photo))
                report.photo = None
                session.add(ReportEvent(report_id=report.id, kind="photo_removed", note="", at=datetime.now(UTC)))
            done += len(rows)
        if len(rows) < BATCH:
            return done


async def _orphans(
    sessionmaker: async_sessionmaker[AsyncSession], directory: Path, cutoff: datetime, *, apply: bool
) -> int:
    async with sessionmaker() as session, session.begin():
        stale = (ReportUpload.report_id.is_(None), ReportUpload.created_at < cutoff)
        rows = list(await session.scalars(select(ReportUpload).where(*stale)))
        if apply:
            for upload in rows:
                photos.remove(directory, upload.file_name)
                await session.delete(upload)
        return len(rows)


async def purge_photos(
    sessionmaker: async_sessionmaker[AsyncSession], directory: Path, days: int, now: datetime, *, apply: bool
) -> dict[str, int]:
    counts = {"report_photos": 0, "orphan_uploads": 0}
    if days:
        counts["report_photos"] = await _old_photos(
            sessionmaker, directory, (now - timedelta(days=days)).astimezone(UTC), apply=apply
        )
    counts["orphan_uploads"] = await _orphans(
        sessionmaker, directory, (now - timedelta(hours=ORPHAN_HOURS)).astimezone(UTC), apply=apply
    )
    return counts


async def run(settings: Settings, now: datetime, apply: bool) -> dict[str, int]:
    """`python -m bot.retention`'s part for photos, with its own engine."""
    engine = make_async_engine(settings.resolved_database_url)
    try:
        return await purge_photos(
            make_sessionmaker(engine), settings.resolved_photo_dir, settings.retention_photo_days, now, apply=apply
        )
    finally:
        await engine.dispose()
