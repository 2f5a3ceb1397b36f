"""Strict JSON for request bodies: what the standard library accepts but the rest of the path
cannot carry is refused here, before anything is stored.

- nesting deeper than MAX_DEPTH (json.loads itself would recurse until RecursionError);
- integers longer than MAX_INT_DIGITS (Python refuses to convert over 4,300 digits, later);
- NaN / Infinity (not JSON);
- a lone surrogate (`"\\ud800"`: valid JSON text, not encodable as UTF-8, so not storable);
- a NUL character (PostgreSQL text cannot hold one).
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32
MAX_INT_DIGITS = 30


class JSONRejected(ValueError):
    """A body that is JSON text but not one we accept; the message says why."""


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JSONRejected(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > 2 * MAX_INT_DIGITS:
        raise JSONRejected(f"a number is longer than {2 * MAX_INT_DIGITS} characters")
    return float(text)


def _parse_constant(name: str) -> Any:
    raise JSONRejected(f"{name} is not a JSON value")


def _check_string(text: str) -> None:
    if "\x00" in text:
        raise JSONRejected("a string contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JSONRejected("a string contains an unpaired surrogate (\\ud800-\\udfff)") from None


def check_value(value: Any) -> None:
    """Walk a parsed value without recursion: depth, strings and keys."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_string(item)
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise JSONRejected(f"nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_string(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def loads_strict(text: str) -> Any:
    """json.loads with the limits above; JSONRejected (a ValueError) or json.JSONDecodeError."""
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except RecursionError:  # thousands deep: the C scanner gives up before our walk could
        raise JSONRejected(f"nested deeper than {MAX_DEPTH} levels") from None
    check_value(value)
    return value
