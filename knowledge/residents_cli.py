"""``python -m knowledge residents import FILE.json``: load residents (CONTRACTS §4)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:  # type: ignore[no-untyped-def]
    """Add the ``residents`` command group to the ``python -m knowledge`` parser."""
    group = subparsers.add_parser("residents", help="resident profiles (CONTRACTS §4)")
    actions = group.add_subparsers(dest="action", required=True)
    imp = actions.add_parser("import", help="load (or re-load) households, consents and links from JSON")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=_cmd_import)


def import_residents_file(path: Path, database_url: str | None = None, *, data_dir: Path | None = None) -> str:
    """Migrate the configured database (DATABASE_URL, else SQLite under DATA_DIR) and load `path`
    into it; returns a one-line summary. Raises ResidentsImportError (nothing loaded) on errors."""
    from bot.settings import Settings
    from bot.store.db import migrate
    from knowledge.residents_import import import_residents_file as load

    settings = Settings(data_dir=data_dir) if data_dir is not None else Settings()
    url = database_url or settings.resolved_database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(url)
    counts = load(path, url)
    return f"{counts['households']} households, {counts['residents']} residents, {counts['links']} links"


def _cmd_import(args: argparse.Namespace) -> int:
    print(f"imported {import_residents_file(args.file, data_dir=args.data_dir)} from {args.file}")
    return 0
