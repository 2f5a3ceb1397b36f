"""The staff console on a phone (390 px) in a real headless Chromium: one column, nothing wider
than the screen, labels on one line, statuses and reasons in Japanese, a DV chat first with 緊急."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.staff.queues import reference
from tests.live import ARGS, CHROMIUM
from tests.live import live_server as run_live_server

STAFF_TOKEN = "browser-staff-token-390"
WIDTH = 390

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_live_server(tmp_path_factory.mktemp("live390"), staff_token=STAFF_TOKEN, demo=True) as base:
        yield base


def say(base: str, sender: str, text: str) -> None:
    httpx.post(base + "/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=30).raise_for_status()


NO_OVERFLOW = f"document.documentElement.scrollWidth <= {WIDTH}"
# A label that wraps one character per line is much taller than one line of text.
ONE_LINE_LABELS = """() => [...document.querySelectorAll('button, .badge')]
  .filter(e => e.offsetParent !== null)
  .every(e => e.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(e).fontSize) + 16)"""


def test_staff_console_at_390px(live_server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base = live_server
    say(base, "demo-hanako", "職員と話したい")
    say(base, "victim-390", "/dv_abuse")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            staff = browser.new_page(viewport={"width": WIDTH, "height": 844})
            staff.goto(base + "/staff")
            staff.fill("#token", STAFF_TOKEN)
            staff.get_by_role("button", name="接続").click()

            first = staff.locator("#conversations li").first
            expect(first).to_contain_text("緊急", timeout=10_000)  # the DV chat leads the queue
            expect(first).to_contain_text("#" + reference("web:victim-390"))  # a reference, never the sender
            expect(first.locator(".badge.urgent")).to_have_text("緊急")
            expect(first).to_contain_text("待機中")
            expect(first).to_contain_text("理由: 緊急（DV・虐待）")
            expect(staff.locator("#conversations li", has_text=reference("web:demo-hanako"))).to_contain_text(
                "理由: 職員希望"
            )
            assert "pending_handoff" not in staff.locator("#conversations").inner_text()
            assert staff.evaluate(NO_OVERFLOW)
            assert staff.evaluate(ONE_LINE_LABELS)

            first.click()
            expect(staff.locator("#status")).to_have_text("状態: 待機中（理由: 緊急（DV・虐待））")
            staff.wait_for_selector("#take:not([disabled])", timeout=10_000)
            assert staff.evaluate(NO_OVERFLOW)

            staff.locator("#conversations li", has_text=reference("web:demo-hanako")).click()
            expect(staff.locator("#title")).to_contain_text(reference("web:demo-hanako"))
            staff.get_by_role("button", name="住民情報を見る").click()
            staff.get_by_label("閲覧の理由").fill("問い合わせ対応")
            staff.get_by_role("button", name="表示").click()
            expect(staff.locator("#profile")).to_be_visible(timeout=10_000)
            assert staff.evaluate(NO_OVERFLOW), staff.evaluate("document.documentElement.scrollWidth")
            assert staff.evaluate(ONE_LINE_LABELS)
            staff.screenshot(path=str(tmp_path / "staff-390.png"), full_page=True)
            box = staff.locator("#profile").bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
        finally:
            browser.close()
