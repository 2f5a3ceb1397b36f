"""The issue's acceptance check through the web chat API, with CONTRACTS §4's example file."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.settings import Settings
from knowledge.residents_import import import_residents_file
from tests.residents.conftest import write_json

pytestmark = pytest.mark.demo_mode  # the tests link residents through the demo's imported web links

CONTRACT_EXAMPLE = {
    "households": [
        {"id": "H001", "address": "デモ区中央1-1-1",
         "members": [
             {"id": "R001", "name": "山田 花子", "kana": "ヤマダ ハナコ", "birth_date": "1990-04-01", "relation_to_head": "head"},  # noqa: E501
             {"id": "R002", "name": "山田 蓮", "birth_date": "2024-02-10", "relation_to_head": "child"},
             {"id": "R003", "name": "山田 トメ", "birth_date": "1944-05-05", "relation_to_head": "mother", "care_level": "要支援1"}]}],  # noqa: E501
    "consents": [{"resident_id": "R001", "scopes": ["suggestions"]}],
    "links": [{"resident_id": "R001", "channel": "web", "user_id": "demo-hanako"},
              {"resident_id": "R001", "channel": "line", "user_id": "U0123456789abcdef0123456789abcdef"}],
}  # fmt: skip


def ask(client: TestClient, sender: str) -> list[dict]:  # type: ignore[type-arg]
    res = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": "一時預かりを利用したい"})
    assert res.status_code == 200
    return res.json()  # type: ignore[no-any-return]


def test_demo_hanako_gets_the_care_suggestion_with_its_reason(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    import_residents_file(write_json(tmp_path / "example.json", CONTRACT_EXAMPLE), settings.resolved_database_url)
    messages = ask(client, "demo-hanako")
    text = "\n".join(m["text"] for m in messages)
    assert "一時預かり" in text  # the answer to the question itself
    offer = next(m for m in messages if (m.get("custom") or {}).get("suggestion"))
    assert offer["custom"]["suggestion"]["rule"] == "double_care"
    assert "ご家族に75歳以上の方がいらっしゃるため" in offer["text"]
    card = offer["custom"]["card"]
    assert "介護の相談" in card["lines"]
    assert [b["title"] for b in card["buttons"]] == ["詳しく見る", "今は結構です"]
    assert card["buttons"][0]["payload"].startswith("/care_consultation")
    assert "年齢" in messages[-1]["text"]  # the form's question stays last, where it is answered

    unlinked = ask(client, "demo-somebody-else")
    assert not any((m.get("custom") or {}).get("suggestion") for m in unlinked)
    assert "75歳" not in "\n".join(m["text"] for m in unlinked)
