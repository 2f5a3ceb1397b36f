"""`python -m bot.migrate`: apply every database migration to DATABASE_URL (or the SQLite default)."""

from __future__ import annotations

from bot.settings import Settings
from bot.store.db import migrate


def main() -> None:
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.resolved_database_url)
    print("database is up to date")


if __name__ == "__main__":
    main()
