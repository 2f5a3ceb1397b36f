"""Password sign-in: argon2id, a server-side session in an httpOnly SameSite=Strict cookie, CSRF
on every state change made with it, lockout after repeated failures; tokens still work."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.settings import Settings
from bot.staff.accounts import StaffAccount, StaffScope, add_account
from bot.staff.sessions import PasswordError, StaffPassword, StaffSession, set_password
from bot.store.db import make_sync_engine

PASSWORD = "correct horse battery staple"


@pytest.fixture
def account(settings: Settings) -> Iterator[str]:
    engine = make_sync_engine(settings.resolved_database_url)
    account_id = f"p.{uuid.uuid4().hex[:10]}"
    with Session(engine) as s, s.begin():
        add_account(s, account_id, "パス 太郎", departments=["seiso"], role="staff")
        set_password(s, account_id, PASSWORD)
        stored = s.scalar(select(StaffPassword.password_hash).where(StaffPassword.account_id == account_id))
        assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    yield account_id
    with engine.begin() as conn:
        for table, column in ((StaffAccount, StaffAccount.id), (StaffScope, StaffScope.account_id),
                              (StaffPassword, StaffPassword.account_id), (StaffSession, StaffSession.account_id)):  # fmt: skip
            conn.execute(delete(table).where(column == account_id))
    engine.dispose()


@pytest.fixture
def web(settings: Settings, interpreter: Any) -> Iterator[TestClient]:
    from server import create_app

    app: FastAPI = create_app(settings, interpreter=interpreter)
    with TestClient(app) as c:
        yield c


def test_short_passwords_are_refused(settings: Settings, account: str) -> None:
    engine = make_sync_engine(settings.resolved_database_url)
    with pytest.raises(PasswordError, match="at least"), Session(engine) as s:
        set_password(s, account, "short")
    engine.dispose()


def test_sign_in_cookie_and_csrf(web: TestClient, account: str) -> None:
    assert web.post("/staff/login", json={"id": account, "password": "wrong password!"}).status_code == 401
    assert web.post("/staff/login", json={"id": "nobody", "password": PASSWORD}).status_code == 401
    res = web.post("/staff/login", json={"id": account, "password": PASSWORD})
    assert res.status_code == 200, res.text
    cookie = res.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/staff" in cookie
    csrf = res.json()["csrf"]

    me = web.get("/staff/api/me").json()
    assert me["id"] == account and me["departments"] == ["seiso"] and me["csrf"] == csrf
    assert web.get("/staff/api/conversations").status_code == 200

    # every state change made with the cookie needs the session's CSRF token
    for route in web.app.routes:  # type: ignore[attr-defined]
        path = getattr(route, "path", "")
        methods = getattr(route, "methods", set()) - {"GET", "HEAD", "OPTIONS"}
        if not path.startswith("/staff/api/") or not methods:
            continue
        concrete = path.replace("{conversation_id}", "web:x").replace("{ticket_id}", "1")
        concrete = concrete.replace("{number}", "X-1").replace("{resident_id}", "R001")
        for method in methods:
            assert web.request(method, concrete, json={}).status_code == 403, (method, path)
            wrong = web.request(method, concrete, json={}, headers={"X-CSRF-Token": "nope"})
            assert wrong.status_code == 403, (method, path)
    with_token = web.post("/staff/api/conversations/web:x/take", json={}, headers={"X-CSRF-Token": csrf})
    assert with_token.status_code == 404  # past authentication and CSRF: there is no such chat

    assert web.post("/staff/logout").status_code == 403  # logging out is a state change too
    assert web.post("/staff/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert web.get("/staff/api/me").status_code in (401, 503)


def test_lockout_after_repeated_failures(web: TestClient, account: str) -> None:
    for _ in range(5):
        assert web.post("/staff/login", json={"id": account, "password": "not the password"}).status_code == 401
    assert web.post("/staff/login", json={"id": account, "password": PASSWORD}).status_code == 429


# ---- live updates for a session (the console's WebSocket, first-frame auth without a token)


def test_a_session_opens_the_staff_socket_with_its_csrf(web: TestClient, account: str) -> None:
    from starlette.websockets import WebSocketDisconnect

    csrf = web.post("/staff/login", json={"id": account, "password": PASSWORD}).json()["csrf"]
    for frame in ({"type": "auth", "csrf": "not-the-token", "after": None}, {"type": "auth", "after": None}):
        with pytest.raises(WebSocketDisconnect) as closed, web.websocket_connect("/staff/ws") as ws:
            ws.send_json(frame)
            ws.receive_json()
        assert closed.value.code == 1008
    with web.websocket_connect("/staff/ws") as ws:  # the cookie goes with the handshake
        ws.send_json({"type": "auth", "csrf": csrf, "after": None})
        assert ws.receive_json() == {"type": "ready"}
        who = f"web-{uuid.uuid4().hex[:10]}"
        assert web.post("/webhooks/rest/webhook", json={"sender": who, "message": "/request_human"}).status_code == 200
        frame = ws.receive_json()
        while frame.get("conversation_id") != f"web:{who}":  # (a shared database: others' rows may come first)
            frame = ws.receive_json()
        assert frame["status"] == "pending_handoff" and "text" not in frame
    # the CSRF token without the session's cookie is nothing
    web.cookies.clear()
    with pytest.raises(WebSocketDisconnect) as closed, web.websocket_connect("/staff/ws") as ws:
        ws.send_json({"type": "auth", "csrf": csrf, "after": None})
        ws.receive_json()
    assert closed.value.code == 1008


def test_a_signed_out_session_is_cut_off_the_socket(web: TestClient, account: str) -> None:
    from starlette.websockets import WebSocketDisconnect

    csrf = web.post("/staff/login", json={"id": account, "password": PASSWORD}).json()["csrf"]
    with web.websocket_connect("/staff/ws") as ws:
        ws.send_json({"type": "auth", "csrf": csrf, "after": None})
        assert ws.receive_json() == {"type": "ready"}
        assert web.post("/staff/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
        web.post("/webhooks/rest/webhook", json={"sender": f"web-{uuid.uuid4().hex[:8]}", "message": "/request_human"})
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                ws.receive_json()
        assert closed.value.code == 1008
