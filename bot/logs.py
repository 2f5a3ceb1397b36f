"""Structured (JSON line) logging that never carries personal data.

Message texts are not logged at all; identifiers are hashed; `mask` removes what looks like a
phone number, My Number, e-mail address or birth date from any string that must be logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
from datetime import UTC, datetime

_PATTERNS = (
    # SQLAlchemy puts bound values (names, addresses …) into error texts and tracebacks
    (re.compile(r"\[parameters: .*?\](?=\s*(\(|$|\n))", re.S), "[parameters: masked]"),
    (re.compile(r"\b\d{4}\s?\d{4}\s?\d{4}\b"), "[mynumber]"),
    (re.compile(r"0\d{1,4}-?\d{1,4}-?\d{3,4}"), "[phone]"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email]"),
    (re.compile(r"(19|20)\d{2}[-/年]\d{1,2}[-/月]\d{1,2}日?"), "[date]"),
)
QUIET_LIBRARIES = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "httpx", "httpcore", "asyncio")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def mask(text: str) -> str:
    for pattern, token in _PATTERNS:
        text = pattern.sub(token, text)
    return text


def pseudonym(value: str) -> str:
    """A stable, non-reversible tag for an id (a LINE userId, a sender) in logs."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": mask(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = mask(str(value)) if isinstance(value, str) else value
        if record.exc_info:
            data["exc"] = mask(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False, default=str)


_QUERY_VALUE = re.compile(r"([?&][^=&#\s\"]*=)[^&#\s\"]*")
# a conversation id in a path (the staff API's /conversations/web:w-…): its sender is a credential
_CONVERSATION_ID = re.compile(r"\b(web|line)(:|%3[Aa])([^/?#\s\"]+)")
# uvicorn's request lines: "uvicorn.access" for HTTP, "uvicorn.error" for "WebSocket /path" [accepted]
SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error")


def mask_query(text: str) -> str:
    """`/ws?sender=w-abc&after=3` -> `/ws?sender=[masked]&after=[masked]`: query values can be
    credentials (a linked resident's sender, a staff token) and must not reach a log. A
    conversation id in a path keeps its channel and becomes a pseudonym: `web:#1a2b3c4d5e6f`."""
    text = _QUERY_VALUE.sub(r"\1[masked]", text)
    return _CONVERSATION_ID.sub(lambda m: f"{m.group(1)}:#{pseudonym(m.group(3))}", text)


class QueryStringFilter(logging.Filter):
    """Masks query values and conversation ids in a server log record's arguments (the request
    path) and message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(mask_query(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str) and ("?" in record.msg or ":" in record.msg or "%3" in record.msg):
            record.msg = mask_query(record.msg)
        return True


def install_query_filter() -> None:
    for name in SERVER_LOGGERS:
        server_log = logging.getLogger(name)
        if not any(isinstance(f, QueryStringFilter) for f in server_log.filters):
            server_log.addFilter(QueryStringFilter())


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that log SQL with its bound values (message texts, names) at DEBUG stay quiet.
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    install_query_filter()
