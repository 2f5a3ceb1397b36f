"""The Rasa engine option: a Rasa server's /model/parse over HTTP (a local stand-in here)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.settings import Settings
from bot.store.db import migrate
from nlu.rasa_http import RasaHTTPInterpreter, RasaUnavailable

ANSWER = {
    "text": "住民票",
    "intent": {"name": "juminhyo", "confidence": 0.93},
    "entities": [],
    "intent_ranking": [{"name": "juminhyo", "confidence": 0.93}],
}


class StandIn(BaseHTTPRequestHandler):
    seen: list[dict[str, object]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        StandIn.seen.append({"path": self.path, "body": body})
        data = json.dumps({**ANSWER, "text": body["text"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def rasa_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_parse_goes_to_the_rasa_server(rasa_url: str) -> None:
    interpreter = RasaHTTPInterpreter(rasa_url)
    data = await interpreter.parse("住民票をください")
    assert data["intent"]["name"] == "juminhyo" and data["text"] == "住民票をください"
    assert StandIn.seen[-1] == {"path": "/model/parse", "body": {"text": "住民票をください"}}
    await interpreter.aclose()


async def test_contract_entities_come_with_rasa_answers(rasa_url: str) -> None:
    """Rasa resolves no dates or counts: the embedded extractor adds them, so forms work the same."""
    import datetime as dt

    interpreter = RasaHTTPInterpreter(rasa_url)
    data = await interpreter.parse("来週の火曜日に住民票を２通", today=dt.date(2026, 11, 27))
    found = {(e["entity"], e["value"]) for e in data["entities"]}
    assert ("date", "2026-12-01") in found and ("count", 2) in found
    assert data["intent"]["name"] == "juminhyo"  # the intent is Rasa's
    await interpreter.aclose()


async def test_unreachable_rasa_raises_a_clear_error() -> None:
    interpreter = RasaHTTPInterpreter("http://127.0.0.1:1", timeout=1)
    with pytest.raises(RasaUnavailable):
        await interpreter.parse("住民票")
    await interpreter.aclose()


def test_app_with_rasa_engine_answers_and_reports_outage(tmp_path: Path, rasa_url: str) -> None:
    from server import create_app

    url = f"sqlite:///{tmp_path / 'r.db'}"
    migrate(url)
    settings = Settings(data_dir=tmp_path, database_url=url, nlu_engine="rasa", rasa_url=rasa_url, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings)) as client:
        res = client.post("/webhooks/rest/webhook", json={"sender": "r1", "message": "住民票"})
        assert res.status_code == 200 and res.json()
    down = settings.model_copy(update={"rasa_url": "http://127.0.0.1:1"})
    with TestClient(create_app(down)) as client:
        res = client.post("/webhooks/rest/webhook", json={"sender": "r2", "message": "住民票"})
        assert res.status_code == 503
        assert "language understanding" in res.json()["error"]
