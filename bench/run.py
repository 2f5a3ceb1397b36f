"""`make bench`: run every benchmark script in bench/ and print one summary.

Each `bench/bench_*.py` writes its own `bench/results/<name>.json` and prints a readable part;
this runner collects them into `bench/results/summary.json`. Benchmarks measure, they never
pass or fail on a time. A benchmark that needs a server that is not there reports that and the
others still run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"


def main(argv: list[str]) -> int:
    RESULTS.mkdir(exist_ok=True)
    scripts = sorted(BENCH.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(name in s.stem for name in argv)]
    summary: dict[str, object] = {}
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        started = time.monotonic()
        proc = subprocess.run([sys.executable, str(script)], cwd=BENCH.parent)
        summary[script.stem] = {"exit_code": proc.returncode, "seconds": round(time.monotonic() - started, 1)}
        result = RESULTS / f"{script.stem.removeprefix('bench_')}.json"
        if result.exists():
            summary[script.stem]["result"] = json.loads(result.read_text())  # type: ignore[index]
    (RESULTS / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    print(f"\nwrote {RESULTS / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
