"""RETENTION_PHOTO_DAYS: old reports lose their photo file (the report stays); orphan uploads go."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy import select

from bot.jobs.report_retention import purge_photos
from knowledge import photos
from knowledge.reports import Report, ReportUpload


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="JPEG")
    return out.getvalue()


async def test_old_photos_and_orphan_uploads_are_erased(services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    old_name, new_name, orphan_name = (photos.store(tmp_path, jpeg()) for _ in range(3))
    number = f"r{uuid.uuid4().hex[:12]}"
    async with services.sessionmaker() as s, s.begin():
        for suffix, name, age in (("o", old_name, 200), ("n", new_name, 10)):
            s.add(
                Report(
                    number=number + suffix,
                    category="road",
                    department="doboku",
                    description="",
                    channel="web",
                    conversation_id="web:x",
                    photo=name,
                    created_at=now - timedelta(days=age),
                    updated_at=now,
                )
            )
        s.add(
            ReportUpload(
                ref=uuid.uuid4().hex, conversation_id="web:x", file_name=orphan_name, created_at=now - timedelta(days=2)
            )
        )
    dry = await purge_photos(services.sessionmaker, tmp_path, 180, now, apply=False)
    assert dry["report_photos"] >= 1 and dry["orphan_uploads"] >= 1
    assert photos.path_of(tmp_path, old_name) is not None  # a dry run changes nothing
    await purge_photos(services.sessionmaker, tmp_path, 180, now, apply=True)
    assert photos.path_of(tmp_path, old_name) is None and photos.path_of(tmp_path, orphan_name) is None
    assert photos.path_of(tmp_path, new_name) is not None
    async with services.sessionmaker() as s:
        old = await s.scalar(select(Report).where(Report.number == number + "o"))
        assert old is not None and old.photo is None
