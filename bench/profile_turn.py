"""Where a turn's CPU goes, without HTTP or a load generator: `python bench/profile_turn.py
[--turns N] [--concurrency C] [--pg URL] [--redis URL]` runs the bench's conversations through the
dispatcher in one process (C conversations at once, each in order) under cProfile and prints the
functions by own time and the CPU per turn. In-process, it is steadier than the HTTP bench on a
shared machine: use it to compare two trees, and bench_web.py for the figures that count (issue 12)."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


async def run(turns: int, profile: bool, concurrency: int = 1) -> tuple[float, int, cProfile.Profile | None]:
    import bench_web as web

    from bot.engine.assembly import build_dispatcher
    from bot.engine.events import Button, InboundEvent
    from bot.engine.identity import make_resolver
    from bot.engine.services import build_services
    from bot.settings import Settings
    from knowledge.loader import load_knowledge
    from server import build_interpreter

    settings = Settings()
    svc = build_services(settings, build_interpreter(settings))
    svc.resolve_resident = make_resolver(svc.sessionmaker, demo_mode=settings.demo_mode)
    await svc.hub.start()
    load_knowledge(svc)
    dispatcher = build_dispatcher(svc)
    plan = web.plan(200)
    events: list[tuple[str, str | None]] = []
    for i, turns_ in enumerate(plan):
        events += [(f"prof-{os.getpid()}-{i}", text) for text in turns_]
    last: dict[str, list[Button]] = {}
    done, profiler = 0, cProfile.Profile() if profile else None
    by_sender: dict[str, list[str | None]] = {}
    for sender, text in events:
        by_sender.setdefault(sender, []).append(text)
    queue = list(by_sender.items())

    async def talk() -> None:  # one conversation at a time, its turns in order
        nonlocal done
        while queue and done < turns:
            sender, texts = queue.pop(0)
            for text in texts:
                if done >= turns:
                    return
                if text is None:
                    buttons = last.get(sender) or []
                    if not buttons:
                        continue
                    text = buttons[0].payload
                replies = await dispatcher.handle(InboundEvent(channel="web", sender_id=sender, text=text))
                last[sender] = [b for r in replies for b in (*r.buttons, *(r.card.buttons if r.card else ()))]
                done += 1

    started = time.process_time()
    if profiler is not None:
        profiler.enable()
    await asyncio.gather(*(talk() for _ in range(concurrency)))
    if profiler is not None:
        profiler.disable()
    cpu = time.process_time() - started
    await svc.close()
    return cpu, done, profiler


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=600)
    parser.add_argument("--pg", help="a PostgreSQL URL (migrated and loaded here); else a fresh SQLite file")
    parser.add_argument("--redis", help="a Redis URL")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--concurrency", type=int, default=1, help="conversations talking at once")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", help="also write the pstats file here (for sorting by cumulative time)")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="profile-turn-")
    os.environ.setdefault("DATA_DIR", data_dir)
    os.environ["DEMO_MODE"] = "1"
    if args.pg:
        os.environ["DATABASE_URL"] = args.pg
    if args.redis:
        os.environ["REDIS_URL"] = args.redis
    import subprocess

    subprocess.run([sys.executable, "-m", "bot.migrate"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "knowledge", "demo", "load"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "nlu", "train"], check=True, stdout=subprocess.DEVNULL)
    asyncio.run(run(50, False))  # warm-up: models loaded, statements prepared
    cpu, done, profiler = asyncio.run(run(args.turns, not args.no_profile, args.concurrency))
    how = f"{args.concurrency} at once" + (", under cProfile" if profiler else "")
    print(f"{done} turns, CPU {1000 * cpu / done:.2f} ms/turn (in-process, {how})")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.top)
        if args.dump:
            profiler.dump_stats(args.dump)
    return 0


if __name__ == "__main__":
    sys.exit(main())
