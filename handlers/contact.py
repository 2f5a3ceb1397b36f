"""The contact of an anonymous resident (M10), asked last by every booking form.

A booking by someone the bot does not know (no linked resident) needs a name and a phone number
the facility can call. They go into the reservation's details for the staff, are shown masked in
the confirmation, and are never logged. `handlers.reservations.BookingForm` appends
`CONTACT_SLOTS` to each booking kind's slots; the reservation manager reuses the phone helpers to
find a booking by the number it was made with.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from bot.engine.turn import TurnContext
from handlers.form_texts import tr
from handlers.forms import Slot

CONTACT_SLOT_NAMES = frozenset({"contact_name", "contact_phone"})
MAX_NAME = 40
_DASHES = str.maketrans({c: "-" for c in "ー－−‐―–—"})
_PHONE = re.compile(r"(?<![\d-])(0\d{1,4}[-(\s]?\d{1,4}[-)\s]?\d{3,4})(?![\d-])")
_PHONE_DIGITS = (
    re.compile(r"0[789]0\d{8}"),  # 携帯 (070/080/090)
    re.compile(r"050\d{8}"),  # IP電話
    re.compile(r"0120\d{6}|0800\d{7}"),  # フリーダイヤル
    re.compile(r"0(?!(?:[2789]0|50))[1-9]\d{8}"),  # 固定電話 (市外局番から10桁)
)
_NAME_BEFORE = re.compile(r"^(?:(?:私|わたし)の)?(?:お?名前|氏名)(?:は|：|:)\s*|^(?:私|わたし)は\s*")
_NAME_AFTER = re.compile(r"\s*(?:です|と申します|といいます|でお願いします|でございます)?[。．.!！]*$")
_NAME_EN = re.compile(r"^(?:my name is|i am|i'm|name:|it's|this is)\s+", re.I)
_NOT_IN_NAME = re.compile(r"[0-9?？!！@#＠/\\<>{}\[\]=]")


def _anonymous(ctx: TurnContext) -> bool:
    return ctx.state.resident_id is None


def _contact_requested(ctx: TurnContext, slot: str) -> bool:
    form = ctx.state.active_form
    return form is not None and form.requested_slot == slot


def phone_digits(value: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", value))


def valid_phone(value: str) -> bool:
    digits = phone_digits(value)
    return any(p.fullmatch(digits) for p in _PHONE_DIGITS)


def format_phone(value: str) -> str:
    """090-1234-5678, 03-1234-5678, 0120-000-530: the resident's hyphens when given, else a usual split."""
    text = unicodedata.normalize("NFKC", value).translate(_DASHES).strip()
    parts = [p for p in re.split(r"[-()\s]+", text) if p]
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return "-".join(parts)
    digits = phone_digits(value)
    if len(digits) == 11:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if digits.startswith("0120"):
        return f"{digits[:4]}-{digits[4:7]}-{digits[7:]}"
    if digits[:2] in ("03", "06"):
        return f"{digits[:2]}-{digits[2:6]}-{digits[6:]}"
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def mask_phone(value: Any) -> str:
    """090-****-5678: enough for the resident to recognise their number in a chat screen."""
    parts = format_phone(str(value)).split("-")
    if len(parts) != 3:
        return "****"
    return f"{parts[0]}-{'*' * len(parts[1])}-{parts[2]}"


def _extract_name(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    if ctx.parse.from_payload:
        given = ctx.parse.entity("contact_name")
        return given.strip() or None if isinstance(given, str) else None
    text = unicodedata.normalize("NFKC", ctx.parse.text).strip()
    text = _NAME_AFTER.sub("", _NAME_BEFORE.sub("", _NAME_EN.sub("", text))).strip()
    return text or None


def _validate_name(ctx: TurnContext, value: Any, _values: dict[str, Any]) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return tr(ctx, "contact.texts.name_empty", "お名前を教えてください。")
    if len(value) > MAX_NAME or _NOT_IN_NAME.search(value):
        return tr(
            ctx, "contact.texts.name_bad", "お名前だけを{max}字以内で教えてください。（例：山田花子）", max=MAX_NAME
        )
    return None


def _extract_phone(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    given = ctx.parse.entity("contact_phone")
    if ctx.parse.from_payload:
        return format_phone(given) if isinstance(given, str) and valid_phone(given) else given
    text = unicodedata.normalize("NFKC", ctx.parse.text).translate(_DASHES)
    match = _PHONE.search(text)
    if match and valid_phone(match.group(1)):
        return format_phone(match.group(1))
    if _contact_requested(ctx, "contact_phone"):
        return text.strip() or None  # refused plainly by the validator
    return None


def _validate_phone(ctx: TurnContext, value: Any, _values: dict[str, Any]) -> str | None:
    if isinstance(value, str) and valid_phone(value):
        return None
    return tr(
        ctx,
        "contact.texts.phone_bad",
        "電話番号の形になっていないようです。市外局番から数字で教えてください。（例：090-1234-5678、03-1234-5678）",
    )


CONTACT_SLOTS = (
    Slot(
        "contact_name",
        "予約の確認のため、お名前を教えてください。（例：山田花子）",
        "お名前",
        extract=_extract_name,
        validate=_validate_name,
        free_text=True,
        aliases=("名前", "氏名"),
        when=_anonymous,
    ),
    Slot(
        "contact_phone",
        "連絡のつく電話番号を教えてください。（例：090-1234-5678）",
        "電話番号",
        extract=_extract_phone,
        validate=_validate_phone,
        render=mask_phone,
        aliases=("電話番号", "連絡先"),
        when=_anonymous,
    ),
)


def contact_details(values: dict[str, Any]) -> dict[str, Any]:
    """{"contact": {"name", "phone"}} for the reservation's details, when the resident gave them."""
    if "contact_name" not in values and "contact_phone" not in values:
        return {}
    return {"contact": {"name": values.get("contact_name"), "phone": values.get("contact_phone")}}
