"""`bench_line.py --rate R --seconds S`: LINE webhook acknowledgement at a fixed rate, open loop.

The app runs under uvicorn in a child process (as in bench_line.py) with the real NLU and turn
(`--nlu real`, the default here) or a turn that sleeps `--delay`; PostgreSQL + Redis when
DATABASE_URL / REDIS_URL are set, else SQLite. A separate process (bench/line_load.py) fires
R * S signed webhooks, one text event each from a distinct user, a share of them (`--redeliver`)
sent a second time as LINE's redelivery of the same event. Afterwards it waits until processing
is done and checks, in the database and at the stand-in: every event has exactly one inbound
message, no event is left pending, every outbox row of these users was sent, and the stand-in
received exactly as many batches as there are outbox rows (nothing lost, nothing twice).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench_line import ROOT, free_port, percentile, start_server
from bench_web import FIRST
from sqlalchemy import func, select

from bot.channels.line_outbox import OutboxRow, PendingEvent
from bot.store.db import make_sync_engine
from bot.store.models import Message
from tests.line import webhooks as wh
from tests.line.standin import StandIn


def plan(rate: float, seconds: float, redeliver: float) -> tuple[list[dict[str, str]], list[str], list[str]]:
    """Webhook bodies in sending order, the event ids and the users (distinct per run)."""
    run = uuid.uuid4().hex[:8]
    total = int(rate * seconds)
    bodies: list[dict[str, str]] = []
    ids: list[str] = []
    users: list[str] = []
    every = int(1 / redeliver) if redeliver else 0
    for i in range(total):
        user = f"U{run}{i:024x}"
        raw = wh.body(wh.text(FIRST[i % len(FIRST)], user=user))
        event_id = json.loads(raw)["events"][0]["webhookEventId"]
        ids.append(event_id)
        users.append(user)
        bodies.append({"body": raw.decode(), "signature": wh.sign(raw), "id": event_id})
        if every and i % every == every - 1 and i > 5:  # a redelivery of an event a few webhooks back
            again = json.loads(bodies[-5]["body"])
            again["events"][0]["deliveryContext"]["isRedelivery"] = True
            raw = json.dumps(again, ensure_ascii=False).encode()
            bodies.append({"body": raw.decode(), "signature": wh.sign(raw), "id": bodies[-5]["id"]})
    return bodies, ids, users


def warm_up(port: int, standin: StandIn, count: int = 20) -> None:
    """A few webhooks first, answered and delivered, so that what loads on first use (the Sudachi
    dictionary, compiled statements, connections) is not in the measured run."""
    import httpx

    for i in range(count):
        raw = wh.body(wh.text(FIRST[i % len(FIRST)], user=f"Uwarm{uuid.uuid4().hex}"))
        headers = {"Content-Type": "application/json", "X-Line-Signature": wh.sign(raw)}
        httpx.post(
            f"http://127.0.0.1:{port}/callback", content=raw, headers=headers, trust_env=False
        ).raise_for_status()
    if count:
        standin.wait_for(lambda s: len(s.delivered) >= count, timeout=120)
    standin.delivered.clear()


def descendants(pid: int) -> list[int]:
    """`pid`'s live children, grandchildren …: the LINE processing child, multiprocessing helpers."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *descendants(kid)]
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of the server, its live descendants (the processing child: its turns are the
    server's work too) and the children it reaped (cutime + cstime)."""
    total = 0
    for i, one in enumerate([pid, *descendants(pid)]):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if i == 0 else 0)
    return total / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> dict[str, dict[str, float]]:
    """RSS and its anonymous part of the server and of each descendant (MB): the processing child
    is a second interpreter with its own NLU, so a worker's memory is the sum."""
    out: dict[str, dict[str, float]] = {}
    for i, one in enumerate([pid, *descendants(pid)]):
        try:
            status = dict(
                line.split(":", 1) for line in Path(f"/proc/{one}/status").read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        name = "server" if i == 0 else f"child {one}"
        out[name] = {k: round(int(status.get(k, "0 kB").split()[0]) / 1024, 1) for k in ("VmRSS", "RssAnon")}
    return out


def check(url: str, ids: list[str], users: list[str], standin: StandIn, timeout: float) -> dict[str, Any]:
    """Wait until every event is processed and sent, then count what happened to each."""
    engine = make_sync_engine(url)
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while True:
            counts = dict(
                conn.execute(
                    select(Message.external_id, func.count())
                    .where(Message.channel == "line", Message.direction == "in", Message.external_id.in_(ids))
                    .group_by(Message.external_id)
                ).all()
            )
            rows = conn.execute(
                select(OutboxRow.recipient_id, OutboxRow.status).where(OutboxRow.recipient_id.in_(users))
            ).all()
            pending = conn.execute(
                select(func.count()).select_from(PendingEvent).where(PendingEvent.webhook_event_id.in_(ids))
            ).scalar_one()
            unsent = sum(1 for _, status in rows if status != "sent")
            done = len(counts) == len(ids) and not pending and not unsent
            if done or time.monotonic() > deadline:
                break
            conn.rollback()
            time.sleep(1.0)
    engine.dispose()
    wanted = set(users)
    by_user: Counter[str] = Counter()
    for d in standin.delivered:
        by_user[d.to if d.via == "push" else TOKENS.get(d.to, "?")] += 1
    rows_by_user = Counter(r for r, _ in rows)
    return {
        "events": len(ids),
        "processed_once": sum(1 for n in counts.values() if n == 1),
        "processed_twice_or_more": sum(1 for n in counts.values() if n > 1),
        "not_processed": len(ids) - len(counts),
        "left_pending": int(pending),
        "outbox_rows": len(rows),
        "outbox_unsent": unsent,
        "batches_received": sum(n for u, n in by_user.items() if u in wanted),
        "users_without_reply": sum(1 for u in wanted if by_user[u] == 0),
        "users_batches_differ_from_rows": sum(1 for u in wanted if by_user[u] != rows_by_user[u]),
    }


def gc_beside_stalls(path: str, fired: dict[str, Any], ms: list[float], rate: float) -> dict[str, Any]:
    """The server's GC passes while firing (seconds after webhook 0 was due), the long ones, and
    the acknowledgements slower than 100 ms (when they were due): does a stall sit on a GC pass?"""
    data = json.loads(Path(path).read_text())
    start, end = fired["start"], fired["start"] + len(ms) / rate + 1
    passes = [(round(t - start, 3), gen, dur, n) for t, gen, dur, n in data["passes"] if start <= t <= end]
    return {
        "frozen_objects": data["frozen"],
        "passes_by_generation": dict(Counter(str(gen) for _, gen, _, _ in passes)),
        "gc_ms_total": round(sum(dur for _, _, dur, _ in passes), 1),
        "passes_over_10ms": [p for p in passes if p[2] > 10],
        "acks_over_100ms_due_at_s": [round(i / rate, 2) for i, v in enumerate(ms) if v > 100][:40],
    }


TOKENS: dict[str, str] = {}  # reply token -> user, filled from the plan


def fixed_rate(args: argparse.Namespace) -> int:
    args.nlu = args.nlu or "real"
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    bodies, ids, users = plan(args.rate, args.seconds, args.redeliver)
    all_ids = list(ids)
    for item in bodies:
        event = json.loads(item["body"])["events"][0]
        TOKENS[event["replyToken"]] = event["source"]["userId"]
    standin = StandIn().start()
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        child = start_server(args, tmp, standin, free_port(), url, redis_url)
        port = int(child.args[child.args.index("--port") + 1])  # type: ignore[union-attr, index]
        try:
            warm_up(port, standin, 20 if args.workers else 0)
            cpu_before = cpu_seconds(child.pid)
            load_before = os.getloadavg()
            spy = None
            if os.environ.get("BENCH_PYSPY"):  # a profile of the server while it acknowledges
                spy = subprocess.Popen(
                    ["py-spy", "record", "-r", "250", "-f", "raw", "-o", os.environ["BENCH_PYSPY"]]
                    + ["-d", str(int(args.seconds)), "--pid", str(child.pid)],
                    stdout=subprocess.DEVNULL,
                )
            load = subprocess.run(
                [sys.executable, str(ROOT / "bench" / "line_load.py"), str(port), str(args.rate)],
                input="".join(json.dumps(b) + "\n" for b in bodies),
                capture_output=True,
                text=True,
                check=True,
            )
            cpu_ack = cpu_seconds(child.pid) - cpu_before
            if spy is not None:
                spy.wait()
            fired = json.loads(load.stdout)
            accepted = {b["id"] for b, status in zip(bodies, fired["answers"], strict=True) if status == 200}
            refused = [i for i in ids if i not in accepted]  # LINE would redeliver these; the bench does not
            ids = [i for i in ids if i in accepted]
            users = [u for u, i in zip(users, all_ids, strict=True) if i in accepted]
            started = time.perf_counter()
            verdict = (
                check(url, ids, users, standin, timeout=args.check_timeout)
                if args.workers
                else {"skipped": "--workers 0"}
            )
            drained_s = time.perf_counter() - started
            cpu_all = cpu_seconds(child.pid) - cpu_before
            memory = memory_mb(child.pid)
        finally:
            child.send_signal(signal.SIGTERM)
            child.wait(timeout=60)
            standin.stop()
    ms = fired["latencies_ms"]
    stalls = gc_beside_stalls(args.gc_log, fired, ms, args.rate) if args.gc_log else None
    result = {
        "backend": "postgresql+redis" if database_url else "sqlite (embedded)",
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "webhooks": len(bodies),
        "redeliveries": len(bodies) - len(ids),
        "nlu": args.nlu if args.nlu == "real" else f"delay {args.delay}s",
        "line_workers": args.workers,
        "processing": args.processing,
        "gc": args.gc,
        "switch_interval_ms": args.switch_interval or 5.0,
        "load_average_before_and_after": [round(x, 2) for x in (*load_before, *os.getloadavg())],
        "ack_synchronous_commit": not args.ack_async_commit,
        "ack_latency_ms": {
            "median": round(statistics.median(ms), 2),
            "p99": round(percentile(ms, 0.99), 2),
            "max": round(max(ms), 2),
        },
        "p99_ms_by_second": [
            round(percentile(ms[i : i + int(args.rate)], 0.99), 1) for i in range(0, len(ms), int(args.rate))
        ],
        "statuses": fired["statuses"],
        "stale_connections_resent": fired.get("stale_connections_resent", 0),
        "send_lateness_ms_max": fired["send_lateness_ms_max"],
        "server_cpu_s_while_firing": round(cpu_ack, 2),
        "processing_done_after_last_ack_s": round(drained_s, 1),
        "server_cpu_ms_per_event_total": round(cpu_all * 1000 / len(ids), 2),
        "memory_mb_after": memory,
        "events_refused_not_checked": len(refused),
        "exactly_once": verdict,
        "gc_and_stalls": stalls,
        "note": "open loop from a separate process; the app under uvicorn in a child; loopback; 2 shared cores",
    }
    out = ROOT / "bench" / "results" / "line_rate.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    lat = result["ack_latency_ms"]
    print(
        f"LINE webhook at {args.rate:g}/s for {args.seconds:g} s ({result['backend']}, NLU {result['nlu']}): "
        f"{len(bodies)} webhooks ({result['redeliveries']} redelivered)"
    )
    print(
        f"  ack latency median {lat['median']} ms, p99 {lat['p99']} ms, max {lat['max']} ms; statuses {fired['statuses']}"
        f" (kept-alive connections found closed and sent again: {result['stale_connections_resent']})"
    )
    print(
        f"  processing done {result['processing_done_after_last_ack_s']} s after the last ack; "
        f"server CPU {result['server_cpu_ms_per_event_total']} ms/event (with its processing child)"
    )
    print(f"  memory (MB): {json.dumps(memory)}")
    print(f"  exactly once: {json.dumps(verdict)}; refused (LINE would redeliver): {len(refused)}")
    print(f"  processing {args.processing}, gc {args.gc}; load average {result['load_average_before_and_after']}")
    if stalls:
        print(f"  gc: {json.dumps(stalls)}")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0
