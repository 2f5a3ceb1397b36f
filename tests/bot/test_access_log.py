"""No server log line carries a sender, a token or a conversation id: query values are masked and
conversation ids in paths become pseudonyms, for HTTP and WebSocket request lines alike."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi import FastAPI

from tests.live import free_port


def test_access_log_lines_carry_no_query_values(app: FastAPI, caplog: pytest.LogCaptureFixture) -> None:
    import httpx
    import uvicorn
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from bot.logs import install_query_filter

    install_query_filter()
    caplog.set_level("INFO", logger="uvicorn.access")
    caplog.set_level("INFO", logger="uvicorn.error")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz?sender=w-secret1&token=t-secret2").status_code == 200
        httpx.get(f"http://127.0.0.1:{port}/staff/api/conversations/web%3Aw-secret5")  # refused, but logged
        for path in ("/webhooks/rest/ws?sender=w-secret3", "/staff/ws?token=t-secret4"):
            with connect(f"ws://127.0.0.1:{port}{path}", open_timeout=10) as ws:
                with pytest.raises(ConnectionClosed) as closed:
                    ws.recv(timeout=10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008  # never opened
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("/healthz?sender=[masked]&token=[masked]" in line for line in access), access
    served = [r.getMessage() for r in caplog.records if r.name == "uvicorn.error" and "WebSocket" in r.getMessage()]
    assert any("/webhooks/rest/ws?sender=[masked]" in line for line in served), served
    assert any("/staff/ws?token=[masked]" in line for line in served), served
    assert any("/staff/api/conversations/web:#" in line for line in access), access  # a pseudonym
    for secret in ("w-secret1", "t-secret2", "w-secret3", "t-secret4", "w-secret5"):
        assert secret not in caplog.text
