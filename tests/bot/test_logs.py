"""Logs never carry personal data: masked patterns, no message texts, no SQL parameters."""

from __future__ import annotations

import json
import logging

import pytest

from bot.engine.events import InboundEvent
from bot.logs import JsonFormatter, mask, pseudonym


@pytest.mark.parametrize(
    ("raw", "hidden"),
    [
        ("電話 090-1234-5678 に", "090-1234-5678"),
        ("マイナンバー 1234 5678 9012 です", "1234 5678 9012"),
        ("mail hanako@example.jp", "hanako@example.jp"),
        ("生年月日 1990年4月1日", "1990年4月1日"),
        (
            "(psycopg.IntegrityError) dup [SQL: INSERT INTO residents] [parameters: ('山田 花子', 'デモ区中央1-1-1')]",
            "山田",
        ),
    ],
)
def test_mask_hides_personal_data(raw: str, hidden: str) -> None:
    assert hidden not in mask(raw)


def test_formatter_masks_extras_and_tracebacks() -> None:
    try:
        raise ValueError("[parameters: ('山田 花子',)]")
    except ValueError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed for %s", ("090-1111-2222",), sys.exc_info())
    record.phone = "03-1234-5678"
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert "090-1111-2222" not in line and "03-1234-5678" not in line and "山田" not in line
    assert data["level"] == "ERROR"


def test_pseudonym_is_stable_and_not_the_id() -> None:
    assert pseudonym("U0123456789abcdef") == pseudonym("U0123456789abcdef") != "U0123456789abcdef"


async def test_a_turn_logs_no_message_text(dispatcher, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO)
    for ours in ("bot", "handlers", "knowledge", "nlu", "madoguchi"):
        caplog.set_level(logging.DEBUG, logger=ours)
    secret = "山田花子です。デモ区中央1-1-1に住んでいます。電話は090-9999-8888"
    await dispatcher.handle(InboundEvent(channel="web", sender_id="log-test", text=secret))
    logged = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for part in ("山田花子", "中央1-1-1", "090-9999-8888"):
        assert part not in logged
