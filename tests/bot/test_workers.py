"""WORKERS=N (CONTRACTS §1): refused where the embedded mode cannot be shared; scheduled jobs run
once however many workers or hosts start them (bot/jobs/jobs_lock.py). SQLite always, PostgreSQL where
DATABASE_URL is set."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bot.http.workers import caveat
from bot.jobs.jobs_lock import advisory_key, run_once
from bot.settings import Settings
from tests.conftest import REPO


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "WORKERS")}
    env.update(
        DATA_DIR=str(settings.data_dir),
        DATABASE_URL=settings.database_url,
        SECRET_KEY=settings.secret_key or "test-secret",
        **extra,
    )
    return env


def test_one_worker_has_no_caveat() -> None:
    assert caveat(Settings(workers=1, _env_file=None)) is None  # type: ignore[call-arg]


def test_several_workers_say_what_the_embedded_mode_costs() -> None:
    embedded = Settings(workers=2, database_url="", redis_url="", _env_file=None)  # type: ignore[call-arg]
    said = caveat(embedded)
    assert said and "DATABASE_URL" in said and "REDIS_URL" in said
    no_redis = Settings(workers=2, database_url="postgresql+psycopg://h/db", redis_url="", _env_file=None)  # type: ignore[call-arg]
    assert "REDIS_URL" in (caveat(no_redis) or "")
    shared = Settings(workers=3, database_url="postgresql+psycopg://h/db", redis_url="redis://h:6379/0", _env_file=None)  # type: ignore[call-arg]
    assert caveat(shared) is None


def test_several_embedded_workers_serve_the_chat(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """CONTRACTS §1: `WORKERS=2 python server.py` serves on the embedded defaults too."""
    import httpx

    from tests.live import _wait_ready, free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(WORKERS="2", DATA_DIR=str(tmp_path), PORT=str(port), HOST="127.0.0.1")
    proc = subprocess.Popen([sys.executable, "server.py"], cwd=REPO, env=env, stderr=subprocess.PIPE)
    try:
        _wait_ready(proc, f"http://127.0.0.1:{port}", seconds=120)
        for i in range(6):
            res = httpx.post(
                f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                json={"sender": f"w-{i}", "message": "住民票がほしい"},
                timeout=30,
            )
            assert res.status_code == 200 and res.json()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert b"several workers in the embedded mode" in err


def test_advisory_keys_are_stable_and_distinct() -> None:
    assert advisory_key("retention") == advisory_key("retention")
    assert advisory_key("retention") != advisory_key("outreach")
    assert -(2**63) <= advisory_key("retention") < 2**63


def test_a_job_runs_once_while_another_run_holds_it(settings: Settings) -> None:
    with run_once(settings, "test-job") as first:
        assert first
        with run_once(settings, "test-job") as second:
            assert not second
        with run_once(settings, "other-job") as other:
            assert other  # locks are per job
    with run_once(settings, "test-job") as again:
        assert again  # released when the run ends


def test_retention_steps_aside_while_another_run_holds_the_lock(settings: Settings) -> None:
    command = [sys.executable, "-m", "bot.retention"]
    with run_once(settings, "retention") as mine:
        assert mine
        held = subprocess.run(command, cwd=REPO, env=_env(settings), capture_output=True, text=True, timeout=120)
    assert held.returncode == 0, held.stderr[-2000:]
    assert "skipped" in json.loads(held.stdout.strip().splitlines()[-1])
    free = subprocess.run(command, cwd=REPO, env=_env(settings), capture_output=True, text=True, timeout=120)
    assert free.returncode == 0, free.stderr[-2000:]
    assert "skipped" not in json.loads(free.stdout.strip().splitlines()[-1])
