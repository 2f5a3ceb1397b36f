"""The staff console's 住民情報 panel in a real headless Chromium: a linked demo resident asks for
a person, staff open the chat, state why they read the profile, and see the household; the read
is in the audit log with the staff id, the reason and the conversation."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from bot.staff.queues import reference
from knowledge.residents import age_on
from tests.live import ARGS, CHROMIUM
from tests.live import live_server as run_live_server

STAFF_TOKEN = "browser-staff-token-360"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base url, data dir) of a server with the demo residents loaded (web sender demo-hanako)."""
    data_dir = tmp_path_factory.mktemp("live360")
    with run_live_server(data_dir, staff_token=STAFF_TOKEN, demo=True) as base:
        yield base, data_dir


def say(base: str, sender: str, text: str) -> str:
    res = httpx.post(base + "/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=30)
    res.raise_for_status()
    return "\n".join(m.get("text", "") for m in res.json())


def test_staff_read_the_linked_residents_profile_with_a_reason(live_server: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, data_dir = live_server
    say(base, "demo-hanako", "一時預かりを利用したい")
    assert "職員におつなぎします" in say(base, "demo-hanako", "職員と話したい")
    say(base, "stranger-360", "職員と話したい")  # an anonymous chat: no profile to show

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            staff = browser.new_page(viewport={"width": 1280, "height": 800})
            staff.goto(base + "/staff")
            staff.fill("#token", STAFF_TOKEN)
            staff.fill("#staff-id", "s-042")
            staff.get_by_role("button", name="接続").click()

            staff.locator("#conversations li", has_text=reference("web:stranger-360")).click()
            expect(staff.locator("#title")).to_contain_text(reference("web:stranger-360"))
            expect(staff.get_by_role("button", name="住民情報を見る")).to_be_hidden()

            staff.locator("#conversations li", has_text=reference("web:demo-hanako")).click()
            expect(staff.locator("#title")).to_contain_text(reference("web:demo-hanako"))
            staff.get_by_role("button", name="住民情報を見る").click()
            staff.get_by_role("button", name="表示").click()  # no reason yet: refused in the page
            expect(staff.locator("#profile")).to_be_hidden()
            staff.get_by_label("閲覧の理由").fill("問い合わせ対応")
            staff.get_by_role("button", name="表示").click()

            panel = staff.locator("#profile")
            expect(panel).to_be_visible(timeout=10_000)
            mother = panel.locator("tr", has_text="山田 トメ")
            expect(mother).to_contain_text(f"{age_on(date(1944, 5, 5), date.today())}歳")  # 82 in late 2026
            expect(mother).to_contain_text("母")
            expect(mother).to_contain_text("要支援1")
            expect(panel.locator("tr", has_text="山田 花子")).to_contain_text("（本人）")
            expect(panel.locator("tr", has_text="関連サービスのご案内")).to_contain_text("同意あり")
            expect(panel.locator("tr", has_text="職員対応")).to_contain_text("Web")
            expect(panel.locator("tr", has_text="問い合わせ")).to_contain_text("子ども家庭課")
            expect(panel.locator("tr", has_text="介護の相談")).to_contain_text("案内済み")
            staff.screenshot(path=str(tmp_path / "staff-360.png"))
            if os.environ.get("MADOGUCHI_SCREENSHOT_DIR"):
                staff.screenshot(path=os.path.join(os.environ["MADOGUCHI_SCREENSHOT_DIR"], "staff-360.png"))

            staff.locator("#conversations li", has_text=reference("web:stranger-360")).click()
            expect(staff.locator("#title")).to_contain_text(reference("web:stranger-360"))
            expect(panel).to_be_hidden()  # leaving the chat clears the profile from the screen
            expect(staff.locator("#profile-body")).to_be_empty()
        finally:
            browser.close()

    with sqlite3.connect(data_dir / "madoguchi.db") as db:
        reads = db.execute(
            "SELECT actor, why, conversation_id FROM audit_log WHERE action = 'read_profile' AND actor != 'system'"
        ).fetchall()
    assert reads == [("staff:s-042", "問い合わせ対応", "web:demo-hanako")]
