"""The broadcast page in Chromium: compose, live count, preview, approval by a second account, sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from bot.staff.accounts import add_account
from bot.store.db import make_sync_engine
from tests.live import ARGS, CHROMIUM, live_server

pytestmark = pytest.mark.browser


def test_compose_count_preview_approve_and_send(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("OUTREACH_QUIET_START_HOUR", "0")  # no quiet hours: the test runs at any hour
    monkeypatch.setenv("OUTREACH_QUIET_END_HOUR", "0")
    data = tmp_path / "live"
    with live_server(data, staff_token="unused-shared-token", demo=True) as base:
        with Session(make_sync_engine(f"sqlite:///{data / 'madoguchi.db'}")) as s, s.begin():
            composer = add_account(s, "sato", "佐藤 一郎")
            approver = add_account(s, "suzuki", "鈴木 花子")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            a = browser.new_page(viewport={"width": 1280, "height": 900})
            a.goto(base + "/staff/broadcasts")
            a.fill("#token", composer)
            a.click("#login button")
            a.fill("#b-title", "ダブルケアの相談会")
            a.fill("#b-text", "12月に地域包括支援センターで相談会を開きます。")
            a.fill("#b-address", "中央")
            a.fill("#b-min", "75")
            expect(a.locator("#count")).to_contain_text("1人にお送りします")
            expect(a.locator("#preview")).to_contain_text("お知らせを止めて")
            a.click("#b-submit")
            expect(a.locator("#broadcasts li").first).to_contain_text("承認待ち")
            a.screenshot(path=str(tmp_path / "broadcast-composed.png"), full_page=True)

            b = browser.new_context().new_page()
            b.goto(base + "/staff/broadcasts")
            b.fill("#token", approver)
            b.click("#login button")
            b.locator("#broadcasts li").first.locator("button.approve").click()
            expect(b.locator("#broadcasts li").first).to_contain_text("配信済み")
            expect(b.locator("#broadcasts li").first).to_contain_text("送信 1")
            b.screenshot(path=str(tmp_path / "broadcast-sent.png"), full_page=True)
            browser.close()
