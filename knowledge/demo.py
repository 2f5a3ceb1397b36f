"""`python -m knowledge demo load`: load the fictional デモ区 so that `make run` has data to show.

Loads the packaged demo FAQ and ごみ分別 list into the data dir, and the demo residents into the
database when the residents module is present. A municipality loads its own files instead
(README: "Loading a municipality's data").
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from knowledge.faq import import_faq
from knowledge.waste import import_waste

DATA = Path(__file__).resolve().parent / "data"


def load_demo(data_dir: Path) -> list[str]:
    done = [
        f"FAQ: {import_faq(DATA / 'demo_faq.csv', data_dir)} entries",
        f"ごみ分別: {import_waste(DATA / 'demo_waste.csv', data_dir)} items",
    ]
    residents = DATA / "demo_residents.json"
    if residents.exists() and importlib.util.find_spec("knowledge.residents_cli") is not None:
        from knowledge.residents_cli import import_residents_file

        done.append(f"residents: {import_residents_file(residents)}")
    return done


def register(subparsers) -> None:  # type: ignore[no-untyped-def]
    group = subparsers.add_parser("demo", help="the fictional demo municipality").add_subparsers(
        dest="action", required=True
    )
    load = group.add_parser("load", help="load the demo FAQ, ごみ分別 list and residents")
    load.set_defaults(func=_cmd_load)


def _cmd_load(args) -> int:  # type: ignore[no-untyped-def]
    for line in load_demo(args.data_dir):
        print(f"loaded {line}")
    return 0
