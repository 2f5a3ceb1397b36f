"""The server secret that keys the HMACs of link codes and client addresses.

`SECRET_KEY` when set. Otherwise the embedded mode (and the demo) generates one on first start into
`DATA_DIR/secret_key` (mode 0600) and reuses it on later starts, so codes issued before a restart
still work. A production start (a real database server, not demo mode) without `SECRET_KEY` is
refused: a secret generated on one machine would differ between the machines of a deployment, and
a missing secret must not silently become a weak one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bot.settings import Settings

FILE_NAME = "secret_key"
MIN_CHARS = 16


class ConfigurationError(RuntimeError):
    """The settings cannot run this service safely; the message says which one to fix."""


def resolve_secret_key(settings: Settings) -> bytes:
    if settings.secret_key:
        if len(settings.secret_key) < MIN_CHARS:
            raise ConfigurationError(f"SECRET_KEY is too short: use at least {MIN_CHARS} random characters")
        return settings.secret_key.encode()
    if settings.is_production:
        raise ConfigurationError(
            "SECRET_KEY is not set. It keys the stored link codes and client addresses and must be the "
            'same on every worker and machine: set SECRET_KEY (e.g. python -c "import secrets; '
            'print(secrets.token_urlsafe(32))") in the environment or .env.'
        )
    return _file_secret(settings.data_dir / FILE_NAME)


def _file_secret(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_urlsafe(32).encode())
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic and never replaces: of workers starting together, one wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_CHARS:
        raise ConfigurationError(f"{path} is empty or too short: delete it to generate a new one, or set SECRET_KEY")
    return value.encode()
