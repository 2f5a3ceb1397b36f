"""Web chat benchmark: `python bench/bench_web.py [--messages N] [--concurrency C] [--configs ...]`.

Drives the app only from outside: `python server.py` as a child process (configured by HOST, PORT,
DATA_DIR, DATABASE_URL, REDIS_URL, SECRET_KEY), the migration and demo-load commands as
subprocesses, and HTTP (`POST /webhooks/rest/webhook`, CONTRACTS §3). Nothing of bot/ is imported,
so it keeps working while the app is restructured.

Configurations (each: fresh database, a warm-up, then a bounded number of messages):
  embedded      SQLite under DATA_DIR, no Redis (the `make run` defaults)
  pg            PostgreSQL (database bench_f, reset first) + Redis db 9
  pg-100k       the same after 100,000 stored messages (bulk SQL: half of them are the history of
                the very conversations the load talks to, half belong to 5,000 other conversations)

Per configuration: msg/s, latency p50/p99, server CPU per message (utime+stime of the server
process tree from /proc/<pid>/stat, children included, over the measured window only), RSS and
USS per server process (/proc/<pid>/smaps_rollup). The load generator is this process (httpx,
asyncio) — its CPU is not counted, but it shares the 2 cores with the server.

`--count` adds a pass through counting proxies (PostgreSQL wire protocol and RESP) that reports
SQL statements, transactions and Redis commands per message. `--profile` samples the server
with py-spy during the pg configuration (bench/results/web-profile.txt, collapsed stacks
summarised by layer). `BENCH_RASA=1` adds a Rasa 3.6.21 REST assistant as the peer, built outside
the repo and driven by the same load in the same run (bench/rasa_peer.py), and prints madoguchi's
msg/s ÷ Rasa's. Writes bench/results/web.json (the peer also bench/results/rasa.json).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import loadgen  # bench/ (on sys.path: this file runs as a script)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench_f")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

FIRST = [
    "住民票を取りたい",
    "粗大ごみを出したい",
    "児童手当の手続き",
    "一時預かりを使いたい",
    "転入届の必要書類は",
    "こんにちは",
    "印鑑登録証明書がほしい",
    "マイナンバーカードの暗証番号を忘れた",
    "国民健康保険の保険料について知りたい",
    "ペットボトルは何ごみですか",
    "母の介護の相談をしたい",
    "保育園の空き状況を知りたい",
    "区民館の集会室を予約したい",
    "道路に穴があいています",
    "子ども医療費の医療証をなくした",
]
FOLLOW = [
    "ありがとう",
    "はい",
    "いいえ",
    "窓口の場所は",
    "土曜日もやっていますか",
    "郵送でもできますか",
    "来週の火曜日に2歳の子を預けたい",
    "手数料はいくらですか",
    "やめる",
    "さようなら",
]


# ---------------------------------------------------------------- processes, CPU and memory


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree(pid: int) -> list[int]:
    """pid and all its descendants (uvicorn workers, a multiprocessing resource tracker …)."""
    parents: dict[int, list[int]] = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            parents[ppid].append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def cpu_seconds(pid: int, *, system_only: bool = False) -> float:
    """utime+stime+cutime+cstime of pid and its live descendants (reaped children are in cutime);
    `system_only`: stime+cstime, the kernel's share (sockets, page faults)."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime stime cutime cstime
        total += int(fields[12]) + int(fields[14]) if system_only else sum(int(x) for x in fields[11:15])
    return total / CLK_TCK


def memory(pid: int) -> list[dict[str, Any]]:
    """RSS, PSS and USS (private clean + dirty) in MB for each process of the server tree."""
    out = []
    for p in tree(pid):
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        kb = {}
        for line in rollup.splitlines()[1:]:
            name, _, rest = line.partition(":")
            kb[name] = int(rest.split()[0])
        out.append(
            {
                "pid": p,
                "cmd": cmd[:80],
                "rss_mb": round(kb.get("Rss", 0) / 1024, 1),
                "pss_mb": round(kb.get("Pss", 0) / 1024, 1),
                "uss_mb": round((kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)) / 1024, 1),
                # USS counts file pages (the mmapped Sudachi dictionary) as private when no other
                # process on the machine maps the file: anonymous memory is the steadier figure
                "anon_mb": round(kb.get("Anonymous", 0) / 1024, 1),
            }
        )
    return out


def run_cmd(argv: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def migrate(env: dict[str, str]) -> str:
    """The new command (`bot.store.migrate`) if it is there, else the old one (`bot.store.migrate`)."""
    for module in ("bot.store.migrate", "bot.store.migrate"):
        proc = run_cmd([sys.executable, "-m", module], env)
        if proc.returncode == 0:
            return module
        if f"No module named {module}" not in proc.stderr and "No module named 'bot.store'" not in proc.stderr:
            raise RuntimeError(f"{module} failed:\n{proc.stderr[-2000:]}")
    raise RuntimeError("no migration command found")


def server_env(data_dir: Path, port: int, database_url: str, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "WORKERS"))}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="bench-secret-0123456789abcdef",
        NLU_ENGINE="embedded",
        PYTHONUNBUFFERED="1",
        NO_PROXY="127.0.0.1",
    )
    if os.environ.get("BENCH_WORKERS"):  # WORKERS=N of the server under test (N>1: pg configs only)
        env["WORKERS"] = os.environ["BENCH_WORKERS"]
    return env


class Served:
    """A server process under measurement (madoguchi's, or the Rasa peer's in rasa_peer.py): started
    with its output in `log_path`, waited for until `ready(self)` says so, stopped with SIGTERM."""

    def __init__(
        self, argv: list[str], *, cwd: Path, env: dict[str, str], port: int, log_path: Path,
        ready: Callable[[Served], bool], start_seconds: float, what: str,
    ) -> None:  # fmt: skip
        self.port = port
        self.log = log_path.open("wb")
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + start_seconds
        while True:
            try:
                if ready(self):
                    return
            except (httpx.HTTPError, ValueError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{what} did not start; see {log_path}")
            time.sleep(0.2)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Server(Served):
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        super().__init__(
            [sys.executable, "server.py"], cwd=ROOT, env=env, port=int(env["PORT"]), log_path=log_path,
            ready=_answers,
            start_seconds=600,  # the first start trains the NLU model
            what="server",
        )  # fmt: skip


def _answers(served: Served) -> bool:
    return httpx.get(served.url("/webhooks/rest/"), trust_env=False, timeout=2).status_code == 200


# ---------------------------------------------------------------- databases


def pg_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def reset_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(pg_dsn(url), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def reset_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def senders(conversations: int) -> list[str]:
    return [f"bench-{i:05d}" for i in range(conversations)]


def seed_postgres(url: str, total: int, bench_senders: list[str]) -> dict[str, Any]:
    """`total` messages by bulk SQL: half the history of the load's own conversations, half in 5,000
    other conversations; created_at spread over the past 180 days."""
    import psycopg

    own = total // 2
    per_own = max(1, own // len(bench_senders))
    others, per_other = 5000, max(1, (total - per_own * len(bench_senders)) // 5000)
    started = time.perf_counter()
    with psycopg.connect(pg_dsn(url)) as conn:
        conn.execute(
            """INSERT INTO conversations (id, channel, sender_id, status, created_at, updated_at)
               SELECT 'web:' || s, 'web', s, 'bot', now() - interval '180 days', now() - interval '1 day'
               FROM unnest(%s::text[]) AS s""",
            (bench_senders,),
        )
        conn.execute(
            """INSERT INTO conversations (id, channel, sender_id, status, created_at, updated_at)
               SELECT 'web:seed-' || g, 'web', 'seed-' || g, 'bot', now() - interval '180 days', now()
               FROM generate_series(1, %s) g""",
            (others,),
        )
        texts = FIRST + FOLLOW
        for ids, per in (
            ("SELECT 'web:' || s AS cid FROM unnest(%(own)s::text[]) s", per_own),
            ("SELECT 'web:seed-' || g AS cid FROM generate_series(1, %(others)s) g", per_other),
        ):
            conn.execute(
                f"""INSERT INTO messages (conversation_id, direction, channel, author, text, payload, intent,
                                          confidence, external_id, created_at)
                    SELECT c.cid,
                           CASE WHEN n %% 2 = 0 THEN 'in' ELSE 'out' END, 'web',
                           CASE WHEN n %% 2 = 0 THEN 'resident' ELSE 'bot' END,
                           CASE WHEN n %% 2 = 0 THEN (%(texts)s::text[])[1 + (n / 2) %% %(ntexts)s]
                                ELSE 'ご案内します。必要なものは本人確認書類です。窓口は区役所1階の区民課です。' END,
                           CASE WHEN n %% 2 = 1 THEN '{{"buttons": [{{"title": "はい", "payload": "/affirm"}}]}}'::json END,
                           CASE WHEN n %% 2 = 0 THEN 'greet' END,
                           CASE WHEN n %% 2 = 0 THEN 0.9 END,
                           NULL,
                           now() - interval '180 days' + n * interval '1 minute'
                    FROM ({ids}) c CROSS JOIN generate_series(0, %(per)s - 1) n""",
                {"own": bench_senders, "others": others, "per": per, "texts": texts, "ntexts": len(texts)},
            )
        conn.commit()
        count = conn.execute("SELECT count(*) FROM messages").fetchone()[0]  # type: ignore[index]
    with psycopg.connect(pg_dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {"messages": count, "per_load_conversation": per_own, "seconds": round(time.perf_counter() - started, 1)}


# ---------------------------------------------------------------- load


def plan(conversations: int, seed: int = 12) -> list[list[str]]:
    """Per conversation: a first message, then 2–8 follow-ups (some pressing the last reply's
    first button, marked None here)."""
    rng = random.Random(seed)
    out = []
    for i in range(conversations):
        turns = [FIRST[i % len(FIRST)]]
        for _ in range(rng.randint(2, 8)):
            turns.append(None if rng.random() < 0.3 else rng.choice(FOLLOW))  # type: ignore[arg-type]
        out.append(turns)
    return out


async def load(
    base: str,
    conversations: list[tuple[str, list[str]]],
    messages: int,
    concurrency: int,
    max_seconds: float,
    *,
    live: bool = False,
) -> dict[str, Any]:
    """`concurrency` clients; each takes a conversation and sends its turns one after another
    (like a resident waiting for the answer), until `messages` were sent or time is up. `live`:
    like the widget, each client holds the conversation's WebSocket open while it talks (the
    server then also sends every new transcript row as a frame)."""
    queue: collections.deque[tuple[str, list[str]]] = collections.deque(conversations)
    latencies: list[float] = []
    statuses: collections.Counter[int | str] = collections.Counter()
    budget = [messages]
    deadline = time.monotonic() + max_seconds
    client = loadgen.Client(base, concurrency)

    frames = [0]

    async def worker() -> None:
        while queue and budget[0] > 0 and time.monotonic() < deadline:
            sender, turns = queue.popleft()
            queue.append((sender, turns))  # cycle: a conversation comes back later
            if not live:
                await talk(sender, turns)
                continue
            import websockets  # uvicorn[standard] brings it

            ws_url = base.replace("http://", "ws://", 1) + "/webhooks/rest/ws"
            async with websockets.connect(ws_url, max_size=None) as ws:
                await ws.send(json.dumps({"sender": sender, "after": None}))
                reader = asyncio.create_task(drain(ws))
                try:
                    await talk(sender, turns)
                finally:
                    reader.cancel()

    async def drain(ws: Any) -> None:
        async for _ in ws:
            frames[0] += 1

    async def talk(sender: str, turns: list[str]) -> None:
        buttons: list[str] = []
        for text in turns:
            if budget[0] <= 0 or time.monotonic() > deadline:
                return
            budget[0] -= 1
            message = text if text is not None else (buttons[0] if buttons else "はい")
            body = json.dumps({"sender": sender, "message": message}, ensure_ascii=False).encode()
            started = time.perf_counter()
            try:
                status, data = await client.post_json("/webhooks/rest/webhook", body)
            except (TimeoutError, OSError, EOFError, ValueError, loadgen.LoadError) as exc:
                latencies.append(time.perf_counter() - started)  # dropped or broken: count it, go on
                statuses[type(exc).__name__] += 1
                break
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            buttons = []
            if status == 200:
                for reply in json.loads(data):
                    buttons += [b["payload"] for b in reply.get("buttons") or [] if "payload" in b]

    cpu = time.process_time()  # the load generator's own CPU (this process), beside the server's
    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await client.aclose()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    return {"latencies": latencies, "statuses": dict(statuses), "wall": wall, "loadgen_cpu": cpu, "frames": frames[0]}


def run_load(coroutine: Any) -> Any:
    """The load on uvloop when it is there (uvicorn[standard] brings it): less CPU for the generator."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ---------------------------------------------------------------- counting proxies (--count)


class CountingProxy:
    """A loopback TCP proxy that parses what the client sends: PostgreSQL frontend messages
    (Query / Parse+Bind+Execute) or RESP commands, and counts statements / commands."""

    def __init__(self, target_port: int, kind: str) -> None:
        self.target_port, self.kind = target_port, kind
        self.port = free_port()
        self.counts: collections.Counter[str] = collections.Counter()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", self.port))
        ready.set()
        self.loop.run_forever()
        server.close()

    def reset(self) -> None:
        self.loop.call_soon_threadsafe(self.counts.clear)

    def snapshot(self) -> dict[str, int]:
        done = threading.Event()
        out: dict[str, int] = {}
        self.loop.call_soon_threadsafe(lambda: (out.update(self.counts), done.set()))
        done.wait()
        return out

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        parse = self._pg if self.kind == "pg" else self._resp

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, inspect: bool) -> None:
            state: dict[str, Any] = {"buf": b"", "startup": True, "stmts": {}}
            try:
                while data := await src.read(65536):
                    if inspect:
                        state["buf"] += data
                        parse(state)
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))

    def _pg(self, st: dict[str, Any]) -> None:
        buf = st["buf"]
        while True:
            if st["startup"]:  # untyped startup / SSLRequest message
                if len(buf) < 4:
                    break
                (n,) = struct.unpack("!I", buf[:4])
                if len(buf) < n:
                    break
                code = struct.unpack("!I", buf[4:8])[0]
                buf = buf[n:]
                if code != 80877103:  # not an SSLRequest: the real startup message
                    st["startup"] = False
                continue
            if len(buf) < 5:
                break
            kind, (n,) = buf[:1], struct.unpack("!I", buf[1:5])
            if len(buf) < 1 + n:
                break
            body, buf = buf[5 : 1 + n], buf[1 + n :]
            if kind == b"Q":
                self._count_sql(body.rstrip(b"\0").decode(errors="replace"))
            elif kind == b"P":
                name, _, rest = body.partition(b"\0")
                st["stmts"][name] = rest.split(b"\0", 1)[0].decode(errors="replace")
            elif kind == b"B":
                _portal, _, rest = body.partition(b"\0")
                st["bound"] = st["stmts"].get(rest.split(b"\0", 1)[0], "?")
            elif kind == b"E":
                self._count_sql(st.get("bound", "?"))
        st["buf"] = buf

    def _count_sql(self, sql: str) -> None:
        words = sql.strip().split()
        verb = words[0].upper() if words else "?"
        table = ""
        up = [w.upper().strip('"(') for w in words]
        for key in ("FROM", "INTO", "UPDATE"):
            if key in up and up.index(key) + 1 < len(words):
                table = words[up.index(key) + 1].strip('"(').lower()
                break
        self.counts["statements"] += 1
        self.counts[f"{verb} {table}".strip()] += 1

    def _resp(self, st: dict[str, Any]) -> None:
        buf = st["buf"]
        while buf.startswith(b"*"):
            end = buf.find(b"\r\n")
            if end < 0:
                break
            n, pos, args = int(buf[1:end]), end + 2, []
            complete = True
            for _ in range(n):
                e = buf.find(b"\r\n", pos)
                if e < 0:
                    complete = False
                    break
                size = int(buf[pos + 1 : e])
                if len(buf) < e + 2 + size + 2:
                    complete = False
                    break
                args.append(buf[e + 2 : e + 2 + size])
                pos = e + 2 + size + 2
            if not complete:
                break
            buf = buf[pos:]
            self.counts["commands"] += 1
            self.counts[args[0].decode(errors="replace").upper() if args else "?"] += 1
        st["buf"] = buf


def with_port(url: str, port: int, extra: str = "") -> str:
    scheme, rest = url.split("://", 1)
    hostport, _, tail = rest.partition("/")
    auth = hostport.rsplit("@", 1)[0] + "@" if "@" in hostport else ""
    return f"{scheme}://{auth}127.0.0.1:{port}/{tail}{extra}"


# ---------------------------------------------------------------- profiling (--profile)

LAYERS = [  # first match wins, checked against the whole stack (innermost frames first)
    ("NLU (nlu/, sudachi, sklearn, numpy)", ("nlu/", "sudachipy", "sklearn", "numpy", "scipy")),
    ("JSON / logging", ("logging/", "bot/logs.py", "json/")),
    ("psycopg driver", ("psycopg/", "psycopg_binary")),
    ("SQLAlchemy ORM / core", ("sqlalchemy/",)),
    ("redis client", ("redis/",)),
    ("pydantic", ("pydantic",)),
    ("app code (bot/, handlers/, knowledge/)", ("bot/", "handlers/", "knowledge/")),
    ("FastAPI / Starlette", ("fastapi/", "starlette/")),
    ("uvicorn / httptools / h11", ("uvicorn/", "httptools", "h11/")),
    ("asyncio / event loop", ("asyncio/", "uvloop")),
]


def summarise_profile(raw: Path) -> dict[str, Any]:
    """py-spy --format raw: one 'frame;frame;... count' line per distinct stack (outermost first)."""
    layers: collections.Counter[str] = collections.Counter()
    leaf_functions: collections.Counter[str] = collections.Counter()
    app_frames: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        chosen = "other"
        for frame in reversed(frames):
            hit = next((name for name, keys in LAYERS if any(k in frame for k in keys)), None)
            if hit:
                chosen = hit
                break
        layers[chosen] += n
        leaf_functions[frames[-1]] += n
        seen = set()
        for frame in frames:
            if (
                any(k in frame for k in ("(bot/", "(handlers/", "(nlu/", "(knowledge/", "(server.py"))
                and frame not in seen
            ):
                seen.add(frame)
                app_frames[frame] += n
    pct = lambda n: round(100 * n / total, 1) if total else 0.0  # noqa: E731
    return {
        "samples": total,
        "by_layer_pct": {k: pct(v) for k, v in layers.most_common()},
        "top_leaf_functions_pct": {k: pct(v) for k, v in leaf_functions.most_common(15)},
        "top_app_frames_inclusive_pct": {k: pct(v) for k, v in app_frames.most_common(20)},
    }


# ---------------------------------------------------------------- one configuration


def run_config(
    name: str, args: argparse.Namespace, work: Path, proxies: dict[str, CountingProxy] | None = None
) -> dict[str, Any]:
    data_dir = work / "data"
    for f in data_dir.glob("madoguchi.db*"):
        f.unlink()
    port = free_port()
    database_url, redis_url = ("", "") if name == "embedded" else (PG_URL, REDIS_URL)
    result: dict[str, Any] = {"config": name}
    if database_url:
        reset_postgres(database_url)
        reset_redis(redis_url)
    if proxies:
        database_url = with_port(PG_URL, proxies["pg"].port, "?sslmode=disable")
        redis_url = with_port(REDIS_URL, proxies["redis"].port)
    env = server_env(data_dir, port, database_url, redis_url)
    result["migration_command"] = migrate(env)
    demo = run_cmd([sys.executable, "-m", "knowledge", "demo", "load"], env)
    result["demo_loaded"] = demo.returncode == 0
    conversations = list(zip(senders(args.conversations), plan(args.conversations), strict=True))
    if name.endswith("100k"):
        result["seed"] = seed_postgres(PG_URL, args.seed_messages, senders(args.conversations))
    server = Server(env, RESULTS / f"server-{name}.log")
    try:
        base = server.url("")
        live = getattr(args, "live", False)
        warm = run_load(load(base, conversations[::-1], args.warmup, args.concurrency, 60, live=live))
        mem_before = memory(server.proc.pid)
        cpu0, sys0 = cpu_seconds(server.proc.pid), cpu_seconds(server.proc.pid, system_only=True)
        if proxies:
            for p in proxies.values():
                p.reset()
        profiler = None
        if args.profile and name == args.profile_config:
            raw = RESULTS / "web-profile.raw"
            profiler = subprocess.Popen(
                [shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                 str(server.proc.pid), "--rate", "250", "--format", "raw", "--output", str(raw), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(1)
        run = run_load(load(base, conversations, args.messages, args.concurrency, args.max_seconds, live=live))
        cpu1, sys1 = cpu_seconds(server.proc.pid), cpu_seconds(server.proc.pid, system_only=True)
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
            if raw.exists():
                result["profile"] = summarise_profile(raw)
        if proxies:
            handled = len(run["latencies"])
            for key, p in proxies.items():
                counts = p.snapshot()
                result[f"{key}_per_message"] = {k: round(v / handled, 2) for k, v in sorted(counts.items())}
        result["memory_after_warmup"] = mem_before
        result["memory_after_load"] = memory(server.proc.pid)
        log_lines = sum(1 for _ in (RESULTS / f"server-{name}.log").open("rb"))
    finally:
        server.stop()
    lat = [x * 1000 for x in run["latencies"]]
    handled = len(lat)
    result.update(
        {
            "messages": handled,
            "warmup_messages": len(warm["latencies"]),
            "concurrency": args.concurrency,
            "statuses": run["statuses"],
            "ok_share": round(run["statuses"].get(200, 0) / handled, 3),
            "msg_per_s": round(handled / run["wall"], 1),
            "ok_msg_per_s": round(run["statuses"].get(200, 0) / run["wall"], 1),
            "latency_ms": {"p50": round(statistics.median(lat), 1), "p99": round(percentile(lat, 0.99), 1)},
            "server_cpu_ms_per_message": round(1000 * (cpu1 - cpu0) / handled, 2),
            "server_system_cpu_ms_per_message": round(1000 * (sys1 - sys0) / handled, 2),
            "server_cpu_utilisation": round((cpu1 - cpu0) / run["wall"], 2),
            "loadgen_cpu_ms_per_message": round(1000 * run["loadgen_cpu"] / handled, 2),
            "websocket_frames": run["frames"] if live else None,
            "server_log_lines_total": log_lines,
        }
    )
    return result


def median_of(runs: list[dict[str, Any]], key: str, sub: str | None = None) -> float:
    return round(statistics.median(r[key][sub] if sub else r[key] for r in runs), 2)


def summary_line(r: dict[str, Any]) -> str:
    mem = r["memory_after_load"]
    rss = "/".join(str(m["rss_mb"]) for m in mem)
    uss = "/".join(str(m["uss_mb"]) for m in mem)
    return (
        f"  {r['config']:<9} {r['msg_per_s']:>7} msg/s  p50 {r['latency_ms']['p50']:>7} ms  "
        f"p99 {r['latency_ms']['p99']:>7} ms  CPU {r['server_cpu_ms_per_message']:>6} ms/msg "
        f"(system {r.get('server_system_cpu_ms_per_message', '-')}; load generator {r.get('loadgen_cpu_ms_per_message', '-')})"
        f"  RSS {rss} MB  USS {uss} MB  ({r['messages']} msgs, statuses {r['statuses']}"
        + (f", {r['websocket_frames']} WebSocket frames)" if r.get("websocket_frames") is not None else ")")
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--live", action="store_true", help="each client holds its conversation's WebSocket open, as the widget does"
    )
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--seed-messages", type=int, default=100_000)
    parser.add_argument("--max-seconds", type=float, default=120, help="time bound of each measured load")
    parser.add_argument("--configs", default="embedded,pg,pg-100k")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--count", action="store_true", help="also count SQL statements / Redis commands")
    parser.add_argument("--count-messages", type=int, default=600)
    parser.add_argument("--profile", action="store_true", help="py-spy one configuration (--profile-config)")
    parser.add_argument("--profile-config", default="pg", help="the configuration --profile samples")
    parser.add_argument("--out", default="web.json", help="file name under bench/results")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)

    configs = [c for c in args.configs.split(",") if c]
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        work = Path(tmp)
        (work / "data").mkdir()
        # train the NLU model once, outside the server: a server that trains at start-up keeps the
        # training's memory, which would inflate the first configuration's RSS/USS
        trained = run_cmd(
            [sys.executable, "-m", "nlu", "train", "--model-dir", str(work / "data" / "models")], {**os.environ}
        )
        if trained.returncode != 0:
            print("nlu train failed; the first server start trains instead (its memory figures are inflated)")
        pg_ok = True
        try:
            reset_postgres(PG_URL)
            reset_redis(REDIS_URL)
        except Exception as exc:
            pg_ok = False
            print(f"PostgreSQL/Redis not reachable ({type(exc).__name__}): pg configurations skipped")
        for repeat in range(args.repeats):
            for name in configs:
                if name != "embedded" and not pg_ok:
                    continue
                r = run_config(name, args, work)
                r["repeat"] = repeat
                runs.append(r)
                print(summary_line(r), flush=True)
        counted = None
        if args.count and pg_ok:
            proxies = {"pg": CountingProxy(5432, "pg"), "redis": CountingProxy(6379, "redis")}
            count_args = argparse.Namespace(**{**vars(args), "messages": args.count_messages, "profile": False})
            counted = run_config("pg", count_args, work, proxies)
            print(f"  per message over {counted['messages']} messages: SQL {counted['pg_per_message']}")
            print(f"                                       Redis {counted['redis_per_message']}")
    by_config: dict[str, dict[str, Any]] = {}
    for name in configs:
        mine = [r for r in runs if r["config"] == name]
        if not mine:
            continue
        by_config[name] = {
            "repeats": len(mine),
            "msg_per_s": median_of(mine, "msg_per_s"),
            "ok_share": median_of(mine, "ok_share"),
            "p50_ms": median_of(mine, "latency_ms", "p50"),
            "p99_ms": median_of(mine, "latency_ms", "p99"),
            "server_cpu_ms_per_message": median_of(mine, "server_cpu_ms_per_message"),
            "server_cpu_ms_per_message_all": [r["server_cpu_ms_per_message"] for r in mine],
            "rss_mb_per_process": [m["rss_mb"] for m in mine[-1]["memory_after_load"]],
            "uss_mb_per_process": [m["uss_mb"] for m in mine[-1]["memory_after_load"]],
        }
    if "pg" in by_config and "pg-100k" in by_config:
        by_config["pg-100k"]["cpu_ratio_vs_empty"] = round(
            by_config["pg-100k"]["server_cpu_ms_per_message"] / by_config["pg"]["server_cpu_ms_per_message"], 2
        )
    print(f"web chat, {args.messages} messages per run, {args.concurrency} in flight, medians of {args.repeats}:")
    for name, s in by_config.items():
        print(
            f"  {name:<9} {s['msg_per_s']:>7} msg/s  p50 {s['p50_ms']:>7} ms  p99 {s['p99_ms']:>7} ms  "
            f"CPU {s['server_cpu_ms_per_message']:>6} ms/msg {s['server_cpu_ms_per_message_all']}  "
            f"RSS {s['rss_mb_per_process']} MB  USS {s['uss_mb_per_process']} MB"
        )
    import rasa_peer  # bench/ is on sys.path when this runs as a script

    peer = rasa_peer.run(args, by_config, pg_ok)
    out = RESULTS / args.out
    result = {
        "summary": by_config,
        "runs": runs,
        "statement_counts": counted,
        "rasa_peer": peer,
        "note": "loopback; server = `python server.py` (1 worker) as a child process; load generator httpx "
        "asyncio in the bench process (not counted, but it shares the 2 shared cores); medians over repeats",
    }
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
