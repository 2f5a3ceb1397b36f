"""`GET /metrics` (prometheus text) after chat turns, without personal data; `/readyz` says when a
worker is saturated."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from bot.engine import metrics
from bot.settings import Settings

URL = "/webhooks/rest/webhook"
NAMES = (
    "madoguchi_turn_seconds_bucket",
    "madoguchi_nlu_parse_seconds_count",
    "madoguchi_turn_transaction_seconds_sum",
    "madoguchi_turns_total",
    "madoguchi_delivery_failures_total",
    "madoguchi_line_events_pending",
    "madoguchi_line_outbox_pending",
    "madoguchi_handoffs_waiting",
    "madoguchi_handoff_oldest_wait_seconds",
)


def _sample(body: str, name: str, **labels: str) -> float:
    """The value of one sample (0 when absent)."""
    for line in body.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] == name and all(f'{k}="{v}"' in head for k, v in labels.items()):
            return float(value)
    return 0.0


def test_metrics_after_a_chat_turn_name_intents_and_no_sender(client: TestClient) -> None:
    sender = f"metrics-{uuid.uuid4().hex}"
    before = client.get("/metrics").text
    assert client.post(URL, json={"sender": sender, "message": "住民票を取りたい"}).status_code == 200
    assert client.post(URL, json={"sender": sender, "message": f"/{sender}"}).status_code == 200  # a made-up payload
    assert client.post(URL, json={"sender": sender, "message": "職員と話したい"}).status_code == 200
    res = client.get("/metrics")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/plain")
    body = res.text
    for name in NAMES:
        assert name in body, name
    assert sender not in body and "metrics-" not in body  # neither the sender nor its payload is a label
    turns = _sample(body, "madoguchi_turn_seconds_count", channel="web")
    assert turns - _sample(before, "madoguchi_turn_seconds_count", channel="web") == 3
    assert _sample(body, "madoguchi_turns_total", channel="web", intent="juminhyo") >= 1
    assert _sample(body, "madoguchi_turns_total", channel="web", intent="payload") >= 1
    assert _sample(body, "madoguchi_handoffs_waiting") >= 1  # the request for a person waits
    assert _sample(body, "madoguchi_metrics_database_up") == 1


def test_readyz_reports_a_saturated_worker(client: TestClient, settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/readyz").status_code == 200
    monkeypatch.setattr(metrics, "_in_flight", settings.max_turns_in_flight + 1)
    res = client.get("/readyz")
    assert res.status_code == 503
    assert res.json()["status"] == "saturated" and res.json()["capacity"] == "saturated"


@pytest.mark.parametrize("intent,from_payload,label", [("juminhyo", False, "juminhyo"), ("x-y", True, "payload")])
def test_intent_labels_never_come_from_a_client(intent: str, from_payload: bool, label: str) -> None:
    from bot.engine.turn import Parse

    parse = Parse(text="", intent=intent, confidence=1.0, from_payload=from_payload)
    assert metrics.intent_label(parse) == label
