"""通報 in a real headless Chromium: the widget's photo upload and location, the receipt; then the
staff page lists it with the photo and a map link, and a status change reaches the widget."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import ARGS, CHROMIUM
from tests.live import live_server as run_live_server
from tests.reports.test_photos import phone_photo

STAFF_TOKEN = "reports-browser-token"
SAKURADAI = {"latitude": 35.6500, "longitude": 139.6600}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_live_server(tmp_path_factory.mktemp("live-reports"), staff_token=STAFF_TOKEN) as base:
        yield base


def shot(page, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(tmp_path / name))
    if os.environ.get("MADOGUCHI_SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["MADOGUCHI_SCREENSHOT_DIR"], name))


def test_a_report_with_a_photo_from_the_widget_to_the_staff_page_and_back(live_server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    photo = tmp_path / "pothole.jpg"
    photo.write_bytes(phone_photo())
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 390, "height": 844}, geolocation=SAKURADAI, permissions=["geolocation"]
            )
            resident = context.new_page()
            resident.goto(live_server + "/")
            resident.get_by_role("button", name="デモ区 チャット窓口").click()
            resident.wait_for_selector("[data-role=bot]", timeout=15_000)
            resident.get_by_label("メッセージ").fill("道路に穴が空いてる")
            resident.get_by_role("button", name="送信").click()
            resident.locator("[data-role=bot]", has_text="写真があれば").first.wait_for(timeout=15_000)
            resident.locator("#madoguchi-widget input[type=file]").set_input_files(str(photo))
            resident.locator("[data-role=bot]", has_text="写真を受け取りました").first.wait_for(timeout=15_000)
            resident.get_by_role("button", name="現在地を送る").click()
            resident.locator(".mdg-report-ask").get_by_role("button", name="送る").click()
            resident.locator("[data-role=bot]", has_text="この内容でよろしいですか").first.wait_for(timeout=15_000)
            assert "桜台" in resident.locator("[data-role=bot]").last.inner_text()
            resident.locator("[data-role=bot]").last.get_by_role("button", name="はい").click()
            receipt = resident.locator("[data-role=bot]", has_text="受付番号")
            receipt.first.wait_for(timeout=15_000)
            found = re.search(r"r\d{12}", receipt.first.inner_text())
            assert found is not None
            number = found.group(0)
            shot(resident, tmp_path, "report-widget-390.png")

            staff = browser.new_page(viewport={"width": 1280, "height": 800})
            staff.goto(live_server + "/staff/reports")
            staff.fill("#token", STAFF_TOKEN)
            staff.get_by_role("button", name="接続").click()
            staff.locator(f"#reports li[data-number={number}]").click()
            staff.locator("#title", has_text=number).wait_for(timeout=10_000)
            staff.locator("#photo:not([hidden])").wait_for(timeout=10_000)
            link = staff.get_by_role("link", name="地図アプリで開く")
            assert "openstreetmap.org" in (link.get_attribute("href") or "")
            staff.select_option("#new-status", "done")
            staff.fill("#status-note", "補修が終わりました")
            staff.get_by_role("button", name="状態を更新して住民に知らせる").click()
            staff.locator("#history li", has_text="完了").first.wait_for(timeout=10_000)
            shot(staff, tmp_path, "report-staff-1280.png")
            told = resident.locator("[data-role=staff]", has_text=number)
            told.first.wait_for(timeout=15_000)
            assert "完了" in told.first.inner_text() and "補修が終わりました" in told.first.inner_text()
        finally:
            browser.close()
