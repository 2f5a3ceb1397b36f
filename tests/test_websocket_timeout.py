"""tests/websocket.py: a message that never comes fails the test (TimeoutError), it does not hang it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.websocket import receive_json


def test_a_receive_with_nothing_to_receive_times_out(client: TestClient) -> None:
    client.app.state.services.settings.staff_token = "t0ken"  # type: ignore[attr-defined]
    with client.websocket_connect("/staff/ws") as ws:
        ws.send_json({"type": "auth", "token": "t0ken"})
        assert receive_json(ws) == {"type": "ready"}
        with pytest.raises(TimeoutError):
            receive_json(ws, timeout=0.2)  # no update was published
