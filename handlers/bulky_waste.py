"""粗大ごみ: items from the resident's words, address, collection date, fee total, reservation.

Items are matched against the names and aliases in services.yml (longest first, katakana and
hiragana folded: "ソファー" = "そふぁ"), with quantities ("椅子2脚", "2脚の椅子"). Words that name no
item are said plainly with the closest items; items the ward does not collect (家電リサイクル法…)
are said with their reason. Every fee, day and rule comes from the data.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.events import Button
from bot.turn import TurnContext, payload
from handlers.forms import CORRECTION_WORDS, Slot
from handlers.reservations import (
    BookingForm,
    as_date,
    contact_details,
    date_buttons,
    next_days,
    render_date,
    services_data,
    taken,
    window_problem,
    yen,
)
from knowledge.bookings import Capacity
from knowledge.services_data import ServicesData, format_date, split_address, weekday_of
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


def _keys(data: ServicesData) -> list[_Key]:
    keys: list[_Key] = []
    for item in data.bulky_waste.items:
        for word in (item.name, *item.aliases):
            keys.append(_Key(fold_kana(word), item.id, item.name))
    for group in data.bulky_waste.not_accepted:
        keys += [_Key(fold_kana(name), None, name, group.reason) for name in group.names]
    for index, sized in enumerate(data.bulky_waste.sized):
        keys += [_Key(fold_kana(w), None, sized.word, group=index) for w in (sized.word, *sized.aliases)]
    return sorted(keys, key=lambda k: -len(k.key))


def family_of(data: ServicesData, item_id: str) -> str:
    """Items of one sized group are one family ("sofa_1" and "sofa_2" are both ソファ)."""
    for index, sized in enumerate(data.bulky_waste.sized):
        if item_id in sized.items:
            return f"group:{index}"
    return item_id


def _size_in(data: ServicesData, group: int, region: str) -> tuple[str, int, int] | None:
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
        for m in re.finditer(re.escape(key.key), folded):
            if not any(covered[m.start() : m.end()]):
                covered[m.start() : m.end()] = [True] * (m.end() - m.start())
                found.append((m.start(), m.end(), key))
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
            size = _size_in(data, key.group, folded[low:high])
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
        return {**new, "items": [_clean(i) for i in new["items"]]}
    items = list(old_items)
    for item in new["items"]:
        family = family_of(data, item["id"])
        before = [i for i in items if family_of(data, i["id"]) == family]
        qty = item["qty"] if item.get("qty_said") or not before else sum(int(i["qty"]) for i in before)
        at = next((n for n, i in enumerate(items) if family_of(data, i["id"]) == family), len(items))
        items = [i for i in items if family_of(data, i["id"]) != family]
        items.insert(at, {**_clean(item), "qty": qty})  # in the old one's place
    ask = [a for a in old.get("ask", []) if not any(family_of(data, i["id"]) == f"group:{a['group']}" for i in items)]
    for pending in new["ask"]:  # "ソファ" again without a size: the sofa already listed stays
        family = f"group:{pending['group']}"
        listed = [i for i in items if family_of(data, i["id"]) == family]
        if not listed and not any(a["group"] == pending["group"] for a in ask):
            ask.append(pending)
        elif pending.get("qty_said") and len(listed) == 1:
            listed[0]["qty"] = pending["qty"]
    return {**new, "items": items, "ask": ask, "refused": [], "unknown": []}


def _clean(item: dict[str, Any]) -> dict[str, Any]:
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


# -- slots ----------------------------------------------------------------------------------
def _extract_items(ctx: TurnContext, values: dict[str, Any]) -> dict[str, Any] | None:
    form = ctx.state.active_form
    asked = form is not None and form.requested_slot == "items" and not ctx.parse.from_payload
    entities = [(int(e["start"]), int(e["end"])) for e in ctx.parse.entities if "start" in e and "end" in e]
    data = services_data(ctx)
    result = match_items(data, ctx.parse.text, find_unknown=asked, ignore=entities)
    if not (result["items"] or result["refused"] or result["unknown"] or result["ask"]):
        return None
    old = values.get("items")
    if isinstance(old, dict) and not asked:  # a correction: merge by item, never drop the others
        if not (result["items"] or result["ask"]):
            return None
        replace = any(word in ctx.parse.text for word in CORRECTION_WORDS)
        return merge_items(data, old, result, replace=replace)
    return {**result, "items": [_clean(i) for i in result["items"]]}


# -- size of a sized item ("ソファ": 1人掛け or 2人掛け以上) -----------------------------------------
def _pending(values: dict[str, Any]) -> dict[str, Any] | None:
    asks = (values.get("items") or {}).get("ask") or []
    return asks[0] if asks else None


def _extract_size(ctx: TurnContext, values: dict[str, Any]) -> str | None:
    pending = _pending(values)
    if pending is None:
        return None
    data = services_data(ctx)
    group = data.bulky_waste.sized[int(pending["group"])]
    given = ctx.parse.entity("size")
    if isinstance(given, str) and given in group.items:
        return given
    if ctx.parse.from_payload:
        return None
    text = fold_kana(unicodedata.normalize("NFKC", ctx.parse.text))
    for item in data.bulky_waste.items:
        if item.id in group.items and any(fold_kana(w) in text for w in (item.name, *item.aliases)):
            return item.id
    size = _size_in(data, int(pending["group"]), text)
    return size[0] if size else None


def _size_choices(ctx: TurnContext, values: dict[str, Any]) -> list[Button]:
    pending = _pending(values)
    if pending is None:
        return []
    data = services_data(ctx)
    by_id = {i.id: i for i in data.bulky_waste.items}
    group = data.bulky_waste.sized[int(pending["group"])]
    return [Button(f"{by_id[i].name} {yen(by_id[i].fee)}", payload("inform", size=i)) for i in group.items]


def _needs_size(values: dict[str, Any]) -> bool:
    return _pending(values) is not None


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


def _validate_items(ctx: TurnContext, value: dict[str, Any], _values: dict[str, Any]) -> str | None:
    data = services_data(ctx)
    lines: list[str] = refusal_lines(value["refused"])
    for word, close in value["unknown"]:
        hint = f"近い品目：{'、'.join(close)}" if close else "品目の名前を言い換えてみてください。"
        lines.append(f"「{word}」は粗大ごみの品目表に見当たりません。{hint}")
    count = sum(int(i["qty"]) for i in value["items"]) + sum(int(a["qty"]) for a in value.get("ask", []))
    if count > data.bulky_waste.max_items:
        lines.append(f"1回に申し込めるのは{data.bulky_waste.max_items}点までです。")
    if not value["items"] and not value.get("ask") and not lines:
        lines.append("出したい品物を教えてください。")
    if lines and value["items"]:
        lines.append(f"（わかった品目：{render_items(value)}）")
    return "\n".join(lines) or None


def _extract_address(ctx: TurnContext, _values: dict[str, Any]) -> dict[str, Any] | None:
    town = services_data(ctx).find_town(ctx.parse.text)
    if town is None:
        return {"town": "", "area": "", "rest": ""}
    return {"town": town[0], "area": town[1], "rest": split_address(ctx.parse.text, town[0])}


def _validate_address(ctx: TurnContext, value: dict[str, Any], _values: dict[str, Any]) -> str | None:
    if not value["town"]:
        towns = "、".join(t for a in services_data(ctx).areas.values() for t in a.towns[:2])
        return f"{services_data(ctx).municipality}の町名が見つかりませんでした。（町名の例：{towns}）"
    if not value["rest"]:
        return f"{value['town']}の番地も教えてください。"
    return None


def render_address(value: dict[str, Any]) -> str:
    return f"{value['town']}{value['rest']}"


def available_dates(ctx: TurnContext, area: str, limit: int = 4) -> list[date]:
    """The next collection days of the area that still take reservations."""
    data = services_data(ctx)
    spec = data.bulky_waste
    days: list[date] = []
    for day in next_days(ctx, spec):
        collects = weekday_of(day) in spec.collection_weekdays[area] and not data.is_closed_date(day)
        if collects and taken(area, day) < spec.daily_limit:
            days.append(day)
        if len(days) >= limit:
            break
    return days


def _validate_date(ctx: TurnContext, value: Any, values: dict[str, Any]) -> str | None:
    data = services_data(ctx)
    day = as_date(value)
    if day is None:
        return "日付がわかりませんでした。"
    problem = window_problem(ctx, day, data.bulky_waste, data)
    area = (values.get("address") or {}).get("area")
    if problem is None and area:
        weekdays = data.bulky_waste.collection_weekdays[area]
        if weekday_of(day) not in weekdays:
            problem = (
                f"{format_date(day)}は{area}地区の収集日ではありません。"
                f"{area}地区の収集日は毎週{'・'.join(weekdays)}曜日です。"
            )
        elif taken(area, day) >= data.bulky_waste.daily_limit:
            problem = f"{format_date(day)}の収集は受付数がいっぱいになりました。"
    if problem and area:
        days = available_dates(ctx, area)
        if days:
            problem += f"\n申し込める収集日：{'、'.join(format_date(d) for d in days)}"
    return problem


def _date_choices(ctx: TurnContext, values: dict[str, Any]) -> list[Button]:
    area = (values.get("address") or {}).get("area")
    return date_buttons(available_dates(ctx, area)) if area else []


class BulkyWasteForm(BookingForm):
    name = "bulky_waste"
    kind = "bulky_waste"
    catch_all = frozenset({"items", "address"})
    intents = frozenset({"bulky_waste"})
    title = "粗大ごみ収集の申込み"
    answers_fee_questions = True
    slots = (
        Slot(
            "items",
            "出したい品物と数を教えてください。（例：ソファと椅子2脚）",
            "品目",
            extract=_extract_items,
            validate=_validate_items,
            render=render_items,
            aliases=("品物", "出すもの"),
        ),
        Slot(
            "size",
            "大きさによって料金が変わります。どちらですか。",
            "品物の大きさ",
            extract=_extract_size,
            choices=_size_choices,
            free_text=True,
            required=_needs_size,
        ),
        Slot(
            "address",
            "収集にうかがう場所の町名と番地を教えてください。（例：中央1-1-1）",
            "収集場所",
            extract=_extract_address,
            validate=_validate_address,
            render=render_address,
            free_text=True,
            aliases=("住所", "場所", "番地"),
        ),
        Slot(
            "date",
            "収集日を選んでください。",
            "収集日",
            entity="date",
            validate=_validate_date,
            choices=_date_choices,
            render=render_date,
            aliases=("日付", "日にち"),
        ),
    )

    async def _next(self, ctx: TurnContext, *, announce_errors: bool = True) -> None:
        self._apply_size(ctx)
        await super()._next(ctx, announce_errors=announce_errors)

    def _apply_size(self, ctx: TurnContext) -> None:
        """The size chosen for the first item asked about becomes that item, with its fee."""
        form = self._form(ctx)
        size = form.slots.pop("size", None)
        items = form.slots.get("items")
        if not size or not isinstance(items, dict) or not items.get("ask"):
            return
        pending, *rest = items["ask"]
        item = next(i for i in services_data(ctx).bulky_waste.items if i.id == size)
        listed = [dict(i) for i in items["items"]]
        same = next((i for i in listed if i["id"] == item.id), None)
        if same is not None:
            same["qty"] = int(same["qty"]) + int(pending["qty"])
        else:
            listed.append({"id": item.id, "name": item.name, "fee": item.fee, "qty": int(pending["qty"])})
        form.slots["items"] = {**items, "items": listed, "ask": rest}

    async def start(self, ctx: TurnContext) -> bool:
        text = ctx.parse.text
        if not ctx.parse.from_payload and any(w in text for w in ("いくら", "料金", "値段")):
            data = services_data(ctx)
            matched = match_items(data, text, find_unknown=False)
            by_id = {i.id: i for i in data.bulky_waste.items}
            found = list(matched["items"]) + [
                {"name": by_id[i].name, "fee": by_id[i].fee}
                for a in matched["ask"]
                for i in data.bulky_waste.sized[int(a["group"])].items
            ]
            if found:
                fees = "\n".join(f"・{i['name']}：{yen(i['fee'])}（1点）" for i in found)
                ctx.say(
                    f"粗大ごみの料金です。\n{fees}",
                    buttons=[Button("収集を申し込む", payload("bulky_waste")), Button("やめる", payload("cancel"))],
                )
                return False
            self._fee_overview(ctx)
            return False
        if not ctx.parse.from_payload:
            matched_all = match_items(services_data(ctx), text, find_unknown=False)
            if matched_all["refused"] and not matched_all["items"] and not matched_all["ask"]:
                # Nothing here can be collected: say why once, offer other items or stopping.
                ctx.say(
                    "\n".join(refusal_lines(matched_all["refused"]))
                    + "\nほかに粗大ごみとして出したい品物があれば、品物の名前を送ってください。",
                    buttons=[
                        Button("ほかの品物を申し込む", payload("bulky_waste", start="yes")),
                        Button("やめる", payload("cancel")),
                    ],
                )
                return False
        ctx.say("粗大ごみの収集を申し込みます。途中で「やめる」と送ると取りやめられます。")
        return True

    @staticmethod
    def _fee_overview(ctx: TurnContext) -> None:
        """A fee question that names no item: the range and a few examples, all from the data."""
        items = services_data(ctx).bulky_waste.items
        fees = sorted(item.fee for item in items)
        examples = "\n".join(f"・{item.name}：{yen(item.fee)}" for item in items[:4])
        ctx.say(
            f"粗大ごみの料金は品目ごとに決まっていて、1点{yen(fees[0])}〜{yen(fees[-1])}です。\n例：\n{examples}\n"
            "品目名を送っていただくと料金をお答えします。",
            buttons=[Button("収集を申し込む", payload("bulky_waste"))],
        )

    def summary_lines(self, ctx: TurnContext, values: dict[str, Any]) -> list[str]:
        lines = [f"・{i['name']}×{i['qty']}　{yen(i['fee'] * i['qty'])}" for i in values["items"]["items"]]
        lines.append(f"料金合計：{yen(total_fee(values['items']))}")
        lines.append(f"収集場所：{render_address(values['address'])}")
        lines.append(f"収集日：{format_date(as_date(values['date']))}")  # type: ignore[arg-type]
        return lines

    async def submit(self, ctx: TurnContext, values: dict[str, Any]) -> None:
        spec = services_data(ctx).bulky_waste
        day = as_date(values["date"])
        assert day is not None
        address = values["address"]
        details = {
            **contact_details(values),
            "items": values["items"]["items"],
            "total_fee": total_fee(values["items"]),
            "town": address["town"],
            "address": render_address(address),
        }
        number = await self.book(
            ctx, resource=address["area"], day=day, capacity=Capacity(spec.daily_limit), details=details
        )
        if number is None:
            await self.reopen(
                ctx,
                values,
                drop=("date",),
                message=f"申し訳ありません。{format_date(day)}の収集はたった今いっぱいになりました。",
            )
            return
        self.done(
            ctx,
            title="粗大ごみ収集の予約",
            number=number,
            lines=self.summary_lines(ctx, values),
            notes=[f"【お支払い】{spec.payment}", spec.rules[1], f"【取消し・変更】{spec.change_note}"],
        )
