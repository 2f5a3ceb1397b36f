"""A Rasa 3.6.21 REST assistant as bench_web's peer (`BENCH_RASA=1`), or alone:
`python bench/rasa_peer.py [--messages N] [--concurrency C] [--pg]`.

Everything of Rasa lives outside the repo, under $BENCH_RASA_CACHE (default ~/.cache/madoguchi-bench):
  rasa3621/           a Python 3.10 venv with rasa==3.6.21 (+ sudachipy, sudachidict-core), made once
  projects/<hash>/    the generated Rasa project and its trained model, keyed by a hash of nlu/data
                      (the same top-level *.yml files madoguchi trains on) and of this generator
The project: one intent per nlu/data intent (examples with entity annotations stripped, as
madoguchi's own trainer reads them), a domain with one `utter_<intent>` per intent and a rule
answering each intent with it; pipeline = a Sudachi tokenizer component (the Sudachi core
dictionary in mode C, as madoguchi's NLU), word and char_wb 1–4 count vectors, DIETClassifier
(intents only, 20 epochs); policies = RulePolicy alone. Then `rasa run --enable-api` on
127.0.0.1 with a free port, driven by bench_web's own `load()` with the same conversations at
Rasa's `/webhooks/rest/webhook`; CPU per message from the `rasa run` process tree over the
measured window, as bench_web does for madoguchi.

Tracker stores: `memory` (Rasa's default, InMemoryTrackerStore) always; `pg` (SQLTrackerStore in
PostgreSQL bench_f + RedisLockStore in Redis db 9, the stores madoguchi's pg configuration uses)
when PostgreSQL and Redis answer. Nothing of this is the app's environment.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import bench_web as web
import httpx
import yaml

RASA_VERSION = "3.6.21"
CACHE = Path(os.environ.get("BENCH_RASA_CACHE", "~/.cache/madoguchi-bench")).expanduser()
VENV = CACHE / "rasa3621"
PEER_PACKAGES = [f"rasa=={RASA_VERSION}", "sudachipy>=0.6.8,<0.8", "sudachidict-core>=20240409"]
EPOCHS = 20

TOKENIZER = '''"""Sudachi (core dictionary, mode C) as a Rasa 3 tokenizer: WhitespaceTokenizer cannot split Japanese."""
from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message
from sudachipy import Dictionary, SplitMode


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class SudachiTokenizer(Tokenizer):
    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"intent_tokenization_flag": False, "intent_split_symbol": "_", "token_pattern": None,
                "prefix_separator_symbol": None}

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        self._tokenizer = Dictionary(dict="core").create(mode=SplitMode.C)

    @classmethod
    def create(cls, config, model_storage, resource, execution_context):  # type: ignore[no-untyped-def]
        return cls(config)

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sudachipy"]

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute) or ""
        tokens = [Token(m.surface(), m.begin(), lemma=m.normalized_form())
                  for m in self._tokenizer.tokenize(text) if m.surface().strip()]
        return self._apply_token_pattern(tokens)
'''

CONFIG = {
    "recipe": "default.v1",
    "language": "ja",
    "assistant_id": "madoguchi-bench-peer",
    "pipeline": [
        {"name": "sudachi_tokenizer.SudachiTokenizer"},
        {"name": "CountVectorsFeaturizer"},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
        {"name": "DIETClassifier", "epochs": EPOCHS, "entity_recognition": False, "constrain_similarities": True},
    ],
    "policies": [{"name": "RulePolicy"}],
}


class PeerUnavailable(Exception):
    """The peer cannot be built or started here; the message says why."""


# ---------------------------------------------------------------- the venv


def python310() -> str:
    found = [os.environ.get("BENCH_RASA_PYTHON", ""), shutil.which("python3.10") or ""]
    found += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python3.10")), reverse=True)
    found += ["/usr/bin/python3.10", "/usr/local/bin/python3.10"]
    for candidate in found:
        if candidate and Path(candidate).exists():
            probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 10))"],
                                   capture_output=True, text=True)  # fmt: skip
            if probe.stdout.strip() == "True":
                return candidate
    raise PeerUnavailable("no Python 3.10 found (set BENCH_RASA_PYTHON to one)")


def venv_ready() -> bool:
    python = VENV / "bin" / "python"
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", "import rasa.version, sudachipy, sudachidict_core; print(rasa.version.__version__)"],
        capture_output=True, text=True,
    )  # fmt: skip
    return probe.returncode == 0 and probe.stdout.strip() == RASA_VERSION


def ensure_venv() -> dict[str, Any]:
    """Make (once) or reuse the Python 3.10 venv with Rasa; pip's output goes to CACHE/install.log."""
    started = time.perf_counter()
    if venv_ready():
        return {"venv": str(VENV), "built": False, "seconds": round(time.perf_counter() - started, 1)}
    CACHE.mkdir(parents=True, exist_ok=True)
    log_path = CACHE / "install.log"
    print(f"rasa peer: installing Rasa {RASA_VERSION} into {VENV} (first time: many minutes; log {log_path})",
          flush=True)  # fmt: skip
    with log_path.open("a") as log:
        if not (VENV / "bin" / "python").exists():
            subprocess.run([python310(), "-m", "venv", str(VENV)], check=True, stdout=log, stderr=subprocess.STDOUT)
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--progress-bar", "off"]
        # the pip this was tested with (Python 3.10's own 23.x); pip 24.1+ refuses the legacy version
        # metadata some packages of that era carry, so a venv made by a newer Python is pinned down
        steps = [pip + ["pip<24.1", "wheel"], pip + PEER_PACKAGES]
        for argv in steps:
            log.write(f"\n$ {' '.join(argv)}\n")
            log.flush()
            proc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, timeout=3 * 3600)
            if proc.returncode != 0:
                tail = log_path.read_text(errors="replace").splitlines()[-15:]
                raise PeerUnavailable(f"pip install failed ({' '.join(argv[5:])}):\n" + "\n".join(tail))
    if not venv_ready():
        raise PeerUnavailable(f"Rasa {RASA_VERSION} installed but does not import; see {log_path}")
    return {"venv": str(VENV), "built": True, "seconds": round(time.perf_counter() - started, 1)}


# ---------------------------------------------------------------- the project and its model


def training_data() -> dict[str, list[str]]:
    """intent -> examples, read by the project's own reader (the files madoguchi trains on)."""
    sys.path.insert(0, str(web.ROOT))
    from nlu.trainingdata import load_examples

    by_intent: dict[str, list[str]] = {}
    for ex in load_examples(web.ROOT / "nlu" / "data"):
        if ex.text not in by_intent.setdefault(ex.intent, []):
            by_intent[ex.intent].append(ex.text)
    return by_intent


def project_key(by_intent: dict[str, list[str]]) -> str:
    h = hashlib.sha256(json.dumps(by_intent, ensure_ascii=False, sort_keys=True).encode())
    h.update(json.dumps(CONFIG, sort_keys=True).encode() + TOKENIZER.encode() + RASA_VERSION.encode())
    return h.hexdigest()[:16]


def write_project(path: Path, by_intent: dict[str, list[str]]) -> None:
    (path / "data").mkdir(parents=True, exist_ok=True)
    dump = lambda doc: yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=1000)  # noqa: E731
    nlu = [{"intent": i, "examples": "".join(f"- {t}\n" for t in ex)} for i, ex in by_intent.items()]
    (path / "data" / "nlu.yml").write_text(dump({"version": "3.1", "nlu": nlu}), encoding="utf-8")
    rules = [{"rule": f"answer {i}", "steps": [{"intent": i}, {"action": f"utter_{i}"}]} for i in by_intent]
    (path / "data" / "rules.yml").write_text(dump({"version": "3.1", "rules": rules}), encoding="utf-8")
    domain = {
        "version": "3.1",
        "intents": list(by_intent),
        "responses": {f"utter_{i}": [{"text": f"「{i}」についてご案内します。"}] for i in by_intent},
        "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
    }
    (path / "domain.yml").write_text(dump(domain), encoding="utf-8")
    (path / "config.yml").write_text(dump(CONFIG), encoding="utf-8")
    (path / "credentials.yml").write_text(dump({"rest": None}), encoding="utf-8")
    (path / "sudachi_tokenizer.py").write_text(TOKENIZER, encoding="utf-8")


def rasa_env(project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env.update(
        PATH=f"{VENV / 'bin'}:{env.get('PATH', '')}",
        PYTHONPATH=str(project),  # the custom tokenizer component
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        NO_PROXY="127.0.0.1",
        MPLCONFIGDIR=str(CACHE / "mpl"),
    )
    return env


def ensure_model() -> dict[str, Any]:
    by_intent = training_data()
    key = project_key(by_intent)
    project = CACHE / "projects" / key
    model = project / "models" / "peer.tar.gz"
    info = {"project": str(project), "intents": len(by_intent), "examples": sum(map(len, by_intent.values()))}
    if model.exists():
        return {**info, "model": str(model), "trained": False, "train_seconds": 0.0}
    write_project(project, by_intent)
    started = time.perf_counter()
    print(f"rasa peer: training ({info['intents']} intents, {info['examples']} examples) in {project}", flush=True)
    with (project / "train.log").open("w") as log:
        proc = subprocess.run(
            [str(VENV / "bin" / "rasa"), "train", "--config", "config.yml", "--domain", "domain.yml", "--data",
             "data", "--out", "models", "--fixed-model-name", "peer"],
            cwd=project, env=rasa_env(project), stdout=log, stderr=subprocess.STDOUT, timeout=3600,
        )  # fmt: skip
    if proc.returncode != 0 or not model.exists():
        tail = (project / "train.log").read_text(errors="replace").splitlines()[-15:]
        raise PeerUnavailable("rasa train failed:\n" + "\n".join(tail))
    return {**info, "model": str(model), "trained": True, "train_seconds": round(time.perf_counter() - started, 1)}


# ---------------------------------------------------------------- serving and measuring


def endpoints(store: str) -> dict[str, Any]:
    if store != "pg":
        return {}
    db_url = web.PG_URL.split("://", 1)[1]  # user@host:port/db
    user, _, hostpart = db_url.rpartition("@")
    hostport, _, db = hostpart.partition("/")
    host, _, port = hostport.partition(":")
    r_url = web.REDIS_URL.split("://", 1)[1]
    r_hostport, _, r_db = r_url.partition("/")
    r_host, _, r_port = r_hostport.partition(":")
    return {
        "tracker_store": {"type": "SQL", "dialect": "postgresql", "url": host, "port": int(port or 5432),
                          "db": db.split("?")[0], "username": user.split(":")[0] or "postgres",
                          "password": user.partition(":")[2] or None},
        "lock_store": {"type": "redis", "url": r_host, "port": int(r_port or 6379), "db": int(r_db or 0)},
    }  # fmt: skip


class RasaServer(web.Served):
    def __init__(self, project: Path, model: str, store: str, log_path: Path) -> None:
        port = web.free_port()
        (project / f"endpoints-{store}.yml").write_text(yaml.safe_dump(endpoints(store)), encoding="utf-8")

        def ready(served: web.Served) -> bool:  # /status names the model once it is loaded (the port opens before)
            res = httpx.get(served.url("/status"), trust_env=False, timeout=2)
            return res.status_code == 200 and bool(res.json().get("model_file"))

        try:
            super().__init__(
                [str(VENV / "bin" / "rasa"), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port), "-m",
                 model, "--credentials", "credentials.yml", "--endpoints", f"endpoints-{store}.yml"],
                cwd=project, env=rasa_env(project), port=port, log_path=log_path, ready=ready,
                start_seconds=300, what="rasa run",
            )  # fmt: skip
        except RuntimeError as exc:
            raise PeerUnavailable(str(exc)) from None


def measure(store: str, model: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The same warm-up and measured load bench_web's run_config gives madoguchi."""
    if store == "pg":
        web.reset_postgres(web.PG_URL)
        web.reset_redis(web.REDIS_URL)
    conversations = list(zip(web.senders(args.conversations), web.plan(args.conversations), strict=True))
    log_path = web.RESULTS / f"server-rasa-{store}.log"
    server = RasaServer(Path(model["project"]), model["model"], store, log_path)
    try:
        base = server.url("")
        warm = web.run_load(web.load(base, conversations[::-1], args.warmup, args.concurrency, 60))
        cpu0 = web.cpu_seconds(server.proc.pid)
        run = web.run_load(web.load(base, conversations, args.messages, args.concurrency, args.max_seconds))
        cpu1 = web.cpu_seconds(server.proc.pid)
        mem = web.memory(server.proc.pid)
    finally:
        server.stop()
    lat = [x * 1000 for x in run["latencies"]]
    handled = len(lat)
    return {
        "config": f"rasa-{store}",
        "tracker_store": "InMemoryTrackerStore"
        if store == "memory"
        else "SQLTrackerStore (PostgreSQL) + RedisLockStore",
        "messages": handled,
        "warmup_messages": len(warm["latencies"]),
        "concurrency": args.concurrency,
        "statuses": run["statuses"],
        "ok_share": round(run["statuses"].get(200, 0) / handled, 3),
        "msg_per_s": round(handled / run["wall"], 1),
        "latency_ms": {"p50": round(statistics.median(lat), 1), "p99": round(web.percentile(lat, 0.99), 1)},
        "server_cpu_ms_per_message": round(1000 * (cpu1 - cpu0) / handled, 2),
        "server_cpu_utilisation": round((cpu1 - cpu0) / run["wall"], 2),
        "loadgen_cpu_ms_per_message": round(1000 * run["loadgen_cpu"] / handled, 2),
        "memory_after_load": mem,
    }


def ratios(madoguchi: dict[str, dict[str, Any]], peers: dict[str, dict[str, Any]], key: str) -> dict[str, float]:
    """For each madoguchi configuration against each Rasa store: madoguchi ÷ Rasa of `key`
    (msg_per_s), or Rasa ÷ madoguchi of a cost (server_cpu_ms_per_message) — above 1 is madoguchi ahead."""
    out = {}
    for name, mine in madoguchi.items():
        for store, peer in peers.items():
            if peer.get(key) and mine.get(key):
                a, b = (mine[key], peer[key]) if key == "msg_per_s" else (peer[key], mine[key])
                out[f"{name} / rasa-{store}"] = round(a / b, 2)
    return out


def run(args: argparse.Namespace, madoguchi: dict[str, dict[str, Any]], pg_ok: bool) -> dict[str, Any] | None:
    """bench_web's entry: None (and a line saying so) unless BENCH_RASA=1."""
    if os.environ.get("BENCH_RASA") != "1":
        print("rasa peer skipped (set BENCH_RASA=1 to build and measure the Rasa 3.6.21 peer)")
        return None
    result: dict[str, Any] = {
        "rasa_version": RASA_VERSION,
        "pipeline": CONFIG["pipeline"],
        "policies": CONFIG["policies"],
    }
    result["loadavg_before"] = [round(x, 1) for x in os.getloadavg()]
    try:
        result["venv"] = ensure_venv()
        result["model"] = ensure_model()
        stores = ["memory"] + (["pg"] if pg_ok and any(n.startswith("pg") for n in madoguchi) else [])
        peers = {}
        for store in stores:
            peers[store] = measure(store, result["model"], args)
            print(web.summary_line(peers[store]), flush=True)
    except (PeerUnavailable, subprocess.SubprocessError, OSError) as exc:  # a venv or a train that failed
        print(f"rasa peer skipped: {exc}")
        return {**result, "skipped": str(exc)}
    result["runs"] = peers
    result["loadavg_after"] = [round(x, 1) for x in os.getloadavg()]
    result["ratio_msg_per_s"] = ratios(madoguchi, peers, "msg_per_s")
    # on a busy machine every server gets the same slice of CPU and msg/s follows the CPU per
    # message: Rasa's CPU per message ÷ madoguchi's is the steadier reading of the same question
    result["ratio_cpu_per_message"] = ratios(madoguchi, peers, "server_cpu_ms_per_message")
    print("madoguchi msg/s ÷ Rasa 3.6.21 msg/s (same machine, load and run), and Rasa CPU/msg ÷ madoguchi CPU/msg:")
    for pair, ratio in result["ratio_msg_per_s"].items():
        print(f"  {pair:<24} {ratio:>6}×   CPU {result['ratio_cpu_per_message'].get(pair, '-')}×")
    # the issue-12 target (≥ 5×) is read on the strictest pair: madoguchi with PostgreSQL + Redis
    # against Rasa on its default, fastest store (in memory); `pg / rasa-pg` is storage like for like
    head = next((p for p in ("pg / rasa-memory", "embedded / rasa-memory") if p in result["ratio_msg_per_s"]), None)
    if head:
        result["target_ratio"] = {"pair": head, "ratio": result["ratio_msg_per_s"][head], "target": 5.0}
        print(f"  target ≥ 5× on {head}: {result['ratio_msg_per_s'][head]}×")
    if "pg" not in peers and any(n.startswith("pg") for n in madoguchi):
        print("  note: madoguchi's pg figures use PostgreSQL + Redis; Rasa ran with its in-memory tracker store only")
    cores = os.cpu_count() or 1
    if max(result["loadavg_before"][0], result["loadavg_after"][0]) > cores:
        print(
            f"  note: the machine was busy (load average {result['loadavg_before'][0]} → "
            f"{result['loadavg_after'][0]} on {cores} cores): absolute figures are low and noisy"
        )
    (web.RESULTS / "rasa.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--max-seconds", type=float, default=120)
    parser.add_argument("--pg", action="store_true", help="also measure with the PostgreSQL tracker store")
    args = parser.parse_args()
    web.RESULTS.mkdir(parents=True, exist_ok=True)
    os.environ["BENCH_RASA"] = "1"
    run(args, {"pg": {}} if args.pg else {}, args.pg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
