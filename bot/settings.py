"""Runtime configuration from environment variables (and a `.env` file).

Every setting has a safe default for the embedded mode: SQLite under DATA_DIR, in-memory state,
in-process NLU. Nothing here is read at import time; `Settings()` is built by the app factory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: sqlite file under data_dir
    redis_url: str = ""  # empty: in-memory state and locks (one process only)
    state_key_prefix: str = "madoguchi:"
    state_ttl_seconds: int = 60 * 60 * 24 * 7
    lock_timeout_seconds: float = 30.0
    nlu_engine: Literal["embedded", "rasa"] = "embedded"
    rasa_url: str = "http://127.0.0.1:5005"
    max_message_chars: int = 5000
    timezone: str = "Asia/Tokyo"
    municipality_name: str = "デモ区"
    log_level: str = "INFO"
    staff_token: str = ""  # empty: the staff console API is disabled
    # a queue wait (expected or waited) past this many minutes turns into a callback offer
    staff_callback_after_minutes: int = 20
    staff_session_hours: int = 8  # a console session signed in with a password lasts this long
    staff_login_max_failures: int = 5  # wrong passwords in a row before the account is locked
    staff_lockout_minutes: int = 15
    # OIDC sign-in for the console (bot/staff/oidc.py): on when issuer, client id and redirect URL are set
    oidc_issuer: str = ""  # e.g. https://idp.city.example/realms/staff (discovery: /.well-known/openid-configuration)
    oidc_client_id: str = ""
    oidc_client_secret: str = Field(default="", repr=False)
    oidc_redirect_url: str = ""  # https://<this server>/staff/oidc/callback, as registered at the provider
    oidc_account_claim: str = "preferred_username"  # the ID token claim whose value is the staff account id
    # The demo: imported web links (`demo-hanako`) reach their resident. Never in production, where
    # a client-chosen sender must reach nobody (CONTRACTS §4). `make run` sets DEMO_MODE=1.
    demo_mode: bool = False
    # Keys the HMACs of link codes and client addresses. Empty: generated once into
    # DATA_DIR/secret_key in the embedded mode; a production start refuses (bot/secret_key.py).
    secret_key: str = Field(default="", repr=False)
    # CSP frame-ancestors of the widget page `/` (the municipality's sites that embed it)
    widget_frame_ancestors: str = "'self'"
    # Live delivery (WebSockets by cursor): each open socket re-reads the transcript at least this
    # often even without a wake-up (a Redis outage loses no message, it only waits this long)
    live_poll_seconds: float = Field(default=3.0, gt=0)
    redis_socket_timeout: float = Field(default=5.0, gt=0)  # the shared client's; pub/sub has none
    line_channel_secret: str = ""
    line_channel_access_token: str = ""
    line_api_base_url: str = "https://api.line.me"
    # where LINE events are processed (LineTuning.processing): auto | process | thread | inline
    line_processing: Literal["auto", "process", "thread", "inline"] = "auto"
    suggestion_decline_cooldown_days: int = Field(default=90)
    # `python -m bot.retention`: days personal data is kept (0: keep forever)
    retention_transcript_days: int = Field(default=365, ge=0)
    retention_contact_days: int = Field(default=90, ge=0)
    retention_line_days: int = Field(default=30, ge=0)
    retention_link_days: int = Field(default=30, ge=0)
    # 通報の写真 (knowledge/photos.py): where they are kept (empty: DATA_DIR/photos) and for how long
    photo_dir: str = ""
    retention_photo_days: int = Field(default=180, ge=0)
    # outreach notices (bot/outreach, CONTRACTS §7): none in quiet hours (Japan time, start..end),
    # at most N per resident in 7 days; the server runs the rules every N seconds (0: never)
    outreach_quiet_start_hour: int = Field(default=21, ge=0, le=23)
    outreach_quiet_end_hour: int = Field(default=8, ge=0, le=23)
    outreach_max_per_week: int = Field(default=3, ge=1)
    outreach_interval_seconds: float = Field(default=900.0, ge=0)
    # `python server.py`: worker processes on one port (>1 needs PostgreSQL and Redis: bot/http/workers.py)
    workers: int = Field(default=1, ge=1)
    # `/readyz` answers 503 `saturated` while more turns than this are in flight in the worker
    max_turns_in_flight: int = Field(default=64, ge=1)
    # PostgreSQL connections per worker (pool + overflow): turns hold one only for their database
    # part (the NLU runs before), so a pool well below the turns in flight serves them all
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    # adds `X-Madoguchi-Worker: <pid>` to every response (load-balancer tests; off in production)
    worker_header: bool = False

    @property
    def is_production(self) -> bool:
        """A real database server and not the demo: nothing may be generated or assumed here."""
        return bool(self.database_url) and not self.database_url.startswith("sqlite") and not self.demo_mode

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'madoguchi.db').resolve()}"

    @property
    def resolved_photo_dir(self) -> Path:
        """Where 通報の写真 are kept: PHOTO_DIR, else DATA_DIR/photos."""
        return Path(self.photo_dir) if self.photo_dir else self.data_dir / "photos"
