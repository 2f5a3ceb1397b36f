"""The staff console in Chromium (issue 14): a resident mid-form asks for a person in hours, the
department's staff see the packet with the form's slots, take over, reply and hand back, and the
bot resumes the form; out of hours a callback ticket is created, seen and closed; another
department cannot open a conversation; a supervisor transfers it. Screenshots at 1280 and 390 px.

The office hours are the test's own data file: 清掃リサイクル課 always on duty, 総合案内 never."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.live import ARGS, CHROMIUM
from tests.live import live_server as run_live_server

pytestmark = pytest.mark.browser
SHARED = "console-work-token"  # the shared token: a supervisor
HOURS = """general_department: sogo_annai
national_holidays: false
schedules:
  always: {label: 毎日 24時間, weekly: {mon: "00:00-24:00", tue: "00:00-24:00", wed: "00:00-24:00",
           thu: "00:00-24:00", fri: "00:00-24:00", sat: "00:00-24:00", sun: "00:00-24:00"}}
  never: {label: 対応時間なし}
default_schedule: never
departments: {seiso: always}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    data = tmp_path_factory.mktemp("work")
    (data / "knowledge").mkdir()
    (data / "knowledge" / "office_hours.yml").write_text(HOURS, encoding="utf-8")
    with run_live_server(data, staff_token=SHARED) as base:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env["DATA_DIR"] = str(data)
        tokens = {}
        for account, dept in (("seiso1", "seiso"), ("sogo1", "sogo_annai")):
            out = subprocess.run(
                [sys.executable, "-m", "bot.staff_accounts", "add", account, "職員", "--department", dept],
                cwd=REPO, env=env, check=True, capture_output=True, text=True,
            )  # fmt: skip
            tokens[dept] = out.stdout.strip().splitlines()[-1]  # the token alone on the last line
        DATA_DIRS[base] = str(data)
        yield base, tokens


DATA_DIRS: dict[str, str] = {}


def server_data_dir(base: str) -> str:
    return DATA_DIRS[base]


def shot(page: Any, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / name), full_page=True)
    if os.environ.get("MADOGUCHI_SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["MADOGUCHI_SCREENSHOT_DIR"], name), full_page=True)


def widget(browser: Any, base: str) -> Any:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(base + "/")
    page.get_by_role("button", name="デモ区 チャット窓口").click()
    page.wait_for_selector("[data-role=bot]", timeout=15_000)
    return page


def send(page: Any, text: str) -> None:
    page.get_by_label("メッセージ").fill(text)
    page.get_by_role("button", name="送信").click()


def console(browser: Any, base: str, token: str, width: int = 1280) -> Any:
    page = browser.new_page(viewport={"width": width, "height": 860})
    page.goto(base + "/staff")
    page.fill("#token", token)
    page.get_by_role("button", name="接続").click()
    return page


def test_in_hours_packet_take_reply_hand_back_resumes_the_form(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    base, tokens = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            resident = widget(browser, base)
            send(resident, "粗大ごみを出したい")
            resident.locator("[data-role=bot]", has_text="品物").first.wait_for(timeout=15_000)
            send(resident, "職員と話したい")
            resident.locator("[data-role=bot]", has_text="番目").first.wait_for(timeout=15_000)  # place in the queue

            staff = console(browser, base, tokens["seiso"])
            item = staff.locator("#conversations li", has_text="粗大ごみを出したい").first
            item.wait_for(timeout=10_000)
            assert "清掃リサイクル課" in item.inner_text() and "web-" not in item.inner_text()
            item.click()
            staff.locator("#packet", has_text="未入力").wait_for(timeout=10_000)
            assert "粗大ごみ" in staff.locator("#packet").inner_text()
            shot(staff, tmp_path, "console-packet-1280.png")
            staff.wait_for_selector("#take:not([disabled])", timeout=10_000)
            staff.keyboard.press("t")  # shortcut: take
            staff.wait_for_selector("#send:not([disabled])", timeout=10_000)
            staff.keyboard.press("r")  # shortcut: to the reply field
            staff.keyboard.type("清掃リサイクル課です。品物をうかがいます。")
            staff.keyboard.press("Enter")
            resident.locator("[data-role=staff]", has_text="品物をうかがいます").first.wait_for(timeout=15_000)
            staff.locator("#messages li.staff", has_text="品物をうかがいます").wait_for(timeout=10_000)
            staff.locator("#messages").click()  # focus out of the reply field
            staff.keyboard.press("h")  # shortcut: hand back
            staff.wait_for_selector("#take[disabled]", timeout=10_000)
            resident.locator("[data-role=staff]", has_text="職員の対応を終了").first.wait_for(timeout=15_000)
            resumed = resident.locator("[data-role=bot]", has_text="粗大ごみ収集").last  # the form again
            resumed.wait_for(timeout=15_000)
            assert resident.locator("[data-role=bot]", has_text="品物").count() >= 2
        finally:
            browser.close()


def test_out_of_hours_callback_other_department_and_transfer(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    base, tokens = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            caller = widget(browser, base)
            send(caller, "職員と話したい")
            caller.locator("[data-role=bot]", has_text="対応時間外").first.wait_for(timeout=15_000)
            caller.get_by_role("button", name="折り返し電話を依頼").last.click()
            for answer in ("山田花子", "090-1234-5678"):
                caller.locator("[data-role=bot]", has_text="教えてください").last.wait_for(timeout=15_000)
                send(caller, answer)
            caller.get_by_role("button", name="平日 午前（9時〜12時）").last.click()
            caller.locator("[data-role=bot]", has_text="ご用件").last.wait_for(timeout=15_000)
            send(caller, "転入の手続きについて")
            caller.get_by_role("button", name="はい").last.click()
            caller.locator("[data-role=bot]", has_text="受付番号 C-").first.wait_for(timeout=15_000)

            sogo = console(browser, base, tokens["sogo_annai"])
            ticket = sogo.locator("#callbacks li", has_text="山田花子").first
            ticket.wait_for(timeout=10_000)
            assert "090-1234-5678" in ticket.inner_text()
            ticket.get_by_role("button", name="完了").click()
            sogo.locator("#callbacks li", has_text="なし").wait_for(timeout=10_000)

            waiting = widget(browser, base)
            send(waiting, "職員と話したい")
            waiting.locator("[data-role=bot]", has_text="対応時間外").first.wait_for(timeout=15_000)
            other = console(browser, base, tokens["seiso"], width=390)
            other.locator("#signed-in").wait_for(timeout=10_000)
            listed = other.request.get(
                base + "/staff/api/conversations", headers={"Authorization": "Bearer " + tokens["seiso"]}
            )
            assert not [c for c in listed.json() if c["department"] == "sogo_annai"]
            conversation_id = sogo.request.get(
                base + "/staff/api/conversations", headers={"Authorization": "Bearer " + tokens["sogo_annai"]}
            ).json()[0]["id"]
            refused = other.request.get(
                base + "/staff/api/conversations/" + conversation_id,
                headers={"Authorization": "Bearer " + tokens["seiso"]},
            )
            assert refused.status == 403
            shot(other, tmp_path, "console-390.png")

            boss = console(browser, base, SHARED)
            boss.locator("#conversations li", has_text="総合案内").first.click()
            boss.wait_for_selector("#transfer:not([disabled])", timeout=10_000)
            boss.select_option("#transfer-to", "seiso")
            boss.fill("#transfer-note", "粗大ごみの件でした")
            boss.click("#transfer")
            waiting.locator("[data-role=staff]", has_text="清掃リサイクル課に引き継ぎました").first.wait_for(
                timeout=15_000
            )
            shot(boss, tmp_path, "console-supervisor-1280.png")
        finally:
            browser.close()


def test_password_sign_in_in_the_console(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, _ = server
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["DATA_DIR"] = server_data_dir(base)
    subprocess.run(
        [sys.executable, "-m", "bot.staff_accounts", "password", "seiso1"],
        cwd=REPO, env=env, input="a long enough passphrase\n", check=True, capture_output=True, text=True,
    )  # fmt: skip
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(base + "/staff")
            page.fill("#login-id", "seiso1")
            page.fill("#login-password", "wrong passphrase!")
            page.get_by_role("button", name="ログイン").click()
            expect(page.locator("#login-error")).to_contain_text("違います", timeout=10_000)
            page.fill("#login-password", "a long enough passphrase")
            page.get_by_role("button", name="ログイン").click()
            expect(page.locator("#signed-in")).to_contain_text("職員", timeout=10_000)
            page.reload()  # the session outlives a reload (the cookie), and the CSRF token comes from /me
            expect(page.locator("#logout")).to_be_visible(timeout=10_000)
            shot(page, tmp_path, "console-password-1280.png")
        finally:
            browser.close()


def test_the_analytics_page_renders_its_charts(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, tokens = server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/staff/analytics")
            page.fill("#token", tokens["seiso"])  # a staff account: not for it
            page.get_by_role("button", name="表示").click()
            expect(page.locator("#error")).to_contain_text("supervisor", timeout=10_000)
            page.fill("#token", SHARED)
            page.get_by_role("button", name="表示").click()
            expect(page.locator("img[data-chart]")).to_have_count(4, timeout=10_000)
            page.locator("img[data-chart=messages]").wait_for(timeout=10_000)
            assert page.locator("img[data-chart=messages]").evaluate("i => i.naturalWidth") > 0
            with page.expect_download() as download:
                page.get_by_role("button", name="CSVで保存").click()
            assert download.value.suggested_filename == "madoguchi-analytics.csv"
            shot(page, tmp_path, "analytics-1280.png")
        finally:
            browser.close()
