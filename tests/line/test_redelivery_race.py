"""Copies of one LINE event delivered at the same moment: every copy gets 200, the event is
processed once (a unique-key race on line_pending_events used to answer 503)."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient

from tests.line import webhooks as wh
from tests.line.standin import StandIn


def test_concurrent_redeliveries_of_one_event_are_duplicates(client: TestClient, standin: StandIn) -> None:
    raw = wh.body(wh.text("こんにちは"))
    signature = wh.sign(raw)
    channel = client.app.state.line  # type: ignore[attr-defined]

    async def deliver_together() -> list[int]:
        answers = await asyncio.gather(*(channel.accept(raw, signature) for _ in range(12)))
        return [a.status_code for a in answers]

    for _ in range(3):  # the race is a matter of timing: give it a few chances
        assert client.portal.call(deliver_together) == [200] * 12  # type: ignore[union-attr]
    wh.drain(client)
    assert wh.count_messages(client, conversation_id=f"line:{wh.USER}", direction="in") == 1
    assert len(standin.calls_to("/v2/bot/message/reply")) == 1


def test_hostile_json_in_a_signed_webhook_is_400(client: TestClient) -> None:
    for raw in (
        b'{"events": [], "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        b'{"events": [], "n": ' + b"9" * 5000 + b"}",
    ):
        res = client.post("/callback", content=raw, headers={"X-Line-Signature": wh.sign(raw)})
        assert res.status_code == 400 and "error" in res.json()
