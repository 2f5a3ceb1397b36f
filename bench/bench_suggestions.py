"""Suggestion evaluation per message with 100,000 residents on PostgreSQL:
`.venv/bin/python bench/bench_suggestions.py [--residents N] [--messages M]`.

Loads synthetic (random, FICTIONAL) households into a separate schema `bench_suggestions` of
DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test) and drops that schema at
the end; the public schema is never touched. Then, for random linked residents and messages, times:
- `evaluate`: what runs per message before anything is written: the one consent-gated household
  query (async psycopg, the app's path, on the turn's session) and the rules in memory;
- `hook_db_work`: everything the hook does in the database per turn (session, evaluate, audit row,
  interaction, commit), for comparison.
Writes bench/results/suggestions.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine  # noqa: E402

from bot.store.db import Base, async_url, sync_url  # noqa: E402
from handlers.suggestions import evaluate  # noqa: E402
from knowledge import residents as models  # noqa: E402
from knowledge.residents import Interaction, audit, utcnow  # noqa: E402
from knowledge.suggestions import RuleBook  # noqa: E402

SCHEMA = "bench_suggestions"
TODAY = date(2026, 11, 27)
INTENTS = ["childcare_temporary", "nursery_admission", "moving_in", "birth", "death", "care_certification",
           "juminhyo", "health_insurance", "pension", "waste_sorting"]  # fmt: skip
CARE = [None] * 8 + ["要支援1", "要介護2"]
TABLES = [models.Household, models.Resident, models.Consent, models.Interaction, models.SuggestionRecord,
          models.AuditLog]  # fmt: skip


def _schema_args() -> dict[str, Any]:
    return {"options": f"-c search_path={SCHEMA}"}


def load(url: str, n_residents: int, rng: random.Random) -> list[str]:
    """Create the schema and tables, COPY the synthetic residents; returns consenting resident ids."""
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()
    engine = create_engine(sync_url(url), connect_args=_schema_args())
    Base.metadata.create_all(engine, tables=[t.__table__ for t in TABLES])  # type: ignore[attr-defined,misc]
    households, residents, consents = _synthetic(n_residents, rng)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        _copy(cur, "households (id, updated_at)", households)
        _copy(
            cur, "residents (id, household_id, name, birth_date, relation_to_head, care_level, updated_at)", residents
        )
        _copy(cur, "consents (resident_id, scope, status, given_at, channel, updated_at)", consents)
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    engine.dispose()
    return [c[0] for c in consents]


def _copy(cur: Any, target: str, rows: list[tuple[Any, ...]]) -> None:
    with cur.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _synthetic(n: int, rng: random.Random) -> tuple[list[Any], list[Any], list[Any]]:
    now = utcnow()
    households: list[Any] = []
    residents: list[Any] = []
    consents: list[Any] = []
    i = 0
    while i < n:
        hid = f"H{len(households):06d}"
        households.append((hid, now))
        size = min(rng.choice([1, 2, 2, 3, 3, 4, 5]), n - i)
        for k in range(size):
            rid = f"R{i:07d}"
            age_days = rng.randint(0, 95 * 365)
            relation = "head" if k == 0 else rng.choice(["spouse", "child", "child", "mother", "father"])
            care = rng.choice(CARE) if age_days > 65 * 365 else None
            residents.append((rid, hid, "（架空）", TODAY - timedelta(days=age_days), relation, care, now))
            if k == 0 and rng.random() < 0.7:
                consents.append((rid, "suggestions", "given", now, "import", now))
            i += 1
    return households, residents, consents


async def measure(url: str, ids: list[str], messages: int, rng: random.Random) -> dict[str, Any]:
    engine = create_async_engine(async_url(url), connect_args=_schema_args(), pool_size=2)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    rules = RuleBook.load()
    evals, turns, matched = [], [], 0
    try:
        for n in range(messages + 200):  # the first 200 warm the pool and caches
            rid, intent = rng.choice(ids), rng.choice(INTENTS)
            start = time.perf_counter()
            async with sessions() as session, session.begin():  # what the hook does once per turn
                t0 = time.perf_counter()
                ev = await evaluate(session, rules, resident_id=rid, intent=intent, text="", today=TODAY, skip=[])
                t1 = time.perf_counter()
                if ev.read_household:
                    session.add(
                        audit(actor="system", action="read_profile", why=f"suggestion:{intent}", resident_id=rid)
                    )
                session.add(Interaction(resident_id=rid, kind="inquiry", intent=intent, created_at=utcnow()))
            end = time.perf_counter()
            if n >= 200:
                evals.append((t1 - t0) * 1000)
                turns.append((end - start) * 1000)
                matched += ev.match is not None
    finally:
        await engine.dispose()
    return {
        "evaluate_ms": _stats(evals),
        "hook_db_work_ms": _stats(turns),
        "suggestion_rate": matched / messages,
        "rules_in_memory_us": _rules_only(rules, rng),
    }


def _rules_only(rules: RuleBook, rng: random.Random) -> float:
    """Median microseconds of the rules alone on a 4-person household."""
    from knowledge.suggestions import Profile

    rows = [
        ("me", date(1988, 1, 1), "head", None, None),
        ("c", date(2022, 5, 1), "child", None, None),
        ("m", date(1950, 3, 3), "mother", "要介護1", None),
        ("s", date(1987, 1, 1), "spouse", None, None),
    ]
    times = []
    for _ in range(5000):
        intent = rng.choice(INTENTS)
        t = time.perf_counter()
        rules.evaluate(rules.candidates(intent), intent, "", Profile.from_rows("me", rows, TODAY))
        times.append((time.perf_counter() - t) * 1e6)
    return round(statistics.median(times), 2)


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 4),
        "p90": round(ordered[int(0.90 * len(ordered)) - 1], 4),
        "p99": round(ordered[int(0.99 * len(ordered)) - 1], 4),
        "mean": round(statistics.fmean(ordered), 4),
    }


def drop(url: str) -> None:
    engine = create_engine(sync_url(url))
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    if not url.startswith("postgresql"):
        sys.exit("this benchmark needs PostgreSQL (DATABASE_URL)")
    rng = random.Random(5)
    started = time.perf_counter()
    try:
        ids = load(url, args.residents, rng)
        loaded_s = time.perf_counter() - started
        result = asyncio.run(measure(url, ids, args.messages, rng))
    finally:
        drop(url)
    result = {
        "benchmark": "suggestions",
        "residents": args.residents,
        "consenting_residents": len(ids),
        "messages": args.messages,
        "load_seconds": round(loaded_s, 1),
        "what": "evaluate_ms: per message, the consent-gated household query (async psycopg, on the turn's "
        "session; includes the BEGIN) + the rules in memory. hook_db_work_ms: the hook's whole database work "
        "per turn: session checkout, evaluate, audit + interaction insert, COMMIT.",
        **result,
    }
    out = ROOT / "bench" / "results" / "suggestions.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
