"""The staff console in Chromium: the 窓口予約 a resident booked in chat are listed for the
department's staff, with the conversation's packet; the OIDC button shows only when configured."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.live import ARGS, CHROMIUM
from tests.live import live_server as run_live_server

STAFF_TOKEN = "visits-staff-token"
SHOT = os.environ.get("STAFF_SCREENSHOT_DIR", "")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_live_server(tmp_path_factory.mktemp("live-visits"), staff_token=STAFF_TOKEN) as base:
        yield base


def say(base: str, sender: str, text: str) -> list[dict[str, Any]]:
    res = httpx.post(base + "/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=30)
    res.raise_for_status()
    return res.json()  # type: ignore[no-any-return]


def press_first(
    base: str, sender: str, replies: list[dict[str, Any]], prefix: str = "/counter_visit"
) -> list[dict[str, Any]]:
    payload = next(b["payload"] for r in replies for b in r.get("buttons") or [] if b["payload"].startswith(prefix))
    return say(base, sender, payload)


def book_visit(base: str) -> str:
    """A resident mid-粗大ごみ asks for a person, then books a counter visit (the first free slot)."""
    sender = f"w-{uuid.uuid4().hex[:12]}"
    say(base, sender, "/bulky_waste")
    say(base, sender, "/request_human")
    days = say(base, sender, '/counter_visit{"dept":"seiso"}')  # the offer's button (whatever the hour now)
    confirm = press_first(base, sender, press_first(base, sender, days))
    done = " ".join(
        r.get("text", "") for r in press_first(base, sender, confirm, '/counter_visit{"dept":"seiso","date"')
    )
    assert "受付番号は " in done, done
    return done.split("受付番号は ")[1].split(" ")[0]


def test_console_lists_the_departments_visits(live_server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    number = book_visit(live_server)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            staff = browser.new_page(viewport={"width": 1280, "height": 900})
            staff.goto(live_server + "/staff")
            expect(staff.locator("#oidc-login")).to_be_hidden()  # not configured here
            staff.fill("#token", STAFF_TOKEN)
            staff.get_by_role("button", name="接続").click()
            expect(staff.locator("#visits")).to_contain_text(number)
            expect(staff.locator("#visits")).to_contain_text("清掃リサイクル課")
            staff.locator("#visits li", has_text=number).click()
            expect(staff.locator("#booking")).to_contain_text("窓口予約")
            expect(staff.locator("#packet")).to_contain_text(number)  # the queued chat's packet
            if SHOT:
                staff.screenshot(path=os.path.join(SHOT, "staff_console_visits_1280.png"), full_page=True)
        finally:
            browser.close()
