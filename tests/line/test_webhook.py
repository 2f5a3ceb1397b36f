"""The LINE webhook end to end: signed bodies through the real SDK, replies recorded by the stand-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.settings import Settings
from tests.line import webhooks as wh
from tests.line.standin import StandIn


def reply_calls(standin: StandIn) -> list[dict]:
    return [c.json for c in standin.calls_to("/v2/bot/message/reply")]


def test_text_message_is_answered_with_the_events_reply_token(client: TestClient, standin: StandIn) -> None:
    event = wh.text("こんにちは")
    assert wh.post(client, event).status_code == 200
    wh.drain(client)
    [call] = standin.calls_to("/v2/bot/message/reply")
    assert call.header("Authorization") == f"Bearer {standin.access_token}"
    sent = call.json
    assert sent["replyToken"] == event["replyToken"]
    assert sent["messages"][0]["type"] == "text" and "窓口" in sent["messages"][0]["text"]
    items = sent["messages"][-1]["quickReply"]["items"]
    assert 0 < len(items) <= 13
    postbacks = {i["action"]["data"]: i["action"]["displayText"] for i in items if i["action"]["type"] == "postback"}
    assert postbacks["/request_human"] == "職員と話す"
    assert all(len(i["action"]["label"]) <= 20 for i in items)
    assert wh.count_messages(client, conversation_id=f"line:{wh.USER}", direction="in") == 1
    assert wh.count_messages(client, conversation_id=f"line:{wh.USER}", direction="out") >= 1
    assert not standin.calls_to("/v2/bot/message/push")
    assert not standin.calls_to("/v2/bot/chat/loading/start")  # a fast answer needs no animation


def test_postback_data_is_the_button_payload(client: TestClient, standin: StandIn) -> None:
    assert wh.post(client, wh.postback("/bot_capabilities")).status_code == 200
    wh.drain(client)
    [sent] = reply_calls(standin)
    assert "お手伝いできます" in sent["messages"][0]["text"]
    assert wh.count_messages(client, intent="bot_capabilities") == 1


def test_follow_greets_with_what_the_bot_does_and_how_data_is_handled(client: TestClient, standin: StandIn) -> None:
    event = wh.follow()
    wh.post(client, event)
    wh.drain(client)
    [sent] = reply_calls(standin)
    assert sent["replyToken"] == event["replyToken"]
    greeting = sent["messages"][0]["text"]
    assert "友だち追加" in greeting and "個人情報" in greeting and "24時間" in greeting


def test_unfollow_is_recorded_and_not_answered(client: TestClient, standin: StandIn) -> None:
    wh.post(client, wh.unfollow())
    wh.drain(client)
    assert wh.count_messages(client, intent="event_unfollow") == 1
    assert wh.count_messages(client, direction="out") == 0
    assert not standin.calls_to("/v2/bot/message/")


@pytest.mark.parametrize("kind", ["sticker"])  # images and locations are 通報s: tests/line/test_reports_line.py
def test_stickers_get_a_polite_answer(client: TestClient, standin: StandIn, kind: str) -> None:
    wh.post(client, wh.media(kind))
    wh.drain(client)
    [sent] = reply_calls(standin)
    assert "文章で送ってください" in sent["messages"][0]["text"]


def test_standby_mode_is_left_to_the_active_module(client: TestClient, standin: StandIn) -> None:
    wh.post(client, wh.text("こんにちは", mode="standby"), wh.media("sticker", mode="standby"))
    wh.drain(client)
    assert not standin.calls
    assert wh.count_messages(client) == 0


def test_group_chat_is_one_conversation_keyed_by_group_id(client: TestClient, standin: StandIn) -> None:
    wh.post(client, wh.text("こんにちは", group=wh.GROUP))
    wh.drain(client)
    assert len(reply_calls(standin)) == 1
    assert wh.count_messages(client, conversation_id=f"line:{wh.GROUP}", direction="in") == 1
    assert wh.count_messages(client, conversation_id=f"line:{wh.USER}") == 0


@pytest.mark.parametrize("how", ["wrong-secret", "missing", "tampered-body", "garbage"])
def test_bad_or_missing_signature_is_400_and_changes_nothing(client: TestClient, standin: StandIn, how: str) -> None:
    event = wh.text("こんにちは")
    raw = wh.body(event)
    headers = {"Content-Type": "application/json"}
    if how == "wrong-secret":
        headers["X-Line-Signature"] = wh.sign(raw, "another-channel-secret")
    elif how == "tampered-body":
        headers["X-Line-Signature"] = wh.sign(raw)
        raw = raw.replace("こんにちは".encode(), "さようなら".encode())
    elif how == "garbage":
        headers["X-Line-Signature"] = "not base64 at all"
    res = client.post("/callback", content=raw, headers=headers)
    assert res.status_code == 400
    wh.drain(client)
    assert wh.count_messages(client) == 0
    assert not standin.calls


def test_verification_request_with_no_events_is_acknowledged(client: TestClient, standin: StandIn) -> None:
    assert wh.post(client).status_code == 200
    wh.drain(client)
    assert not standin.calls


def test_same_event_delivered_twice_is_answered_once(client: TestClient, standin: StandIn) -> None:
    event = wh.text("こんにちは")
    again = dict(event, deliveryContext={"isRedelivery": True})
    wh.post(client, event)
    wh.drain(client)
    wh.post(client, again)
    wh.drain(client)
    assert len(reply_calls(standin)) == 1
    assert wh.count_messages(client, external_id=event["webhookEventId"]) == 1


def test_two_deliveries_arriving_together_are_processed_once(client: TestClient, standin: StandIn) -> None:
    event = wh.text("こんにちは")
    again = dict(event, deliveryContext={"isRedelivery": True})
    wh.post(client, event, again)  # two workers pick them up at the same moment
    wh.post(client, again)
    wh.drain(client)
    assert len(reply_calls(standin)) == 1
    assert wh.count_messages(client, external_id=event["webhookEventId"]) == 1
    assert wh.count_messages(client, direction="in") == 1


def test_a_linked_line_user_is_the_residents_conversation(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    from bot.store.models import Conversation
    from knowledge.residents_import import import_residents_file

    data = {
        "households": [
            {
                "id": "H900",
                "address": "デモ区中央1-1-1",
                "members": [
                    {"id": "R900", "name": "山田 花子", "birth_date": "1990-04-01", "relation_to_head": "head"}
                ],
            }
        ],
        "consents": [],
        "links": [{"resident_id": "R900", "channel": "line", "user_id": wh.USER}],
    }
    path = tmp_path / "residents.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    import_residents_file(path, settings.resolved_database_url)
    wh.post(client, wh.text("こんにちは"))
    wh.drain(client)
    services = client.app.state.services  # type: ignore[attr-defined]

    async def resident() -> str | None:
        async with services.sessionmaker() as s:
            conv = await s.get(Conversation, f"line:{wh.USER}")
            return conv.resident_id if conv else None

    assert client.portal.call(resident) == "R900"  # type: ignore[union-attr]


def test_a_procedure_answer_with_a_card_arrives_as_flex(client: TestClient, standin: StandIn) -> None:
    wh.post(client, wh.postback("/moving_out"))
    wh.drain(client)
    [sent] = reply_calls(standin)
    flex = [m for m in sent["messages"] if m["type"] == "flex"]
    assert flex, [m["type"] for m in sent["messages"]]
    assert flex[0]["altText"] and flex[0]["contents"]["type"] == "bubble"
    assert len(sent["messages"]) <= 5
