"""Personal staff accounts: each staff member signs in with a token of their own, and what they do
(take-overs, 住民情報 reads, link codes) is recorded under their account, whatever the body says.
The shared STAFF_TOKEN keeps working; a disabled or rotated token stops at once; tokens are shown
once by the command line and never logged."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketDisconnect

from bot.settings import Settings
from bot.staff.accounts import StaffAccount, add_account, disable_account, rotate_token
from bot.staff.queues import reference
from bot.store.db import make_sync_engine
from bot.store.models import Handoff
from knowledge.residents import AuditLog, LinkCode
from knowledge.residents_import import import_residents_file
from tests.bot.live_ws import receive
from tests.conftest import REPO
from tests.residents.conftest import TODAY, tagged_demo, write_json

SHARED = "shared-demo-token"
URL = "/webhooks/rest/webhook"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sql(settings: Settings, statement: Any) -> list[Any]:
    engine = make_sync_engine(settings.resolved_database_url)
    with engine.begin() as conn:
        result = conn.execute(statement)
        out = list(result) if result.returns_rows else []
    engine.dispose()
    return out


class Accounts:
    """Staff accounts made for one test (unique ids, removed afterwards: one PostgreSQL is shared)."""

    def __init__(self, settings: Settings) -> None:
        self.engine = make_sync_engine(settings.resolved_database_url)
        self.made: list[str] = []

    def add(self, name: str = "田中 太郎") -> tuple[str, str]:
        account_id = f"t.{uuid.uuid4().hex[:10]}"
        with Session(self.engine) as s, s.begin():
            token = add_account(s, account_id, name)
        self.made.append(account_id)
        return account_id, token

    def disable(self, account_id: str) -> None:
        with Session(self.engine) as s, s.begin():
            disable_account(s, account_id)

    def rotate(self, account_id: str) -> str:
        with Session(self.engine) as s, s.begin():
            return rotate_token(s, account_id)

    def remove_all(self) -> None:
        """No account at all (for the console-disabled case)."""
        with self.engine.begin() as conn:
            conn.execute(delete(StaffAccount))

    def close(self) -> None:
        if self.made:
            with self.engine.begin() as conn:
                conn.execute(delete(StaffAccount).where(StaffAccount.id.in_(self.made)))
        self.engine.dispose()


@pytest.fixture
def accounts(settings: Settings) -> Iterator[Accounts]:
    made = Accounts(settings)
    yield made
    made.close()


@pytest.fixture
def shared_client(settings: Settings, interpreter) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The app with the shared STAFF_TOKEN set as well (the `client` fixture has none)."""
    from server import create_app

    app: FastAPI = create_app(settings.model_copy(update={"staff_token": SHARED}), interpreter=interpreter)
    with TestClient(app) as c:
        yield c


def ask_for_staff(client: TestClient) -> str:
    who = f"web-{uuid.uuid4().hex[:10]}"
    res = client.post(URL, json={"sender": who, "message": "/request_human"})
    assert res.status_code == 200, res.text
    return f"web:{who}"


def handoff_staff(settings: Settings, cid: str) -> list[tuple[str, str | None]]:
    rows = sql(settings, select(Handoff.status, Handoff.staff_id).where(Handoff.conversation_id == cid))
    return [tuple(r) for r in rows]


@contextmanager
def signed_in_socket(client: TestClient, token: str) -> Iterator[Any]:
    """/staff/ws as the console opens it: the token in the first message, not in the URL."""
    with client.websocket_connect("/staff/ws") as ws:
        ws.send_json({"type": "auth", "token": token})
        yield ws


# ---- signing in


def test_an_account_token_opens_the_api_and_me_says_who(client: TestClient, accounts: Accounts) -> None:
    account_id, token = accounts.add("田中 太郎")
    assert client.get("/staff/api/conversations", headers=bearer(token)).status_code == 200
    assert client.get("/staff/api/reservations", headers=bearer(token)).status_code == 200
    assert client.get("/staff/api/me", headers=bearer(token)).json() == {
        "id": account_id,
        "name": "田中 太郎",
        "shared": False,
        "role": "supervisor",
        "departments": [],
    }
    assert client.get("/staff/api/conversations").status_code == 401
    assert client.get("/staff/api/conversations", headers=bearer(token + "x")).status_code == 401
    assert client.get("/staff/api/me", headers=bearer(SHARED)).status_code == 401  # no shared token configured


def test_the_shared_token_still_works_beside_accounts(shared_client: TestClient, accounts: Accounts) -> None:
    account_id, token = accounts.add("佐藤 花子")
    assert shared_client.get("/staff/api/me", headers=bearer(SHARED)).json() == {
        "id": None,
        "name": None,
        "shared": True,
        "role": "supervisor",  # the shared STAFF_TOKEN acts as a supervisor (CONTRACTS §8)
        "departments": [],
    }
    assert shared_client.get("/staff/api/conversations", headers=bearer(SHARED)).status_code == 200
    assert shared_client.get("/staff/api/me", headers=bearer(token)).json()["id"] == account_id
    assert shared_client.get("/staff/api/me", headers=bearer("nope")).status_code == 401


def test_a_disabled_or_rotated_away_token_stops_at_once(client: TestClient, accounts: Accounts) -> None:
    account_id, old = accounts.add()
    other_id, other = accounts.add("佐藤 花子")
    assert client.get("/staff/api/me", headers=bearer(old)).status_code == 200
    new = accounts.rotate(account_id)
    assert new != old
    assert client.get("/staff/api/me", headers=bearer(old)).status_code == 401
    assert client.get("/staff/api/me", headers=bearer(new)).json()["id"] == account_id
    accounts.disable(account_id)
    assert client.get("/staff/api/me", headers=bearer(new)).status_code == 401
    assert client.get("/staff/api/conversations", headers=bearer(new)).status_code == 401
    assert client.get("/staff/api/me", headers=bearer(other)).json()["id"] == other_id  # others unaffected


def test_the_console_is_disabled_without_a_shared_token_or_an_enabled_account(
    client: TestClient, accounts: Accounts
) -> None:
    accounts.remove_all()
    res = client.get("/staff/api/conversations", headers=bearer("anything"))
    assert res.status_code == 503
    assert "python -m bot.staff_accounts add" in res.json()["detail"]
    assert client.get("/staff/api/me").status_code == 503
    with pytest.raises(WebSocketDisconnect) as closed, signed_in_socket(client, "anything") as ws:
        receive(ws)
    assert closed.value.code == 1008

    account_id, token = accounts.add()  # an account alone enables the console
    assert client.get("/staff/api/conversations", headers=bearer(token)).status_code == 200
    assert client.get("/staff/api/conversations", headers=bearer("anything")).status_code == 401
    accounts.disable(account_id)
    assert client.get("/staff/api/conversations", headers=bearer(token)).status_code == 503


# ---- who is recorded


def test_take_and_release_record_the_account_not_the_body(
    client: TestClient, settings: Settings, accounts: Accounts
) -> None:
    tanaka, tanaka_token = accounts.add("田中 太郎")
    sato, sato_token = accounts.add("佐藤 花子")
    cid = ask_for_staff(client)
    res = client.post(f"/staff/api/conversations/{cid}/take", headers=bearer(tanaka_token), json={"staff_id": "boss"})
    assert res.status_code == 200 and res.json() == {"conversation_id": cid, "status": "human"}
    assert handoff_staff(settings, cid) == [("active", tanaka)]
    detail = client.get(f"/staff/api/conversations/{cid}", headers=bearer(sato_token)).json()
    assert detail["handoffs"][0]["staff_id"] == tanaka
    # handing back keeps who took it
    res = client.post(f"/staff/api/conversations/{cid}/release", headers=bearer(sato_token), json={"staff_id": "x"})
    assert res.json()["status"] == "bot"
    assert handoff_staff(settings, cid) == [("closed", tanaka)]

    # a request closed without being taken records who closed it, also with no body at all
    pending = ask_for_staff(client)
    assert client.post(f"/staff/api/conversations/{pending}/release", headers=bearer(sato_token)).status_code == 200
    assert handoff_staff(settings, pending) == [("closed", sato)]
    # a malformed staff_id in the body does not matter to an account
    third = ask_for_staff(client)
    res = client.post(f"/staff/api/conversations/{third}/take", headers=bearer(sato_token), json={"staff_id": 42})
    assert res.status_code == 200
    assert handoff_staff(settings, third) == [("active", sato)]


def test_with_the_shared_token_the_declared_staff_id_is_recorded(shared_client: TestClient, settings: Settings) -> None:
    cid = ask_for_staff(shared_client)
    res = shared_client.post(f"/staff/api/conversations/{cid}/take", headers=bearer(SHARED), json={"staff_id": "s-7"})
    assert res.status_code == 200
    assert handoff_staff(settings, cid) == [("active", "s-7")]
    res = shared_client.post(f"/staff/api/conversations/{cid}/release", headers=bearer(SHARED), json={"staff_id": 7})
    assert res.status_code == 422  # as before: the shared token's staff_id must be a short string


@pytest.fixture
def resident(settings: Settings, tmp_path: Path) -> str:
    """The demo resident R001, imported under a unique id."""
    tag = uuid.uuid4().hex[:8]
    import_residents_file(
        write_json(tmp_path / "demo.json", tagged_demo(tag)), settings.resolved_database_url, today=TODAY
    )
    return f"R001-{tag}"


def test_profile_reads_and_link_codes_are_audited_under_the_account(
    client: TestClient, settings: Settings, accounts: Accounts, resident: str
) -> None:
    account_id, token = accounts.add()
    url = f"/staff/api/residents/{resident}/profile"
    body = {"staff_id": "someone-else", "reason": "問い合わせ対応", "conversation_id": "web:x"}
    res = client.post(url, json=body, headers=bearer(token))
    assert res.status_code == 200, res.text
    assert res.json()["id"] == resident
    assert client.post(url, json={"staff_id": "x", "reason": " "}, headers=bearer(token)).status_code == 422
    res = client.post(f"/staff/api/residents/{resident}/link-code", json={"staff_id": "x"}, headers=bearer(token))
    assert res.status_code == 200

    audit = sql(
        settings,
        select(AuditLog.actor, AuditLog.action, AuditLog.why, AuditLog.conversation_id).where(
            AuditLog.resident_id == resident, AuditLog.actor != "system"
        ),
    )
    assert sorted(tuple(r) for r in audit) == [
        (f"staff:{account_id}", "issue_code", "link code", None),
        (f"staff:{account_id}", "read_profile", "問い合わせ対応", "web:x"),
    ]
    issued = sql(settings, select(LinkCode.issued_by).where(LinkCode.resident_id == resident))
    assert [r[0] for r in issued] == [account_id]


# ---- the live WebSocket


def test_the_websocket_takes_an_account_token_in_its_first_message(client: TestClient, accounts: Accounts) -> None:
    _account_id, token = accounts.add()
    with signed_in_socket(client, token) as ws:
        assert receive(ws) == {"type": "ready"}
        cid = ask_for_staff(client)
        update_ = receive(ws)
        assert update_["conversation_id"] == cid and update_["status"] == "pending_handoff"

    for refused in (token + "x", ""):
        with pytest.raises(WebSocketDisconnect) as closed, signed_in_socket(client, refused) as ws:
            receive(ws)
        assert closed.value.code == 1008
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/staff/ws") as ws:
        ws.send_text("not json")
        receive(ws)
    assert closed.value.code == 1008


def test_the_websocket_no_longer_takes_a_token_in_the_url(shared_client: TestClient, accounts: Accounts) -> None:
    _account_id, token = accounts.add()
    for good in (token, SHARED):
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            shared_client.websocket_connect(f"/staff/ws?token={good}") as ws,
        ):
            receive(ws)
        assert closed.value.code == 1008 and "first frame" in closed.value.reason


@pytest.mark.parametrize("how", ["disable", "rotate"])
def test_an_open_websocket_is_cut_off_when_its_token_stops_working(
    client: TestClient, accounts: Accounts, how: str
) -> None:
    account_id, token = accounts.add()
    with signed_in_socket(client, token) as ws:
        assert receive(ws) == {"type": "ready"}
        ask_for_staff(client)
        assert receive(ws)["type"] == "message"
        accounts.disable(account_id) if how == "disable" else accounts.rotate(account_id)
        ask_for_staff(client)
        with pytest.raises(WebSocketDisconnect) as closed:
            receive(ws)
        assert closed.value.code == 1008


# ---- tokens stay secret


def test_tokens_never_appear_in_logs(client: TestClient, accounts: Accounts, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    account_id, token = accounts.add()
    rotated = accounts.rotate(account_id)
    client.get("/staff/api/me", headers=bearer(token))  # refused: rotated away
    client.get("/staff/api/me", headers=bearer(rotated))
    cid = ask_for_staff(client)
    client.post(f"/staff/api/conversations/{cid}/take", headers=bearer(rotated), json={"staff_id": "x"})
    with signed_in_socket(client, rotated) as ws:
        receive(ws)
    with pytest.raises(WebSocketDisconnect), signed_in_socket(client, token) as ws:
        receive(ws)
    accounts.disable(account_id)
    client.get("/staff/api/me", headers=bearer(rotated))
    assert caplog.records  # something was logged
    logged = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert token not in logged and rotated not in logged
    # the console sends the token in the socket's first message, not in a URL an access log would keep
    assert "?token=" not in (REPO / "bot" / "static" / "staff.js").read_text(encoding="utf-8")


# ---- the command line


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`cli("add", "tanaka", "田中 太郎")` on a temporary SQLite database, as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "STAFF_TOKEN")}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "DATA_DIR": str(tmp_path)})

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.staff_accounts", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def printed_token(out: str) -> str:
    """The token alone on the last line (CONTRACTS §8)."""
    assert "shown only now" in out
    token = out.strip().splitlines()[-1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", token), out
    return token


def test_the_command_line_adds_lists_rotates_and_disables(
    cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path, interpreter: Any
) -> None:
    from server import create_app

    added = cli("add", "tanaka", "田中", "太郎")  # an unquoted name with a space is fine
    assert added.returncode == 0, added.stderr
    first = printed_token(added.stdout)
    assert added.stdout.count(first) == 1 and len(first) >= 43  # 32 random bytes, url-safe
    digest = hashlib.sha256(first.encode()).hexdigest()
    assert digest not in added.stdout

    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'cli.db'}", _env_file=None)  # type: ignore[call-arg]
    [row] = sql(settings, select(StaffAccount.id, StaffAccount.name, StaffAccount.token_hash, StaffAccount.disabled_at))
    assert tuple(row) == ("tanaka", "田中 太郎", digest, None)  # the hash only, never the token

    for bad_args, message in (
        (("add", "tanaka", "別人"), "already exists"),
        (("add", "Tanaka", "田中"), "bad staff id"),
        (("add", "ta naka", "田中"), "bad staff id"),
        (("add", "x" * 61, "田中"), "bad staff id"),
        (("disable", "nobody"), "no staff account"),
        (("rotate", "nobody"), "no staff account"),
    ):
        refused = cli(*bad_args)
        assert refused.returncode == 2, (bad_args, refused.stdout, refused.stderr)
        assert message in refused.stderr and "Traceback" not in refused.stderr

    rotated = cli("rotate", "tanaka")
    assert rotated.returncode == 0, rotated.stderr
    second = printed_token(rotated.stdout)
    assert second != first and "old one no longer works" in rotated.stdout

    listed = cli("list")
    assert listed.returncode == 0, listed.stderr
    assert "tanaka" in listed.stdout and "田中 太郎" in listed.stdout
    assert re.search(r"tanaka .*\d{4}-\d{2}-\d{2} \d{2}:\d{2}\s+-$", listed.stdout, re.M), listed.stdout
    hashes = {hashlib.sha256(t.encode()).hexdigest() for t in (first, second)}
    assert not any(secret in listed.stdout for secret in (first, second, *hashes))

    with TestClient(create_app(settings, interpreter=interpreter)) as client:
        assert client.get("/staff/api/me", headers=bearer(first)).status_code == 401
        assert client.get("/staff/api/me", headers=bearer(second)).json() == {
            "id": "tanaka",
            "name": "田中 太郎",
            "shared": False,
            "role": "supervisor",  # no department given: sees every department, as before departments
            "departments": [],
        }
        disabled = cli("disable", "tanaka")
        assert disabled.returncode == 0 and "disabled tanaka" in disabled.stdout
        assert client.get("/staff/api/me", headers=bearer(second)).status_code == 503  # no account left
    again = cli("disable", "tanaka")
    assert again.returncode == 0 and "already disabled" in again.stdout
    listed = cli("list")
    assert re.search(r"tanaka .*\d{2}:\d{2}\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}$", listed.stdout, re.M), listed.stdout
    enabled = cli("enable", "tanaka")  # back from leave: the same (rotated) token works again
    assert enabled.returncode == 0 and "enabled tanaka" in enabled.stdout
    [row] = sql(settings, select(StaffAccount.token_hash, StaffAccount.disabled_at))
    assert tuple(row) == (hashlib.sha256(second.encode()).hexdigest(), None)


# ---- the console page


@pytest.mark.browser
def test_the_console_shows_who_is_signed_in_and_records_them(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.live import ARGS, CHROMIUM
    from tests.live import live_server as run_live_server

    data_dir = tmp_path / "live"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["DATA_DIR"] = str(data_dir)
    with run_live_server(data_dir, staff_token="browser-shared-token") as base:
        added = subprocess.run(
            [sys.executable, "-m", "bot.staff_accounts", "add", "suzuki", "鈴木 一郎"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        token = printed_token(added.stdout)
        first = f"web-{uuid.uuid4().hex[:10]}"
        httpx.post(base + URL, json={"sender": first, "message": "/request_human"}, timeout=30).raise_for_status()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            try:
                staff = browser.new_page(viewport={"width": 1280, "height": 800})
                staff.goto(base + "/staff")
                staff.fill("#token", token)
                staff.get_by_role("button", name="接続").click()
                expect(staff.locator("#signed-in")).to_have_text("ログイン中：鈴木 一郎", timeout=10_000)
                expect(staff.locator("#staff-id")).to_be_hidden()
                staff.locator("#conversations li", has_text=reference(f"web:{first}")).click()
                staff.wait_for_selector("#take:not([disabled])", timeout=10_000)
                staff.click("#take")
                staff.wait_for_selector("#send:not([disabled])", timeout=10_000)
                # the live socket (signed in by its first message) brings a new request into the list
                second = f"web-{uuid.uuid4().hex[:10]}"
                httpx.post(base + URL, json={"sender": second, "message": "/request_human"}, timeout=30)
                expect(staff.locator("#conversations li", has_text=reference(f"web:{second}"))).to_be_visible(
                    timeout=10_000
                )
            finally:
                browser.close()
        detail = httpx.get(f"{base}/staff/api/conversations/web:{first}", headers=bearer(token), timeout=10).json()
        assert detail["handoffs"][0]["staff_id"] == "suzuki"
