"""Two workers behind nginx (the load balancer a municipality would run), on PostgreSQL + Redis:
20 web conversations × 10 messages in parallel through nginx; every message is stored once, in the
order each conversation sent them, and both worker processes served. The WebSocket upgrade passes
through nginx too. Skipped (failed in CI) without nginx, PostgreSQL or Redis."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
from sqlalchemy import create_engine, text

from tests.conftest import REDIS_URL, REPO, skip_unless_available
from tests.live import free_port

NGINX = Path("/usr/sbin/nginx")
CONVERSATIONS, MESSAGES = 20, 10
TEXTS = ["住民票を取りたい", "はい", "粗大ごみを出したい", "ありがとう", "窓口の場所は"]

CONF = """
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream madoguchi {{ server 127.0.0.1:{app_port}; }}  # a new connection per request
    server {{
        listen 127.0.0.1:{lb_port};
        client_max_body_size 12m;
        location ~ ^/(webhooks/rest/ws|staff/ws)$ {{
            proxy_pass http://madoguchi;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 1h;
        }}
        location / {{
            proxy_pass http://madoguchi;
            proxy_http_version 1.1;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # the server's own process group: supervisor and workers
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _wait_for_workers(base: str, count: int, seconds: float = 90) -> None:
    """Until `count` distinct worker processes have answered (each loads its NLU model at start)."""
    seen: set[str] = set()
    deadline = time.monotonic() + seconds
    while len(seen) < count and time.monotonic() < deadline:
        with httpx.Client(base_url=base, timeout=2) as fresh:  # a new connection each time
            res = fresh.get("/readyz")
        if res.status_code == 200:
            seen.add(res.headers["x-madoguchi-worker"])
        time.sleep(0.05)
    assert len(seen) == count, f"only {len(seen)} worker(s) became ready"


def _wait_ready(proc: subprocess.Popen[bytes], url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"not ready within {seconds:.0f} s: {url}")


@pytest.fixture
def balanced(tmp_path: Path, postgres_url: str) -> Iterator[str]:
    """Base URL of nginx in front of `python server.py` with WORKERS=2."""
    if not NGINX.exists():
        skip_unless_available("Debian's nginx is not installed (apt-get install nginx)")
    if not REDIS_URL:
        skip_unless_available("REDIS_URL is not set")
    app_port, lb_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        DATABASE_URL=postgres_url,
        REDIS_URL=REDIS_URL,
        WORKERS="2",
        WORKER_HEADER="1",
        HOST="127.0.0.1",
        PORT=str(app_port),
        DATA_DIR=str(tmp_path / "data"),
        SECRET_KEY=f"test-secret-{uuid.uuid4().hex}",
        STATE_KEY_PREFIX=f"madoguchi-lb-{uuid.uuid4().hex[:8]}:",
        LOG_LEVEL="WARNING",
    )
    app = subprocess.Popen(
        [sys.executable, "server.py"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "server.log").open("wb"),
        start_new_session=True,
    )
    prefix = tmp_path / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / sub).mkdir(parents=True)
    conf = prefix / "nginx.conf"
    conf.write_text(CONF.format(prefix=prefix, app_port=app_port, lb_port=lb_port))
    nginx = None
    try:
        _wait_ready(app, f"http://127.0.0.1:{app_port}/readyz")
        _wait_for_workers(f"http://127.0.0.1:{app_port}", 2)
        nginx = subprocess.Popen(
            [str(NGINX), "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        _wait_ready(nginx, f"http://127.0.0.1:{lb_port}/healthz", seconds=20)
        yield f"127.0.0.1:{lb_port}"
    finally:
        if nginx is not None:
            _stop(nginx)
        _stop(app)


async def _conversation(client: httpx.AsyncClient, sender: str, pids: set[str]) -> list[str]:
    sent = []
    for i in range(MESSAGES):  # one after another, as a resident types: the order must hold
        message = f"{TEXTS[i % len(TEXTS)]} ({i})"
        res = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": message})
        assert res.status_code == 200, res.text
        pids.add(res.headers["x-madoguchi-worker"])
        sent.append(message)
    return sent


async def _load(base: str) -> tuple[dict[str, list[str]], set[str]]:
    senders = [f"lb-{uuid.uuid4().hex}" for _ in range(CONVERSATIONS)]
    pids: set[str] = set()
    limits = httpx.Limits(max_connections=CONVERSATIONS)
    async with httpx.AsyncClient(base_url=f"http://{base}", timeout=30, limits=limits) as client:
        sent = await asyncio.gather(*(_conversation(client, s, pids) for s in senders))
    return dict(zip(senders, sent, strict=True)), pids


def test_two_workers_behind_nginx_keep_every_message_once_and_in_order(balanced: str, postgres_url: str) -> None:
    sent, pids = asyncio.run(_load(balanced))
    assert len(pids) == 2, f"served by {len(pids)} worker(s)"
    scraped = httpx.get(f"http://{balanced}/metrics", timeout=10).text  # one worker answers for both
    counts = [ln for ln in scraped.splitlines() if ln.startswith('madoguchi_turn_seconds_count{channel="web"}')]
    assert counts and float(counts[0].split()[-1]) >= CONVERSATIONS * MESSAGES
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            for sender, messages in sent.items():
                stored = conn.execute(
                    text("SELECT text FROM messages WHERE conversation_id = :c AND direction = 'in' ORDER BY id"),
                    {"c": f"web:{sender}"},
                ).scalars()
                assert list(stored) == messages  # each once, in the sent order
    finally:
        engine.dispose()


def test_websocket_upgrade_passes_through_nginx(balanced: str) -> None:
    async def handshake() -> None:
        sender = f"lb-{uuid.uuid4().hex}"
        async with asyncio.timeout(20), websockets.connect(f"ws://{balanced}/webhooks/rest/ws") as ws:
            await ws.send(json.dumps({"sender": sender, "after": None}))  # CONTRACTS §3: the first frame
            await ws.ping()
            async with httpx.AsyncClient() as client:  # a message through nginx reaches the socket
                res = await client.post(
                    f"http://{balanced}/webhooks/rest/webhook", json={"sender": sender, "message": "こんにちは"}
                )
                assert res.status_code == 200
            frame = json.loads(await ws.recv())
            assert frame["recipient_id"] == sender and "id" in frame

    asyncio.run(handshake())


def test_the_supervising_parent_holds_none_of_the_app(balanced: str) -> None:
    """`python server.py` with WORKERS=2 execs into bot/http/supervise.py before uvicorn spawns the
    workers: the parent that only holds the port and watches them does not carry the app's modules
    (it held ~137 MB RSS when it imported them; uvicorn and the settings are ~40 MB)."""
    worker = int(httpx.get(f"http://{balanced}/readyz").headers["x-madoguchi-worker"])
    parent = int(Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[1])
    assert "bot.http.supervise" in Path(f"/proc/{parent}/cmdline").read_bytes().decode()
    status = dict(line.split(":", 1) for line in Path(f"/proc/{parent}/status").read_text().splitlines())
    assert int(status["VmRSS"].split()[0]) < 80 * 1024  # kB
