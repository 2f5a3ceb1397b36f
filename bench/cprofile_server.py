"""Where the server's CPU goes, function by function: `python bench/cprofile_server.py [--pg]
[--messages N] [--out FILE]` starts `server.py` under cProfile with a CPU clock (time.process_time,
so a coroutine waiting for the database counts nothing), drives bench_web's conversations at it
(32 in flight), stops it and prints the app's functions by cumulative CPU as a share of the web
webhook's, and the exclusive CPU by package. cProfile slows Python code several times more than
C code: use the shares to find hot spots, and bench_web.py (without a profiler) for the figures.

`--pg` uses BENCH_DATABASE_URL / BENCH_REDIS_URL as bench_web.py does; otherwise the embedded mode.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import signal
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def serve_profiled(out: str) -> None:
    """Child: the server under cProfile; SIGTERM ends uvicorn, then the stats are written."""
    import server

    def stop(*_: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)  # uvicorn restores this handler and re-raises it at the end
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        server.main()
    finally:
        profiler.disable()
        profiler.dump_stats(out)


def report(path: str, top: int) -> None:
    stats = pstats.Stats(path).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values())
    webhook = max((v[3] for k, v in stats.items() if k[2] == "rest_webhook"), default=0.0) or 1.0
    print(f"CPU under cProfile: {total:.1f} s in all, {webhook:.1f} s in the web webhook (100 %)")
    own: collections.Counter[str] = collections.Counter()
    for (file, _, name), (_, _, tottime, _, _) in stats.items():
        if "site-packages/" in file:
            own[file.split("site-packages/")[1].split("/")[0]] += tottime
        elif str(HERE.parent) in file:
            own[file.replace(str(HERE.parent) + "/", "").split("/")[0]] += tottime
        else:
            own["stdlib / builtins" if file != "~" else f"builtin {name[:40]}"] += tottime
    print("exclusive CPU by package (% of all):")
    for key, value in own.most_common(15):
        print(f"  {100 * value / total:5.1f}  {key}")
    rows = []
    for (file, line, name), (_, calls, _, cumtime, _) in stats.items():
        if str(HERE.parent) in file and ".venv" not in file:
            rows.append((cumtime, calls, f"{file.replace(str(HERE.parent) + '/', '')}:{line} {name}"))
    print("app functions by cumulative CPU (% of the webhook's; start-up functions included):")
    for cumtime, calls, where in sorted(rows, reverse=True)[:top]:
        print(f"  {100 * cumtime / webhook:6.1f} %  {calls:7d} calls  {where}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", action="store_true")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--live", action="store_true", help="clients hold WebSockets open (bench_web --live)")
    parser.add_argument("--out", default=str(HERE / "results" / "server.prof"))
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the child's own mode
    args = parser.parse_args()
    if args.serve:
        serve_profiled(args.serve)
        return 0
    import bench_web as web

    work = Path(tempfile.mkdtemp(prefix="cprofile-"))
    (work / "data").mkdir()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    database_url, redis_url = (web.PG_URL, web.REDIS_URL) if args.pg else ("", "")
    port = web.free_port()
    env = web.server_env(work / "data", port, database_url, redis_url)
    if database_url:
        web.reset_postgres(database_url)
        web.reset_redis(redis_url)
    web.migrate(env)
    web.run_cmd([sys.executable, "-m", "knowledge", "demo", "load"], env)
    web.run_cmd([sys.executable, "-m", "nlu", "train"], env)  # not trained inside the profile
    served = web.Served(
        [sys.executable, str(Path(__file__).resolve()), "--serve", args.out], cwd=web.ROOT, env=env, port=port,
        log_path=work / "server.log", ready=web._answers, start_seconds=180, what="profiled server",
    )  # fmt: skip
    try:
        conversations = list(zip(web.senders(500), web.plan(500), strict=True))
        base = served.url("")
        web.run_load(web.load(base, conversations[::-1], 200, 32, 60, live=args.live))
        run = web.run_load(web.load(base, conversations, args.messages, 32, 300, live=args.live))
        print(f"{len(run['latencies'])} messages (after 200 warm-up messages)")
    finally:
        served.stop()
    report(args.out, args.top)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
