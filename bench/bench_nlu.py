"""NLU benchmark: parse latency, throughput, peak RSS and out-of-domain (xSID-ja) false alarms.

Run: .venv/bin/python bench/bench_nlu.py   → prints a summary, writes bench/results/nlu.json
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlu.engine import NLUEngine, saved_hash, training_fingerprint  # noqa: E402
from nlu.text import dictionary_name  # noqa: E402
from nlu.trainingdata import DEFAULT_DATA_DIR, data_hash  # noqa: E402

XSID_DIR = ROOT.parent / "shared" / "datasets" / "xsid-ja"
RESULTS = ROOT / "bench" / "results" / "nlu.json"
DICT = dictionary_name()  # SUDACHI_DICT=small bench/bench_nlu.py measures the small dictionary
# The serving model lives in var/models; a model for another dictionary is kept apart (temp dir).
MODEL_DIR = ROOT / "var" / "models" if DICT == "core" else Path(tempfile.gettempdir()) / f"madoguchi-nlu-{DICT}"
RESULTS = RESULTS if DICT == "core" else RESULTS.with_name(f"nlu-{DICT}.json")
TODAY = dt.date(2026, 11, 27)
# `inform` (a bare slot answer: 明日, 7時) is not a municipal intent either.
CONVERSATION = {
    "greet",
    "goodbye",
    "thanks",
    "affirm",
    "deny",
    "request_human",
    "cancel",
    "bot_capabilities",
    "out_of_scope",
    "nlu_fallback",
    "inform",
}

# A realistic mix of what residents send (not training examples).
MESSAGES = [
    "こんにちは",
    "住民票を2通ほしいんですけど、土曜日も窓口あいてますか？",
    "ありがとうございました！",
    "来週の火曜日に2歳の子を預けたい",
    "粗大ごみで机を出したい。料金はいくら？",
    "はい",
    "いいえ",
    "マイナンバーカードの暗証番号を３回まちがえてロックされました",
    "引っ越してきたので手続きを教えて",
    "12月5日に市内で引っ越します",
    "母が要介護認定を受けたいと言っています。８２歳です",
    "国保の保険料が高くて払えません",
    "ペットボトルのキャップは何ごみ？",
    "職員さんと話したい",
    "戸籍謄本を郵送で取り寄せたい。本籍は令和2年に移しました",
    "夫に殴られて家に帰れない",
    "子どもの医療証をなくしちゃった",
    "避難所ってどこ？",
    "明日の午後3時に体育館を予約したい",
    "妊娠したので母子手帳をもらいたいです",
    "児童手当っていつ振り込まれる？",
    "今日の天気は？",
    "印鑑証明を３通",
    "年金の免除申請をしたい",
    "キャンセルで",
    "何ができるの？",
    "生活が苦しくて家賃が払えない",
    "がん検診の予約をしたいです😊",
    "父が亡くなりました。何をすればいいですか",
    "保育園の空き状況をおしえて",
]


def read_xsid(directory: Path) -> list[tuple[str, str]]:
    """(text, intent) of every utterance; the `# text` line is space-tokenized, join without spaces."""
    out = []
    for path in sorted(directory.glob("*.conll")):
        text = intent = None
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("# text ="):
                text = line.split("=", 1)[1].strip().replace(" ", "")
            elif line.startswith("# intent ="):
                intent = line.split("=", 1)[1].strip()
            elif not line.strip() and text is not None:
                out.append((text, intent or ""))
                text = intent = None
        if text is not None:
            out.append((text, intent or ""))
    return out


def latency(engine: NLUEngine, rounds: int = 40) -> dict[str, float]:
    for text in MESSAGES:  # warm-up (tokenizer, caches)
        engine.parse(text, today=TODAY)
    samples, cpu = [], []
    started = time.perf_counter()
    for _ in range(rounds):
        for text in MESSAGES:
            t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            engine.parse(text, today=TODAY)
            samples.append((time.perf_counter_ns() - t0) / 1e6)
            cpu.append((time.thread_time_ns() - c0) / 1e6)
    wall = time.perf_counter() - started
    samples.sort()
    cpu.sort()
    return {
        "messages": len(samples),
        "median_ms": round(statistics.median(samples), 4),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 4),
        "max_ms": round(samples[-1], 4),
        "messages_per_second": round(len(samples) / wall, 1),
        # CPU time of the parsing thread: on a shared machine, wall-clock p99 includes preemption
        "cpu_median_ms": round(statistics.median(cpu), 4),
        "cpu_p99_ms": round(cpu[int(len(cpu) * 0.99) - 1], 4),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def ood(engine: NLUEngine) -> dict[str, object]:
    if not XSID_DIR.is_dir():
        return {"skipped": f"{XSID_DIR} not found"}
    data = read_xsid(XSID_DIR)
    predicted = [str(engine.parse(text, today=TODAY)["intent"]["name"]) for text, _ in data]
    wrong = [(t, p) for (t, _), p in zip(data, predicted, strict=True) if p not in CONVERSATION]
    return {
        "utterances": len(data),
        "municipal_intent_share": round(len(wrong) / len(data), 4),
        "predicted": dict(Counter(predicted).most_common()),
        "wrong_examples": [f"{t} → {p}" for t, p in wrong[:15]],
    }


def _kb_fields(lines: list[str], keys: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in lines:
        key, _, value = line.partition(":")
        if key in keys and value.strip().endswith("kB"):
            out[key] = out.get(key, 0) + int(value.split()[0])
    return out


def dictionary_mapping() -> dict[str, float]:
    """Resident, shared and private memory of the memory-mapped Sudachi system dictionary
    (every mapping of a `system.dic`, from /proc/self/smaps)."""
    keys = ("Size", "Rss", "Pss", "Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty")
    totals = dict.fromkeys(keys, 0)
    path = ""
    current: str | None = None
    block: list[str] = []

    def flush() -> None:
        if current and current.endswith("system.dic"):
            for k, v in _kb_fields(block, keys).items():
                totals[k] += v

    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and ":" not in head[0]:  # a new mapping: "start-end perms …"
            flush()
            current, block = (head[5] if len(head) > 5 else None), []
            if current and current.endswith("system.dic"):
                path = current
        else:
            block.append(line)
    flush()
    out = {k.lower() + "_mb": round(v / 1024, 1) for k, v in totals.items()}
    out["path"] = path  # type: ignore[assignment]
    return out


def memory() -> dict[str, Any]:
    """Peak RSS (ru_maxrss), and from /proc: USS (private memory: Private_Clean + Private_Dirty of
    /proc/self/smaps_rollup, what the process alone costs), PSS, anon vs file-backed RSS, and the
    share of the Sudachi dictionary. Sudachi memory-maps its system dictionary (core ≈200 MB,
    small ≈115 MB): those pages count in RSS but are shared read-only file pages (page cache),
    which every process mapping the same file shares and the kernel can drop under pressure."""
    out: dict[str, Any] = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    try:
        status = _kb_fields(
            Path("/proc/self/status").read_text().splitlines(), ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem")
        )
        out.update({k: round(v / 1024, 1) for k, v in status.items()})
        rollup = _kb_fields(
            Path("/proc/self/smaps_rollup").read_text().splitlines(),
            ("Rss", "Pss", "Private_Clean", "Private_Dirty", "Shared_Clean", "Shared_Dirty"),
        )
        out["uss_mb"] = round((rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)) / 1024, 1)
        out["pss_mb"] = round(rollup.get("Pss", 0) / 1024, 1)
        out["rss_now_mb"] = round(rollup.get("Rss", 0) / 1024, 1)
        out["sudachi_dictionary"] = dictionary_mapping()
        dic = out["sudachi_dictionary"]
        out["rss_without_dictionary_mb"] = round(out["rss_now_mb"] - dic["rss_mb"], 1)
        # smaps calls a file page "private" when no other process maps it right now: with the
        # bench as the only Sudachi user, the read-only dictionary pages land in USS. They are
        # still clean file cache, shared as soon as a second process (the bot) maps the file.
        out["uss_without_dictionary_mb"] = round(out["uss_mb"] - dic["private_clean_mb"] - dic["private_dirty_mb"], 1)
    except (OSError, KeyError, ValueError) as exc:
        out["proc_error"] = repr(exc)
    return out


def _smaps_of(pid: int | str) -> dict[str, Any]:
    """RSS, PSS, USS and the Sudachi dictionary mapping of process `pid` (from its /proc files)."""
    proc = Path("/proc") / str(pid)
    keys = ("Rss", "Pss", "Private_Clean", "Private_Dirty", "Shared_Clean", "Shared_Dirty")
    rollup = _kb_fields((proc / "smaps_rollup").read_text().splitlines(), keys)
    status = _kb_fields((proc / "status").read_text().splitlines(), ("VmHWM", "RssAnon", "RssFile"))
    dic = dict.fromkeys(keys, 0)
    current: str | None = None
    for line in (proc / "smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and ":" not in head[0]:
            current = head[5] if len(head) > 5 else None
        elif current and current.endswith("system.dic"):
            for k, v in _kb_fields([line], keys).items():
                dic[k] += v
    mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
    uss = rollup.get("Private_Clean", 0) + rollup.get("Private_Dirty", 0)
    dic_private = dic["Private_Clean"] + dic["Private_Dirty"]
    return {
        "peak_rss_mb": mb(status.get("VmHWM", 0)),
        "rss_mb": mb(rollup.get("Rss", 0)),
        "anon_mb": mb(status.get("RssAnon", 0)),
        "pss_mb": mb(rollup.get("Pss", 0)),
        "uss_mb": mb(uss),
        "dictionary_rss_mb": mb(dic["Rss"]),
        "dictionary_shared_mb": mb(dic["Shared_Clean"] + dic["Shared_Dirty"]),
        "dictionary_private_mb": mb(dic_private),
        "uss_without_dictionary_mb": mb(uss - dic_private),
    }


def worker_main(model_dir: str) -> None:
    """A serving NLU worker for `workers_memory`: load the model, parse a broad sample (every
    training example, the bench messages and xSID-ja, so most dictionary pages a long-running
    worker touches are touched), then wait until the parent has read /proc and closes stdin."""
    from nlu.trainingdata import load_examples

    engine = NLUEngine.load(Path(model_dir))
    texts = [e.text for e in load_examples(DEFAULT_DATA_DIR)] + MESSAGES
    if XSID_DIR.is_dir():
        texts += [t for t, _ in read_xsid(XSID_DIR)]
    for text in texts:
        engine.parse(text, today=TODAY)
    print(f"ready {len(texts)}", flush=True)
    sys.stdin.read()


def workers_memory(n: int = 2) -> dict[str, Any]:
    """Memory of `n` NLU worker processes running side by side, as a deployment runs them (one per
    uvicorn worker). Sudachi memory-maps its read-only dictionary: the workers share those page-cache
    pages, so each worker's own cost is its USS (private memory) and the dictionary is paid once.
    RSS counts the shared mapping in every worker and so overstates what a worker costs."""
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", str(MODEL_DIR)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    try:
        parsed = [p.stdout.readline().split() for p in procs]  # type: ignore[union-attr]
        if not all(line and line[0] == "ready" for line in parsed):
            return {"error": "a worker did not start"}
        workers = [_smaps_of(p.pid) for p in procs]
    finally:
        for p in procs:
            p.communicate("")
    uss = [w["uss_mb"] for w in workers]
    dictionary = max(w["dictionary_rss_mb"] for w in workers)
    return {
        "workers": n,
        "messages_parsed_per_worker": int(parsed[0][1]),
        "per_worker": workers,
        "median_uss_mb": round(statistics.median(uss), 1),
        "median_rss_mb": round(statistics.median(w["rss_mb"] for w in workers), 1),
        "median_pss_mb": round(statistics.median(w["pss_mb"] for w in workers), 1),
        "shared_dictionary_mb": dictionary,
        # what the n workers cost together: their private memory plus the dictionary pages once
        "total_for_workers_mb": round(sum(uss) + dictionary, 1),
    }


def load_engine() -> NLUEngine:
    """Load the serving model; train it in a child process first so that sklearn/scipy (training
    only) do not inflate this process's memory."""
    if saved_hash(MODEL_DIR) != data_hash(DEFAULT_DATA_DIR, training_fingerprint()):
        subprocess.run([sys.executable, "-m", "nlu", "train", "--model-dir", str(MODEL_DIR)], cwd=ROOT, check=True)
    return NLUEngine.load(MODEL_DIR)


def main() -> None:
    t0 = time.perf_counter()
    engine = load_engine()
    load_s = time.perf_counter() - t0
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "sudachi_dictionary": DICT,
        "model_load_or_train_s": round(load_s, 2),
        "latency": latency(engine),
        "ood_xsid_ja": ood(engine),
    }
    results["memory_mb"] = memory()
    results["workers_memory_mb"] = workers_memory(2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    lat, o = results["latency"], results["ood_xsid_ja"]
    print(
        f"NLU parse latency over {lat['messages']} messages: median {lat['median_ms']:.3f} ms, "
        f"p99 {lat['p99_ms']:.3f} ms, {lat['messages_per_second']:.0f} msg/s (single process)"
    )
    print(
        f"  parse CPU time: median {lat['cpu_median_ms']:.3f} ms, p99 {lat['cpu_p99_ms']:.3f} ms "
        f"(load average {lat['load_average_1min']}; wall-clock p99 includes preemption by other jobs)"
    )
    mem = results["memory_mb"]
    dic = mem.get("sudachi_dictionary", {})
    print(
        f"memory (Sudachi dictionary: {DICT}): peak RSS {mem['peak_rss_mb']} MB; now RSS "
        f"{mem.get('rss_now_mb', '?')} MB = anon {mem.get('RssAnon', '?')} MB + file-backed "
        f"{mem.get('RssFile', '?')} MB   model load/train: {load_s:.2f} s"
    )
    print(
        f"  USS (private: Private_Clean + Private_Dirty) {mem.get('uss_mb', '?')} MB, "
        f"PSS {mem.get('pss_mb', '?')} MB; Sudachi dictionary mmap: {dic.get('rss_mb', '?')} MB resident "
        f"of {dic.get('size_mb', '?')} MB, shared {dic.get('shared_clean_mb', '?')} MB, "
        f"private clean {dic.get('private_clean_mb', '?')} MB, private dirty {dic.get('private_dirty_mb', '?')} MB; "
        f"RSS without it {mem.get('rss_without_dictionary_mb', '?')} MB, "
        f"USS without it {mem.get('uss_without_dictionary_mb', '?')} MB"
    )
    wm = results["workers_memory_mb"]
    if "median_uss_mb" in wm:
        print(
            f"memory of {wm['workers']} NLU workers side by side, each after {wm['messages_parsed_per_worker']} "
            f"messages: private memory (USS) per worker median {wm['median_uss_mb']} MB (target < 150 MB); "
            f"RSS {wm['median_rss_mb']} MB of which {wm['shared_dictionary_mb']} MB is the shared read-only "
            f"dictionary mapping; PSS {wm['median_pss_mb']} MB; all {wm['workers']} together "
            f"{wm['total_for_workers_mb']} MB"
        )
    if "municipal_intent_share" in o:
        print(
            f"xSID-ja out-of-domain: {o['municipal_intent_share']:.1%} of {o['utterances']} "
            f"utterances wrongly given a municipal intent "
            f"({o['predicted'].get('inform', 0)} read as a bare slot answer `inform`)"
        )
        for line in o["wrong_examples"][:10]:
            print("   ", line)
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2])
    else:
        main()
