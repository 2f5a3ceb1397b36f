"""WebSocket receives that fail a test instead of hanging it: Starlette's TestClient session has no
timeout of its own, so a lost message would wait forever."""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.testclient import WebSocketTestSession

RECEIVE_SECONDS = 10.0  # generous: a loaded CI machine is slow, but a lost message never arrives


def receive(ws: WebSocketTestSession, timeout: float = RECEIVE_SECONDS) -> dict[str, Any]:
    """The next ASGI message the app sent on `ws`; TimeoutError when none comes in `timeout` s."""

    async def next_message() -> dict[str, Any]:
        with anyio.fail_after(timeout):
            return await ws._send_rx.receive()  # what WebSocketTestSession.receive awaits, bounded

    message: dict[str, Any] = ws.portal.call(next_message)
    return message


def receive_json(ws: WebSocketTestSession, timeout: float = RECEIVE_SECONDS) -> Any:
    """`ws.receive_json()` with a timeout; a close raises WebSocketDisconnect as it does."""
    message = receive(ws, timeout)
    ws._raise_on_close(message)
    return json.loads(message["text"])
