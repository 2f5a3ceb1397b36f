"""A real server process for browser tests: migrated, optionally with the demo data, on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import REPO, skip_unless_available

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(data_dir: Path, *, staff_token: str, demo: bool = False) -> Iterator[str]:
    """Base URL of `python server.py` on embedded defaults in `data_dir`; stopped on exit."""
    if not Path(CHROMIUM).exists():
        skip_unless_available("Debian's chromium is not installed (apt-get install chromium)")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"DATA_DIR": str(data_dir), "PORT": str(port), "HOST": "127.0.0.1", "STAFF_TOKEN": staff_token})
    env["DEMO_MODE"] = "1" if demo else "0"  # the demo data as `make run` serves it: demo-hanako counts
    subprocess.run([sys.executable, "-m", "bot.migrate"], cwd=REPO, env=env, check=True, capture_output=True)
    if demo:
        subprocess.run(
            [sys.executable, "-m", "knowledge", "demo", "load"], cwd=REPO, env=env, check=True, capture_output=True
        )
    proc = subprocess.Popen(
        [sys.executable, "server.py"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(proc, base, float(os.environ.get("LIVE_READY_SECONDS", "60")))  # a loaded machine trains slowly
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_ready(proc: subprocess.Popen[bytes], base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not become ready within {seconds:.0f} s")
