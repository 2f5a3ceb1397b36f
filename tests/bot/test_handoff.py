"""Handing a chat to staff and back, through the web chat and the staff console API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.engine.handoff import InvalidTransition, next_status
from bot.settings import Settings
from tests.bot.live_ws import receive

URL = "/webhooks/rest/webhook"
TOKEN = "test-staff-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def staff_client(settings: Settings, interpreter) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    from server import create_app

    app: FastAPI = create_app(settings.model_copy(update={"staff_token": TOKEN}), interpreter=interpreter)
    with TestClient(app) as c:
        yield c


def say(client: TestClient, sender: str, text: str) -> list[dict]:  # type: ignore[type-arg]
    res = client.post(URL, json={"sender": sender, "message": text})
    assert res.status_code == 200, res.text
    return res.json()  # type: ignore[no-any-return]


def test_transition_table_refuses_impossible_moves() -> None:
    assert next_status("bot", "request") == "pending_handoff"
    assert next_status("pending_handoff", "take") == "human"
    assert next_status("human", "release") == "bot"
    with pytest.raises(InvalidTransition):
        next_status("bot", "take")
    with pytest.raises(InvalidTransition):
        next_status("bot", "release")


def test_staff_take_over_reply_and_hand_back(staff_client: TestClient) -> None:
    who = f"web-{uuid.uuid4().hex[:10]}"
    cid = f"web:{who}"
    replies = say(staff_client, who, "/request_human")
    assert "職員におつなぎします" in replies[-1]["text"]

    listed = staff_client.get("/staff/api/conversations", headers=AUTH).json()
    assert cid in [c["id"] for c in listed]
    assert "お待ちください" in say(staff_client, who, "まだですか")[0]["text"]

    assert (
        staff_client.post(f"/staff/api/conversations/{cid}/take", headers=AUTH, json={"staff_id": "s-001"}).json()[
            "status"
        ]
        == "human"
    )
    assert say(staff_client, who, "住民票のことで相談です") == []  # a person is in charge: the bot is silent

    with staff_client.websocket_connect("/webhooks/rest/ws") as ws:
        ws.send_json({"sender": who, "after": 0})  # the whole conversation, then new messages
        res = staff_client.post(
            f"/staff/api/conversations/{cid}/messages", headers=AUTH, json={"text": "担当の者です。"}
        )
        assert res.status_code == 200
        texts = [receive(ws)["text"] for _ in range(len(transcript_of(staff_client, cid)))]
        assert texts[-1] == "担当の者です。" and "住民票のことで相談です" in texts

    detail = staff_client.get(f"/staff/api/conversations/{cid}", headers=AUTH).json()
    authors = [(m["direction"], m["author"], m["text"]) for m in detail["messages"]]
    assert ("in", "resident", "住民票のことで相談です") in authors
    assert ("out", "staff", "担当の者です。") in authors
    assert detail["handoffs"][0]["reason"] == "requested"
    assert detail["handoffs"][0]["status"] == "active" and detail["handoffs"][0]["staff_id"] == "s-001"

    assert staff_client.post(f"/staff/api/conversations/{cid}/release", headers=AUTH).json()["status"] == "bot"
    assert say(staff_client, who, "こんにちは")  # the bot answers again
    detail = staff_client.get(f"/staff/api/conversations/{cid}", headers=AUTH).json()
    assert detail["handoffs"][0]["status"] == "closed"


def test_resident_can_withdraw_a_pending_request(staff_client: TestClient) -> None:
    who = f"web-{uuid.uuid4().hex[:10]}"
    say(staff_client, who, "/request_human")
    assert "取りやめました" in say(staff_client, who, "/cancel")[0]["text"]
    detail = staff_client.get(f"/staff/api/conversations/web:{who}", headers=AUTH).json()
    assert detail["status"] == "bot"
    assert detail["handoffs"][0]["status"] == "closed"


def test_sensitive_messages_always_go_to_staff(staff_client: TestClient) -> None:
    who = f"web-{uuid.uuid4().hex[:10]}"
    replies = say(staff_client, who, "/dv_abuse")
    text = "\n".join(r["text"] for r in replies)
    assert "#8008" in text and "189" in text
    detail = staff_client.get(f"/staff/api/conversations/web:{who}", headers=AUTH).json()
    assert detail["status"] == "pending_handoff"
    assert detail["handoffs"][0]["reason"] == "sensitive"


def test_staff_api_needs_the_token(staff_client: TestClient, client: TestClient) -> None:
    assert staff_client.get("/staff/api/conversations").status_code == 401
    assert staff_client.get("/staff/api/conversations", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/staff/api/conversations", headers=AUTH).status_code == 503  # no token configured


def test_staff_cannot_reply_before_taking_over(staff_client: TestClient) -> None:
    who = f"web-{uuid.uuid4().hex[:10]}"
    say(staff_client, who, "こんにちは")
    res = staff_client.post(f"/staff/api/conversations/web:{who}/messages", headers=AUTH, json={"text": "x"})
    assert res.status_code == 409
    assert staff_client.post(f"/staff/api/conversations/web:{who}/take", headers=AUTH).status_code == 409
    assert staff_client.get("/staff/api/conversations/web:nobody", headers=AUTH).status_code == 404


def transcript_of(client: TestClient, cid: str) -> list[dict[str, object]]:
    return client.get(f"/staff/api/conversations/{cid}", headers=AUTH).json()["messages"]  # type: ignore[no-any-return]
