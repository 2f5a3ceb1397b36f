"""WebSocket helpers for live-delivery tests: every receive has a timeout, so a lost message
fails the test instead of hanging it."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest


def receive(ws: Any, timeout: float = 10.0) -> dict[str, Any]:
    """The next JSON frame of a TestClient WebSocket; fails after `timeout` seconds."""
    message = _next(ws, timeout)
    if message is None:
        pytest.fail(f"no WebSocket frame within {timeout} s")
    ws._raise_on_close(message)  # a close frame raises WebSocketDisconnect(code, reason)
    return json.loads(message.get("text") or message["bytes"].decode())  # type: ignore[no-any-return]


def nothing_within(ws: Any, seconds: float) -> None:
    """Asserts that no frame arrives within `seconds` (a close would count as one)."""
    message = _next(ws, seconds)
    assert message is None, f"unexpected frame: {message}"


def _next(ws: Any, timeout: float) -> dict[str, Any] | None:
    async def get() -> dict[str, Any] | None:
        with anyio.move_on_after(timeout):
            return await ws._send_rx.receive()  # type: ignore[no-any-return]
        return None

    return ws.portal.call(get)  # type: ignore[no-any-return]
