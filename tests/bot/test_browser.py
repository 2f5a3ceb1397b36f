"""The demo page in a real headless Chromium: open the widget, send a message, see the reply."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import ARGS, CHROMIUM
from tests.live import live_server as run_live_server

STAFF_TOKEN = "browser-staff-token"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_live_server(tmp_path_factory.mktemp("live"), staff_token=STAFF_TOKEN) as base:
        yield base


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 800}])
def test_widget_sends_a_message_and_shows_the_reply(live_server: str, viewport: dict[str, int], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
            page.goto(live_server + "/")
            page.get_by_role("button", name="デモ区 チャット窓口").click()
            page.wait_for_selector("[data-role=bot]", timeout=15_000)  # the greeting
            page.get_by_label("メッセージ").fill("何ができますか")
            page.get_by_role("button", name="送信").click()
            page.wait_for_selector("[data-role=me]", timeout=5_000)
            # locators, not wait_for_function: the page's CSP forbids eval, which that would need
            page.locator("[data-role=bot]").nth(1).wait_for(timeout=15_000)
            last = page.locator("[data-role=bot]").last.inner_text()
            assert "お手伝いできます" in last
            panel = page.locator(".mdg-panel").bounding_box()
            assert panel is not None and panel["width"] <= viewport["width"]
            page.screenshot(path=str(tmp_path / f"widget-{viewport['width']}.png"))
            if os.environ.get("MADOGUCHI_SCREENSHOT_DIR"):
                page.screenshot(
                    path=os.path.join(os.environ["MADOGUCHI_SCREENSHOT_DIR"], f"widget-{viewport['width']}.png")
                )
        finally:
            browser.close()


def test_staff_console_takes_over_and_replies_to_the_widget(live_server: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            resident = browser.new_page(viewport={"width": 390, "height": 844})
            resident.goto(live_server + "/")
            resident.get_by_role("button", name="デモ区 チャット窓口").click()
            resident.wait_for_selector("[data-role=bot]", timeout=15_000)
            resident.get_by_role("button", name="職員と話す").first.click()
            resident.locator("[data-role=bot]", has_text="職員におつなぎします").first.wait_for(timeout=15_000)
            staff = browser.new_page(viewport={"width": 1280, "height": 800})
            staff.goto(live_server + "/staff")
            staff.fill("#token", STAFF_TOKEN)
            staff.get_by_role("button", name="接続").click()
            staff.locator("#conversations li").first.click()
            staff.wait_for_selector("#take:not([disabled])", timeout=10_000)
            staff.click("#take")
            staff.wait_for_selector("#send:not([disabled])", timeout=10_000)
            staff.fill("#reply-text", "市民課の担当です。ご用件をどうぞ。")
            staff.click("#send")
            resident.locator("[data-role=staff]", has_text="市民課の担当です").first.wait_for(timeout=15_000)
            assert "引き継ぎました" in resident.locator("[data-role=staff]").first.inner_text()
        finally:
            browser.close()
