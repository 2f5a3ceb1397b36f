"""The staff console in Chromium: find a reservation by the number a resident reads out on the
phone, cancel it with a reason, see it cancelled."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.live import ARGS, CHROMIUM
from tests.live import live_server as run_live_server

STAFF_TOKEN = "bookings-staff-token"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_live_server(tmp_path_factory.mktemp("live-bookings"), staff_token=STAFF_TOKEN) as base:
        yield base


def say(base: str, sender: str, text: str) -> list[dict[str, Any]]:
    res = httpx.post(base + "/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=30)
    res.raise_for_status()
    return res.json()  # type: ignore[no-any-return]


def first_button(replies: list[dict[str, Any]], starts: str) -> str:
    for reply in replies:
        for button in reply.get("buttons") or []:
            if button["payload"].startswith(starts):
                return str(button["payload"])
    raise AssertionError(f"no {starts} button in {replies}")


def book(base: str) -> str:
    """A 施設 booking through the chat on the first free day the form offers (any real date)."""
    sender = f"w-{uuid.uuid4().hex[:12]}"
    replies = say(base, sender, "中央区民館の会議室を5人で使いたい")
    for _ in range(4):  # answer what is asked with the first offered button
        text = " ".join(r.get("text", "") for r in replies)
        if "お名前" in text:
            break
        replies = say(base, sender, first_button(replies, "/inform"))
    say(base, sender, "山田花子です")
    say(base, sender, "090-1234-5678")
    done = " ".join(r.get("text", "") for r in say(base, sender, "/affirm"))
    assert "受付番号は " in done, done
    return done.split("受付番号は ")[1].split(" ")[0]


def test_staff_find_and_cancel_in_the_console(live_server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    number = book(live_server)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            staff = browser.new_page(viewport={"width": 1280, "height": 800})
            staff.goto(live_server + "/staff")
            staff.fill("#token", STAFF_TOKEN)
            staff.fill("#staff-id", "s-007")
            staff.get_by_role("button", name="接続").click()
            staff.fill("#booking-number", number.lower())  # as read out: lower case is fine
            staff.get_by_role("button", name="検索").click()
            expect(staff.locator("#booking")).to_contain_text(number)
            expect(staff.locator("#booking")).to_contain_text("予約中")
            staff.fill("#booking-reason", "電話で取消しの連絡")
            staff.get_by_role("button", name="この予約を取り消す").click()
            expect(staff.locator("#booking")).to_contain_text("取消")
            expect(staff.locator("#booking")).to_contain_text("staff:s-007：電話で取消しの連絡")
            expect(staff.get_by_role("button", name="この予約を取り消す")).to_have_count(0)
            staff.fill("#booking-number", "S-20991231-0999")
            staff.get_by_role("button", name="検索").click()
            expect(staff.locator("#booking")).to_contain_text("この受付番号の予約はありません")
        finally:
            browser.close()
    found = httpx.get(
        f"{live_server}/staff/api/reservations/{number}", headers={"Authorization": f"Bearer {STAFF_TOKEN}"}
    ).json()
    assert found["status"] == "cancelled"
