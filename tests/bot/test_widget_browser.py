"""The widget in a real headless Chromium (390 px, a phone): old answers' buttons cannot be pressed,
a reload restores the conversation from the cursor, and a long card is shown from its heading.

Waits use locators only: the page's CSP forbids the eval that wait_for_function would need."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import ARGS, CHROMIUM
from tests.live import live_server as run_live_server

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_live_server(tmp_path_factory.mktemp("widget"), staff_token="widget-browser-token") as base:
        yield base


def test_old_buttons_are_disabled_and_a_reload_restores_the_chat(live_server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport=PHONE)  # type: ignore[arg-type]
            page.goto(live_server + "/")
            page.get_by_role("button", name="デモ区 チャット窓口").click()
            bots = page.locator("[data-role=bot]")
            greeting_buttons = bots.first.locator(".mdg-buttons button")
            greeting_buttons.first.wait_for(timeout=15_000)  # the greeting offers choices
            expect(greeting_buttons.first).to_be_enabled()

            page.get_by_label("メッセージ").fill("児童手当について教えて")
            page.get_by_role("button", name="送信").click()
            card = page.locator(".mdg-card").last
            card.wait_for(timeout=15_000)
            for i in range(greeting_buttons.count()):  # a new answer: the old question is closed
                expect(greeting_buttons.nth(i)).to_be_disabled()
            newest = bots.last.locator(".mdg-buttons button")
            if newest.count():
                expect(newest.first).to_be_enabled()

            heading = card.locator("strong").first  # the long card is shown from its heading
            log_box, heading_box = page.locator(".mdg-log").bounding_box(), heading.bounding_box()
            assert log_box is not None and heading_box is not None
            assert log_box["y"] <= heading_box["y"] <= log_box["y"] + log_box["height"] - heading_box["height"]
            shot(page, tmp_path, "widget-card-390.png")

            before = [m.strip() for m in page.locator(".mdg-msg").all_inner_texts()]
            page.reload()
            restored = page.locator(".mdg-msg")
            expect(restored).to_have_count(len(before), timeout=15_000)  # the panel stays open, history returns
            assert [m.strip() for m in restored.all_inner_texts()] == before
            old = page.locator("[data-role=bot]").first.locator(".mdg-buttons button")
            for i in range(old.count()):
                expect(old.nth(i)).to_be_disabled()
            shot(page, tmp_path, "widget-reloaded-390.png")
            old.first.scroll_into_view_if_needed()
            shot(page, tmp_path, "widget-old-buttons-390.png")

            page.get_by_label("メッセージ").fill("ありがとう")  # the same conversation goes on
            page.get_by_role("button", name="送信").click()
            expect(page.locator("[data-role=me]")).to_have_count(2, timeout=15_000)
            expect(page.locator(".mdg-msg")).to_have_count(len(before) + 2, timeout=15_000)
        finally:
            browser.close()


def shot(page, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(tmp_path / name))
    if os.environ.get("MADOGUCHI_SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["MADOGUCHI_SCREENSHOT_DIR"], name))
