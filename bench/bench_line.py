"""LINE webhook benchmark: `.venv/bin/python bench/bench_line.py [--events N] [--concurrency C] [--delay S]`
or, at a fixed rate, `bench/bench_line.py --rate 200 --seconds 20 [--nlu real|delay]`.

Starts the real app under uvicorn (a child process, on 127.0.0.1) with its LINE API pointed at the
local stand-in of the Messaging API, and an interpreter that takes DELAY seconds per message (a
slow NLU or handler). Fires N signed webhooks (one text event each, distinct users) with at most
C in flight, loopback only. Reports how fast `/callback` acknowledges (median, p99, max) while
processing is slow, the acknowledgement throughput, and how long until every reply reached the
stand-in (end-to-end throughput). Writes bench/results/line.json.

`--rate R --seconds S` (bench/line_rate.py): open loop, R signed webhooks a second for S seconds
from a separate process, the real NLU and turn (or `--nlu delay`), some webhooks redelivered; ack
latency median/p99/max, then it checks that every event was processed exactly once and every
reply reached the stand-in once. DATABASE_URL / REDIS_URL in the environment: PostgreSQL + Redis;
else the embedded mode (SQLite). Writes bench/results/line_rate.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from bot.channels.line_store import LineTuning  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store.db import migrate  # noqa: E402
from tests.line import webhooks as wh  # noqa: E402
from tests.line.standin import StandIn  # noqa: E402

MODEL_CACHE = Path(tempfile.gettempdir()) / "madoguchi-bench-line-models"  # trained once, reused


class DelayedInterpreter:
    """Answers every text as a greeting after `delay` seconds: the cost of a slow turn."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    async def parse(self, text: str, today: Any = None) -> dict[str, Any]:
        await asyncio.sleep(self.delay)
        return {"text": text, "intent": {"name": "greet", "confidence": 1.0}, "entities": [], "intent_ranking": []}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(args: argparse.Namespace) -> int:
    """The child process: the app under uvicorn, LINE API at the stand-in, a slow interpreter."""
    from server import create_app

    settings = Settings(
        data_dir=Path(args.data_dir),
        database_url=args.database_url,
        redis_url=args.redis_url,
        port=args.port,
        line_channel_secret=wh.SECRET,
        line_channel_access_token=StandIn.access_token,
        line_api_base_url=args.standin,
        secret_key="bench-line-secret-key-0123456789",  # PostgreSQL runs count as production
        _env_file=None,  # type: ignore[call-arg]
    )
    interpreter: Any = DelayedInterpreter(args.delay)
    if args.nlu == "real":
        from nlu.engine import load_or_train
        from nlu.interpreter import EmbeddedInterpreter

        interpreter = EmbeddedInterpreter(load_or_train(MODEL_CACHE))
    if args.processing == "process":  # the child builds its NLU from the settings: DATA_DIR/models
        if args.nlu != "real":
            sys.exit("--processing process needs --nlu real (the child loads the model; a delay cannot cross)")
        models = Path(args.data_dir) / "models"
        if not models.exists():
            models.symlink_to(MODEL_CACHE, target_is_directory=True)
    app = create_app(settings, interpreter=interpreter)
    app.state.line_tuning = LineTuning(
        workers=args.workers,
        queue_size=10_000,
        ack_synchronous_commit=not args.ack_async_commit,
        processing=args.processing,
    )
    watch_gc(app, args.gc_log, args.gc)
    if args.switch_interval:  # how soon a thread waiting for the GIL gets it (CPython's default: 5 ms)
        sys.setswitchinterval(args.switch_interval / 1000)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", log_config=None)
    return 0


def watch_gc(app: Any, log_path: str, mode: str) -> None:
    """`--gc-log PATH`: every garbage collection of the server (start on the monotonic clock the
    load generator uses, generation, duration, objects collected), written at shutdown, to put
    beside the acknowledgements' latencies. `--gc unfrozen` undoes the app's `gc.freeze()` after
    start-up (the code before it), `--gc frozen` leaves it."""
    import gc
    from contextlib import asynccontextmanager

    inner = app.router.lifespan_context
    passes: list[tuple[float, int, float, int]] = []
    started: list[float] = [0.0]

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            now = time.perf_counter()
            passes.append(
                (round(started[0], 4), info["generation"], round((now - started[0]) * 1000, 2), info["collected"])
            )

    @asynccontextmanager
    async def lifespan(a: Any) -> Any:
        async with inner(a) as state:
            if mode == "unfrozen":
                gc.unfreeze()
            if log_path:
                gc.callbacks.append(record)
            yield state
            if log_path:
                gc.callbacks.remove(record)
                Path(log_path).write_text(json.dumps({"frozen": gc.get_freeze_count(), "passes": passes}))

    app.router.lifespan_context = lifespan


def start_server(
    args: argparse.Namespace, tmp: str, standin: StandIn, port: int, url: str = "", redis_url: str = ""
) -> subprocess.Popen[bytes]:
    url = url or f"sqlite:///{Path(tmp) / 'bench.db'}"
    migrate(url)
    cmd = [
        sys.executable,
        __file__,
        "--serve",
        "--port",
        str(port),
        "--data-dir",
        tmp,
        "--database-url",
        url,
        "--standin",
        standin.url,
        "--delay",
        str(args.delay),
        "--workers",
        str(args.workers),
        "--nlu",
        args.nlu,
        "--redis-url",
        redis_url,
        "--processing",
        args.processing,
        "--gc",
        args.gc,
        "--gc-log",
        args.gc_log,
        "--switch-interval",
        str(args.switch_interval),
    ] + (["--ack-async-commit"] if args.ack_async_commit else [])
    child = subprocess.Popen(cmd, cwd=ROOT)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/webhooks/rest/", trust_env=False).status_code == 200:
                return child
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or child.poll() is not None:
            child.kill()
            raise RuntimeError("server did not start")
        time.sleep(0.1)


async def baseline(port: int, requests: int, concurrency: int) -> list[float]:
    """The same load on a trivial endpoint (GET /webhooks/rest/): the server's own floor."""
    limit = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:

        async def one() -> None:
            async with limit:
                started = time.perf_counter()
                (await client.get(f"http://127.0.0.1:{port}/webhooks/rest/")).raise_for_status()
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(one() for _ in range(requests)))
    return latencies


async def fire(port: int, events: int, concurrency: int) -> tuple[list[float], float]:
    limit = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    url = f"http://127.0.0.1:{port}/callback"

    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:

        async def one(i: int) -> None:
            raw = wh.body(wh.text("こんにちは", user=f"U{i:032x}"))
            headers = {"Content-Type": "application/json", "X-Line-Signature": wh.sign(raw)}
            async with limit:
                started = time.perf_counter()
                res = await client.post(url, content=raw, headers=headers)
                latencies.append(time.perf_counter() - started)
            res.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(events)))
        return latencies, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--delay", type=float, default=0.5, help="seconds each turn takes")
    parser.add_argument("--workers", type=int, default=LineTuning().workers)
    parser.add_argument("--rate", type=float, default=0, help="webhooks a second, open loop (bench/line_rate.py)")
    parser.add_argument("--seconds", type=float, default=20, help="how long --rate fires")
    parser.add_argument("--nlu", choices=("real", "delay"), default="", help="real NLU, or --delay per turn")
    parser.add_argument("--redeliver", type=float, default=0.02, help="--rate: share of webhooks sent twice")
    parser.add_argument("--check-timeout", type=float, default=600, help="--rate: wait this long for processing")
    parser.add_argument("--ack-async-commit", action="store_true", help="LineTuning.ack_synchronous_commit=False")
    parser.add_argument(
        "--processing", choices=("auto", "process", "thread", "inline"), default=LineTuning().processing
    )
    parser.add_argument("--gc", choices=("frozen", "unfrozen"), default="frozen", help="unfrozen: gc.unfreeze()")
    parser.add_argument("--switch-interval", type=float, default=0, help="ms: sys.setswitchinterval in the server")
    parser.add_argument("--gc-log", default="", help="write every GC pass of the server here (JSON)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", default="", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--standin", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve:
        return serve(args)
    if args.rate:
        from line_rate import fixed_rate

        return fixed_rate(args)
    args.nlu = args.nlu or "delay"
    standin = StandIn().start()
    with tempfile.TemporaryDirectory() as tmp:
        child = start_server(args, tmp, standin, free_port())
        port = int(child.args[child.args.index("--port") + 1])  # type: ignore[union-attr, index]
        try:
            floor = asyncio.run(baseline(port, args.events, args.concurrency))
            started = time.perf_counter()
            latencies, ack_seconds = asyncio.run(fire(port, args.events, args.concurrency))
            if args.workers:  # --workers 0 measures the acknowledgement alone
                standin.wait_for(lambda s: len(s.delivered) >= args.events, timeout=args.events * args.delay + 120)
            all_seconds = time.perf_counter() - started
        finally:
            child.send_signal(signal.SIGTERM)  # graceful: uvicorn runs the lifespan's shutdown
            child.wait(timeout=60)
            standin.stop()
    ms = [x * 1000 for x in latencies]
    result = {
        "events": args.events,
        "concurrency": args.concurrency,
        "turn_delay_s": args.delay,
        "line_workers": args.workers,
        "ack_latency_ms": {
            "median": round(statistics.median(ms), 2),
            "p99": round(percentile(ms, 0.99), 2),
            "max": round(max(ms), 2),
        },
        "trivial_endpoint_latency_ms": {
            "median": round(statistics.median(floor) * 1000, 2),
            "p99": round(percentile(floor, 0.99) * 1000, 2),
        },
        "ack_throughput_per_s": round(args.events / ack_seconds, 1),
        "all_replies_delivered_s": round(all_seconds, 2),
        "end_to_end_throughput_per_s": round(args.events / all_seconds, 1),
        "ideal_end_to_end_per_s": round(args.workers / args.delay, 1) if args.delay and args.workers else None,
        "replies_delivered": len(standin.delivered),
        "note": "loopback only; the app under uvicorn in a child process (SQLite, in-memory state); "
        "the load generator and the LINE API stand-in in this process; 2 shared CPU cores",
    }
    out = ROOT / "bench" / "results" / "line.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    lat, floor_ms = result["ack_latency_ms"], result["trivial_endpoint_latency_ms"]
    print(
        f"LINE webhook: {args.events} events, {args.concurrency} in flight, "
        f"{args.delay}s per turn, {args.workers} workers"
    )
    print(
        f"  ack latency median {lat['median']} ms, p99 {lat['p99']} ms, max {lat['max']} ms; "
        f"{result['ack_throughput_per_s']} acks/s"
    )
    print(f"  same load on a trivial GET: median {floor_ms['median']} ms, p99 {floor_ms['p99']} ms")
    print(
        f"  all replies delivered after {result['all_replies_delivered_s']} s "
        f"({result['end_to_end_throughput_per_s']} events/s end to end)"
    )
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
