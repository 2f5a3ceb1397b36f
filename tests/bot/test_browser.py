"""The demo page in a real headless Chromium: open the widget, send a message, see the reply."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, skip_unless_available

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

STAFF_TOKEN = "browser-staff-token"

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        skip_unless_available("Debian's chromium is not installed (apt-get install chromium)")
    data_dir = tmp_path_factory.mktemp("live")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"DATA_DIR": str(data_dir), "PORT": str(port), "HOST": "127.0.0.1", "STAFF_TOKEN": STAFF_TOKEN})
    subprocess.run([sys.executable, "-m", "bot.migrate"], cwd=REPO, env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [sys.executable, "server.py"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("server did not become ready within 60 s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
            page.wait_for_function("document.querySelectorAll('[data-role=bot]').length >= 2", timeout=15_000)
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
            resident.wait_for_function(
                "[...document.querySelectorAll('[data-role=bot]')].some(e => e.textContent.includes('職員におつなぎします'))",
                timeout=15_000,
            )
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
            resident.wait_for_function(
                "[...document.querySelectorAll('[data-role=staff]')].some(e => e.textContent.includes('市民課の担当です'))",
                timeout=15_000,
            )
            assert "引き継ぎました" in resident.locator("[data-role=staff]").first.inner_text()
        finally:
            browser.close()
