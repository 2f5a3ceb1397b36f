"""粗大ごみ items from English words (CONTRACTS §9): the same result as `handlers.bulky_items.
match_items` (ids, names, fees from services.yml), read from the English names and words of
services_en.yml ("a sofa and 2 chairs", "three dining chairs", "my old TV"), and English names for
showing them. An English conversation's address is a 町名 in Latin letters ("Chuo 1-1-1")."""

from __future__ import annotations

import difflib
import re
from typing import Any

from bot.engine.events import Button
from bot.engine.turn import TurnContext, payload
from handlers.bulky_items import refusal_lines, render_items
from handlers.form_texts import english, joined, name, texts_of, tr, yen_text
from handlers.reservations import services_data

_NOT_A_SIZE = frozenset({"a", "an", "the", "of", "or", "and", "it", "is", "m", "1"})
_NUMBERS = {
    w: i for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"])
}
_QTY = r"(?:(\d{1,2})\s*|(" + "|".join(_NUMBERS) + r"|a|an)\s+)?"


def _words(ctx: TurnContext) -> list[tuple[str, str, str]]:
    """(English word, kind, value): kind "item" (an id), "sized" (a group word), "refused" (a name)."""
    en = texts_of(ctx).services.get("bulky_waste") or {}
    out = [(str(w).lower(), "item", str(i)) for i, words in (en.get("items") or {}).items() for w in words]
    out += [(str(w).lower(), "sized", str(g)) for w, g in (en.get("sized") or {}).items()]
    out += [(str(w).lower(), "refused", str(n)) for w, n in (en.get("not_accepted") or {}).items()]
    return sorted(out, key=lambda x: -len(x[0]))


def item_name(ctx: TurnContext, item_id: str, ja: str) -> str:
    words = ((texts_of(ctx).services.get("bulky_waste") or {}).get("items") or {}).get(item_id)
    return str(words[0]) if isinstance(words, list) and words else ja


def refusal_reason(ctx: TurnContext, reason: str) -> str:
    reasons = (texts_of(ctx).services.get("bulky_waste") or {}).get("reasons") or {}
    return next((str(en) for key, en in reasons.items() if key in reason), reason)


def match_english_items(ctx: TurnContext, text: str, *, find_unknown: bool = False) -> dict[str, Any]:
    """{"items", "refused", "unknown", "ask"} as `match_items` gives them, from English words."""
    data = services_data(ctx)
    low = f" {text.lower()} "
    covered = [False] * len(low)
    by_id = {i.id: i for i in data.bulky_waste.items}
    groups = {g.word: n for n, g in enumerate(data.bulky_waste.sized)}
    refusals = {name: r.reason for r in data.bulky_waste.not_accepted for name in r.names}
    items: dict[str, dict[str, Any]] = {}
    refused: list[list[str]] = []
    ask: list[dict[str, Any]] = []
    for word, kind, value in _words(ctx):
        pattern = rf"\b{_QTY}{re.escape(word)}(?:s|es)?\b"
        for m in re.finditer(pattern, low):
            if any(covered[m.start() : m.end()]):
                continue
            covered[m.start() : m.end()] = [True] * (m.end() - m.start())
            qty = int(m.group(1)) if m.group(1) else _NUMBERS.get(m.group(2) or "", 1)
            said = bool(m.group(1) or (m.group(2) and m.group(2) not in ("a", "an")))
            if kind == "item" and value in by_id:
                item = by_id[value]
                entry = items.setdefault(value, {"id": value, "name": item.name, "fee": item.fee, "qty": 0})
                entry["qty"] += max(qty, 1)
                if said:
                    entry["qty_said"] = True
            elif kind == "sized" and value in groups:
                ask.append({"group": groups[value], "word": word, "qty": max(qty, 1), "qty_said": said})
            elif kind == "refused" and value in refusals:
                refused.append([word, refusal_reason(ctx, refusals[value])])
    unknown: list[list[Any]] = []
    if find_unknown and not (items or ask or refused):
        rest = re.sub(r"\b(?:and|a|an|the|my|old|i|want|to|throw|away|put|out|please|of|with|some)\b", " ", low)
        rest = " ".join(re.sub(r"[^a-z\- ]", " ", rest).split())
        if rest:
            names = [w for w, kind, _v in _words(ctx) if kind == "item"]
            close = difflib.get_close_matches(rest, names, n=3, cutoff=0.6)
            unknown.append([rest, close])
    return {"items": list(items.values()), "refused": refused, "unknown": unknown, "ask": ask}


def size_from_english(ctx: TurnContext, group: int, text: str) -> str | None:
    """The item of a sized group the English answer names ("2 seats", "single bed")."""
    data = services_data(ctx)
    low = text.lower()
    names = (texts_of(ctx).services.get("bulky_waste") or {}).get("items") or {}
    ids = sorted(data.bulky_waste.sized[group].items)
    for item_id in ids:
        if any(re.search(rf"\b{re.escape(str(w).lower())}\b", low) for w in names.get(item_id) or []):
            return item_id
    # one word that only this size's names have ("single", "large", "3 seats" → seats? no: "3")
    own = {i: {w for n in names.get(i) or [] for w in re.findall(r"[a-z0-9\-]+", str(n).lower())} for i in ids}
    said = set(re.findall(r"[a-z0-9\-]+", low)) - _NOT_A_SIZE
    found = [i for i in ids if said & (own[i] - set().union(*(own[j] for j in ids if j != i)))]
    return found[0] if len(found) == 1 else None


def english_town(ctx: TurnContext, text: str) -> tuple[str, str, str] | None:
    """(町名, area, the rest of the address) of a 町名 written in Latin letters ("Chuo 1-1-1")."""
    towns = texts_of(ctx).services.get("towns") or {}
    low = text.lower()
    for ja, latin in sorted(towns.items(), key=lambda t: -len(str(t[1]))):
        m = re.search(rf"\b{re.escape(str(latin).lower())}\b", low)
        if m is None:
            continue
        area = next((a for a, spec in services_data(ctx).areas.items() if ja in spec.towns), None)
        if area is None:
            continue
        rest = text[m.end() :].strip(" ,.")
        return str(ja), area, rest
    return None


def town_name(ctx: TurnContext, ja: str) -> str:
    return str((texts_of(ctx).services.get("towns") or {}).get(ja) or ja)


def town_unknown(ctx: TurnContext) -> str:
    """An address whose town the municipality does not have (粗大ごみ's and 介護の相談's address),
    with two towns of each area as examples, in the conversation's language."""
    data = services_data(ctx)
    towns = joined(ctx, (town_name(ctx, t) if english(ctx) else t for a in data.areas.values() for t in a.towns[:2]))
    return tr(
        ctx,
        "common.town_unknown",
        "{municipality}の町名が見つかりませんでした。（町名の例：{towns}）",
        municipality=name(ctx, "municipality", data.municipality),
        towns=towns,
    )


def _t(ctx: TurnContext, key: str, ja: str, **values: Any) -> str:
    return tr(ctx, f"bulky_waste.texts.{key}", ja, **values)


def shown_item(ctx: TurnContext, item_id: str, ja: str) -> str:
    return item_name(ctx, item_id, ja) if english(ctx) else ja


def refused_lines(ctx: TurnContext, refused: list[list[str]]) -> list[str]:
    if not english(ctx):
        return refusal_lines(refused)
    by_reason: dict[str, list[str]] = {}
    for word, reason in refused:
        by_reason.setdefault(reason, []).append(word)
    return [_t(ctx, "refused", "", names=", ".join(dict.fromkeys(w)), reason=r) for r, w in by_reason.items()]


def items_text(ctx: TurnContext, value: dict[str, Any]) -> str:
    if not english(ctx):
        return render_items(value)
    return ", ".join(f"{item_name(ctx, i['id'], i['name'])} x{i['qty']}" for i in value.get("items", []))


def fee_overview(ctx: TurnContext) -> None:
    """A fee question that names no item: the range and a few examples, all from the data."""
    items = services_data(ctx).bulky_waste.items
    fees = sorted(item.fee for item in items)
    bullet, sep = ("- ", ": ") if english(ctx) else ("・", "：")
    examples = "\n".join(f"{bullet}{shown_item(ctx, i.id, i.name)}{sep}{yen_text(ctx, i.fee)}" for i in items[:4])
    ctx.say(
        _t(
            ctx,
            "fee_overview",
            "粗大ごみの料金は品目ごとに決まっていて、1点{low}〜{high}です。\n例：\n{examples}\n"
            "品目名を送っていただくと料金をお答えします。",
            low=yen_text(ctx, fees[0]),
            high=yen_text(ctx, fees[-1]),
            examples=examples,
        ),
        buttons=[Button(_t(ctx, "apply", "収集を申し込む"), payload("bulky_waste"))],
    )
