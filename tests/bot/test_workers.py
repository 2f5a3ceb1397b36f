"""WORKERS=N (CONTRACTS §1): refused where the embedded mode cannot be shared; scheduled jobs run
once however many workers or hosts start them (bot/jobs_lock.py). SQLite always, PostgreSQL where
DATABASE_URL is set."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bot.jobs_lock import advisory_key, run_once
from bot.settings import Settings
from bot.workers import refusal
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


def test_one_worker_is_always_allowed() -> None:
    assert refusal(Settings(workers=1, _env_file=None)) is None  # type: ignore[call-arg]


def test_several_workers_need_postgres_and_redis() -> None:
    embedded = Settings(workers=2, database_url="", redis_url="", _env_file=None)  # type: ignore[call-arg]
    reason = refusal(embedded)
    assert reason and "DATABASE_URL" in reason and "REDIS_URL" in reason
    no_redis = Settings(workers=2, database_url="postgresql+psycopg://h/db", redis_url="", _env_file=None)  # type: ignore[call-arg]
    assert "REDIS_URL" in (refusal(no_redis) or "")
    shared = Settings(workers=3, database_url="postgresql+psycopg://h/db", redis_url="redis://h:6379/0", _env_file=None)  # type: ignore[call-arg]
    assert refusal(shared) is None


def test_server_refuses_several_embedded_workers_at_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(WORKERS="2", DATA_DIR=str(tmp_path), PORT="1")  # never listens: refused before uvicorn
    done = subprocess.run([sys.executable, "server.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "WORKERS=2" in done.stderr and "not starting" in done.stderr


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
