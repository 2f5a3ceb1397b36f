"""`WORKERS>1`: the process that holds the port and supervises the worker processes (uvicorn's),
exec'd by `python server.py` (`server.main`) once it has checked and prepared everything, with the
same pid and environment.

It imports uvicorn and the settings only: a parent that had imported the app before spawning its
workers held ~100 MB of its own doing nothing (stop 23). Each worker imports `server` and builds its
app from the environment (`server:app_factory`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from bot.logs import configure
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]  # where `server.py` is, for the workers' import


def main() -> None:
    settings = Settings()
    configure(settings.log_level)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # spawned workers inherit this process's sys.path
    uvicorn.run(
        "server:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=None,
    )


if __name__ == "__main__":
    main()
