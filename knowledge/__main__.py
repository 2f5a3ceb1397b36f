"""``python -m knowledge GROUP ACTION ...`` — import and query the municipality's knowledge.

Each command group is a module exposing ``register(subparsers)``; add new groups to ``GROUPS``.
Handlers get the parsed args (with ``data_dir``) and return an exit code. Invalid input files exit
with code 2 and leave the stored data untouched.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from knowledge.store import KnowledgeImportError, default_data_dir

GROUPS = ["knowledge.faq", "knowledge.waste", "knowledge.demo", "knowledge.residents_cli"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m knowledge", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="default: $DATA_DIR or var/")
    subparsers = parser.add_subparsers(dest="group", required=True)
    for name in GROUPS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.data_dir = args.data_dir or default_data_dir()
    try:
        return int(args.func(args) or 0)
    except KnowledgeImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
