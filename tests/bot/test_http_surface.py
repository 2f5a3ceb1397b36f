"""The HTTP surface: hostile JSON refused with 400 and nothing stored, security headers, the
Authorization scheme, and Rasa's streamed REST mode read the way `rasa shell` reads it."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient

from tests.bot.test_web_channel import count_messages

URL = "/webhooks/rest/webhook"
HOSTILE = {
    "lone surrogate": '{"sender": "%s", "message": "\\ud800"}',
    "deep nesting": '{"sender": "%s", "message": "x", "extra": ' + "[" * 10_000 + "]" * 10_000 + "}",
    "5,000-digit number": '{"sender": "%s", "message": "x", "n": ' + "9" * 5000 + "}",
    "NUL": '{"sender": "%s", "message": "a\\u0000b"}',
    "NaN": '{"sender": "%s", "message": "x", "n": NaN}',
}


def post_raw(client: TestClient, url: str, body: str, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(url, content=body.encode("utf-8"), headers={"content-type": "application/json", **headers})


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_json_on_the_webhook_is_400_and_stores_nothing(client: TestClient, case: str) -> None:
    before = count_messages(client)
    res = post_raw(client, URL, HOSTILE[case] % f"web-{uuid.uuid4().hex[:8]}")
    assert res.status_code == 400, res.text
    assert set(res.json()) == {"error"}
    assert count_messages(client) == before


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_json_on_parse_and_staff_routes_is_400(client: TestClient, case: str) -> None:
    client.app.state.services.settings.staff_token = "t0ken"  # type: ignore[attr-defined]
    auth = {"authorization": "Bearer t0ken"}
    body = HOSTILE[case] % "x"
    for url in (
        "/model/parse",
        "/staff/api/conversations/web:x/messages",
        "/staff/api/conversations/web:x/take",
        "/staff/api/reservations/g-1/cancel",
        "/staff/api/residents/R001/profile",
    ):
        res = post_raw(client, url, body.replace('"message"', '"text"'), **auth)
        assert res.status_code == 400, (url, res.text)
        assert "error" in res.json()


def test_a_button_payload_nested_thousands_deep_is_just_text(client: TestClient) -> None:
    res = client.post(URL, json={"sender": "web-deep", "message": "/greet" + "{" * 2000})
    assert res.status_code == 200


def test_nul_in_the_url_is_400(client: TestClient) -> None:
    client.app.state.services.settings.staff_token = "t0ken"  # type: ignore[attr-defined]
    res = client.get("/staff/api/reservations/a%00b", headers={"authorization": "Bearer t0ken"})
    assert res.status_code == 400 and "error" in res.json()


def test_pages_carry_a_csp_without_inline_script_and_the_staff_page_cannot_be_framed(client: TestClient) -> None:
    for path in ("/", "/staff"):
        res = client.get(path)
        assert res.status_code == 200
        csp = res.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert res.headers["x-content-type-options"] == "nosniff"
        assert res.headers["referrer-policy"] == "no-referrer"
        assert "<script>" not in res.text and "style=" not in res.text and " on" not in res.text.split("<body")[0]
    assert "frame-ancestors 'none'" in client.get("/staff").headers["content-security-policy"]
    assert "frame-ancestors 'self'" in client.get("/").headers["content-security-policy"]
    api = client.get("/healthz")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in api.headers["content-security-policy"]


def test_widget_frame_ancestors_is_a_setting(settings, interpreter) -> None:  # type: ignore[no-untyped-def]
    from server import create_app

    settings.widget_frame_ancestors = "'self' https://www.city.example.lg.jp"
    with TestClient(create_app(settings, interpreter=interpreter)) as c:
        csp = c.get("/").headers["content-security-policy"]
    assert "frame-ancestors 'self' https://www.city.example.lg.jp" in csp


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("Bearer t0ken", 200),
        ("bearer t0ken", 200),
        ("BEARER t0ken", 200),
        ("t0ken", 401),
        ("Basic t0ken", 401),
        ("Bearer", 401),
        ("Bearer t0ken extra", 401),
        ("xBearer t0ken", 401),
        ("Token t0ken", 401),
    ],
)
def test_authorization_must_be_bearer(client: TestClient, header: str, status: int) -> None:
    client.app.state.services.settings.staff_token = "t0ken"  # type: ignore[attr-defined]
    res = client.get("/staff/api/me", headers={"authorization": header})
    assert res.status_code == status, res.text
    if status == 401:
        assert "error" in res.json()


def rasa_console_lines(raw: bytes) -> list[dict]:  # type: ignore[type-arg]
    """What rasa/core/channels/console.py does with `resp.content`: every non-empty line is one
    JSON message (aiohttp's StreamReader yields lines with their b"\\n")."""
    return [json.loads(line.decode("utf-8")) for line in raw.splitlines(keepends=True) if line]


def test_streamed_mode_is_one_json_message_per_line_like_rasa(client: TestClient) -> None:
    who = f"web-{uuid.uuid4().hex[:8]}"
    res = client.post(f"{URL}?stream=true&token=", json={"sender": who, "message": "住民票を取りたい"})
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/event-stream")
    streamed = rasa_console_lines(res.content)
    assert streamed and all(m["recipient_id"] == who and "text" in m for m in streamed)
    assert res.content.endswith(b"\n") and res.content.count(b"\n") == len(streamed)
    blocking = client.post(f"{URL}?token=", json={"sender": who + "b", "message": "住民票を取りたい"})
    assert blocking.status_code == 200 and isinstance(blocking.json(), list)
    assert [m["text"] for m in blocking.json()] == [m["text"] for m in streamed]
    assert client.post(f"{URL}?stream=false", json={"sender": who, "message": "はい"}).json()[0]["recipient_id"] == who


def test_validation_errors_use_the_error_body(client: TestClient) -> None:
    client.app.state.services.settings.staff_token = "t0ken"  # type: ignore[attr-defined]
    res = client.get("/staff/api/reservations?date=notadate", headers={"authorization": "Bearer t0ken"})
    assert res.status_code == 422 and isinstance(res.json()["error"], str)
