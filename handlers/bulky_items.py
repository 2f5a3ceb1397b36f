"""粗大ごみ items from the resident's words: matching, quantities, sizes, close names, fees.

Pure functions over `ServicesData` (services.yml), used by the form (`handlers.bulky_waste`):
items are matched against the names and aliases, longest first, katakana and hiragana folded
("ソファー" = "そふぁ"), with quantities ("椅子2脚", "2脚の椅子"). Words that name no item come
back with the closest items; items the ward does not collect (家電リサイクル法…) with their reason.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from knowledge.services_data import ServicesData
from knowledge.textproc import fold_kana
from nlu.numerals import NUM, parse_number
from nlu.text import tokenize

COUNTER = r"(?:台|脚|個|点|枚|本|つ|組|せつと|箱|基|張|棹|こ)"
_QTY_AFTER = re.compile(rf"^(?:を|が|は)?\s*({NUM})\s*{COUNTER}")
_QTY_BEFORE = re.compile(rf"({NUM})\s*{COUNTER}\s*の\s*$")
FILLER = frozenset(
    {
        "粗大ごみ",
        "ごみ",
        "ゴミ",
        "粗大",
        "収集",
        "回収",
        "処分",
        "申込み",
        "申し込み",
        "予約",
        "全部",
        "以上",
        "品物",
        "もの",
        "物",
        "方",
        "家",
        "うち",
        "今",
        "次",
        "それ",
        "これ",
        "あと",
        "ほか",
        "他",
    }
)


@dataclass(frozen=True)
class _Key:
    key: str
    item_id: str | None  # None for an item the ward does not collect (or a sized group word)
    label: str
    reason: str = ""
    group: int | None = None  # index into bulky_waste.sized for a plain word ("ソファ")


def _fold_map(text: str) -> tuple[str, list[int]]:
    """fold_kana per character, with the original position of every folded character."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for folded in fold_kana(ch):
            out.append(folded)
            where.append(i)
    return "".join(out), where


_KEYS: tuple[ServicesData, list[_Key]] | None = None  # the table of the data last seen


def _keys(data: ServicesData) -> list[_Key]:
    """Every name to look for, longest first; made once per loaded data (a reload makes a new one)."""
    global _KEYS
    cached = _KEYS
    if cached is not None and cached[0] is data:
        return cached[1]
    keys = _make_keys(data)
    _KEYS = (data, keys)
    return keys


def _make_keys(data: ServicesData) -> list[_Key]:
    keys: list[_Key] = []
    for item in data.bulky_waste.items:
        for word in (item.name, *item.aliases):
            keys.append(_Key(fold_kana(word), item.id, item.name))
    for group in data.bulky_waste.not_accepted:
        keys += [_Key(fold_kana(name), None, name, group.reason) for name in group.names]
    for index, sized in enumerate(data.bulky_waste.sized):
        keys += [_Key(fold_kana(w), None, sized.word, group=index) for w in (sized.word, *sized.aliases)]
    return sorted((k for k in keys if k.key), key=lambda k: -len(k.key))  # an empty name names nothing


def family_of(data: ServicesData, item_id: str) -> str:
    """Items of one sized group are one family ("sofa_1" and "sofa_2" are both ソファ)."""
    for index, sized in enumerate(data.bulky_waste.sized):
        if item_id in sized.items:
            return f"group:{index}"
    return item_id


def size_in(data: ServicesData, group: int, region: str) -> tuple[str, int, int] | None:
    """The item of `group` whose size word occurs in `region` (folded), with the word's span."""
    best: tuple[str, int, int] | None = None
    by_id = {i.id: i for i in data.bulky_waste.items}
    for item_id in data.bulky_waste.sized[group].items:
        for word in by_id[item_id].size_words:
            folded = fold_kana(unicodedata.normalize("NFKC", word))
            at = region.find(folded)
            if at >= 0 and (best is None or len(folded) > best[2] - best[1]):
                best = (item_id, at, at + len(folded))
    return best


def match_items(
    data: ServicesData, text: str, *, find_unknown: bool, ignore: list[tuple[int, int]] | None = None
) -> dict[str, Any]:
    """{"items": [{"id","name","fee","qty"}], "refused": [[name, reason]], "unknown": [[word, [close]]],
    "ask": [{"group", "word", "qty"}]} — "ask" for a sized item named without its size. An item
    whose quantity was said carries "qty_said": True (a correction keeps the old count otherwise)."""
    text = unicodedata.normalize("NFKC", text)
    folded, where = _fold_map(text)
    covered = [False] * len(folded)
    found: list[tuple[int, int, _Key]] = []
    for key in _keys(data):
        start = folded.find(key.key)
        while start >= 0:  # every occurrence, left to right, not overlapping (as re.finditer)
            end = start + len(key.key)
            if not any(covered[start:end]):
                covered[start:end] = [True] * (end - start)
                found.append((start, end, key))
            start = folded.find(key.key, end)
    items: dict[str, dict[str, Any]] = {}
    refused: list[list[str]] = []
    ask: list[dict[str, Any]] = []
    spans: list[tuple[int, int]] = []
    by_id = {i.id: i for i in data.bulky_waste.items}
    ordered = sorted(found, key=lambda f: f[0])
    for n, (start, end, key) in enumerate(ordered):
        qty, q_start, q_end = _quantity(folded, start, end)
        said = (q_start, q_end) != (start, end)
        spans.append((where[q_start], where[q_end - 1] + 1))
        item_id = key.item_id
        if key.group is not None:  # "ソファ": its size, if said next to it, picks the item
            low = ordered[n - 1][1] if n else 0
            high = ordered[n + 1][0] if n + 1 < len(ordered) else len(folded)
            size = size_in(data, key.group, folded[low:high])
            if size is None:
                ask.append({"group": key.group, "word": key.label, "qty": qty, "qty_said": said})
                continue
            item_id = size[0]
            spans.append((where[low + size[1]], where[low + size[2] - 1] + 1))
        if item_id is None:
            refused.append([key.label, key.reason])
            continue
        item = by_id[item_id]
        entry = items.setdefault(item_id, {"id": item_id, "name": item.name, "fee": item.fee, "qty": 0})
        entry["qty"] += qty
        if said:
            entry["qty_said"] = True
    unknown = _unknown_words(data, text, spans + (ignore or [])) if find_unknown else []
    return {"items": list(items.values()), "refused": refused, "unknown": unknown, "ask": ask}


def merge_items(data: ServicesData, old: dict[str, Any], new: dict[str, Any], *, replace: bool) -> dict[str, Any]:
    """A correction of the items: each item named replaces the old one of its family (the size
    or the count changes), every other item stays. `replace` ("椅子3脚に変更します" when only one
    kind of item was listed and none of it is named again) swaps the whole list."""
    old_items = [dict(i) for i in old.get("items", [])]
    old_families = {family_of(data, i["id"]) for i in old_items}
    new_families = {family_of(data, i["id"]) for i in new["items"]} | {f"group:{a['group']}" for a in new["ask"]}
    if replace and len(old_families) == 1 and not (new_families & old_families):
        return {**new, "items": [clean_item(i) for i in new["items"]]}
    items = list(old_items)
    for item in new["items"]:
        family = family_of(data, item["id"])
        before = [i for i in items if family_of(data, i["id"]) == family]
        qty = item["qty"] if item.get("qty_said") or not before else sum(int(i["qty"]) for i in before)
        at = next((n for n, i in enumerate(items) if family_of(data, i["id"]) == family), len(items))
        items = [i for i in items if family_of(data, i["id"]) != family]
        items.insert(at, {**clean_item(item), "qty": qty})  # in the old one's place
    ask = [a for a in old.get("ask", []) if not any(family_of(data, i["id"]) == f"group:{a['group']}" for i in items)]
    for pending in new["ask"]:  # "ソファ" again without a size: the sofa already listed stays
        family = f"group:{pending['group']}"
        listed = [i for i in items if family_of(data, i["id"]) == family]
        if not listed and not any(a["group"] == pending["group"] for a in ask):
            ask.append(pending)
        elif pending.get("qty_said") and len(listed) == 1:
            listed[0]["qty"] = pending["qty"]
    return {**new, "items": items, "ask": ask, "refused": [], "unknown": []}


def clean_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "qty_said"}


def _quantity(folded: str, start: int, end: int) -> tuple[int, int, int]:
    after = _QTY_AFTER.match(folded[end:])
    if after:
        return parse_number(after.group(1)) or 1, start, end + after.end()
    before = _QTY_BEFORE.search(folded[:start])
    if before:
        return parse_number(before.group(1)) or 1, before.start(), end
    return 1, start, end


def _unknown_words(data: ServicesData, text: str, spans: list[tuple[int, int]]) -> list[list[Any]]:
    """Nouns left once the known items are taken out, each with up to three close items."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = [" "] * (end - start)
    words: list[str] = []
    run = ""
    for token in tokenize("".join(chars)):
        if token.pos == "名詞" and not token.surface.isdigit():
            run += token.surface
            continue
        if run:
            words.append(run)
        run = ""
    if run:
        words.append(run)
    return [[w, close_items(data, w)] for w in words if w not in FILLER and not w.isdigit()]


def close_items(data: ServicesData, word: str) -> list[str]:
    key = fold_kana(word)
    names: dict[str, None] = {}
    for item in data.bulky_waste.items:
        for alias in (item.name, *item.aliases):
            folded = fold_kana(alias)
            if key in folded or (len(folded) > 1 and folded in key):
                names[item.name] = None
    by_key = {fold_kana(a): i.name for i in data.bulky_waste.items for a in (i.name, *i.aliases)}
    for match in difflib.get_close_matches(key, list(by_key), n=3, cutoff=0.6):
        names[by_key[match]] = None
    return list(names)[:3]


def total_fee(value: dict[str, Any]) -> int:
    return sum(int(i["fee"]) * int(i["qty"]) for i in value.get("items", []))


def render_items(value: dict[str, Any]) -> str:
    return "、".join(f"{i['name']}×{i['qty']}" for i in value.get("items", []))


def refusal_lines(refused: list[list[str]]) -> list[str]:
    """One line per reason ("テレビ・冷蔵庫は…家電リサイクル法…"), not one per item."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in refused:
        names = by_reason.setdefault(reason, [])
        if name not in names:
            names.append(name)
    return [
        f"{'・'.join(f'「{n}」' for n in names)}は粗大ごみとして出せません。{reason}"
        for reason, names in by_reason.items()
    ]
