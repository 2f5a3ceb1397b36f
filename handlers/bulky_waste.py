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
from handlers.forms import Slot
from handlers.reservations import (
    BookingForm,
    as_date,
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
    item_id: str | None  # None for an item the ward does not collect
    label: str
    reason: str = ""


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
    return sorted(keys, key=lambda k: -len(k.key))


def match_items(
    data: ServicesData, text: str, *, find_unknown: bool, ignore: list[tuple[int, int]] | None = None
) -> dict[str, Any]:
    """{"items": [{"id","name","fee","qty"}], "refused": [[name, reason]], "unknown": [[word, [close]]]}."""
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
    spans: list[tuple[int, int]] = []
    fees = {i.id: i.fee for i in data.bulky_waste.items}
    for start, end, key in sorted(found, key=lambda f: f[0]):
        qty, q_start, q_end = _quantity(folded, start, end)
        spans.append((where[q_start], where[q_end - 1] + 1))
        if key.item_id is None:
            refused.append([key.label, key.reason])
            continue
        entry = items.setdefault(
            key.item_id, {"id": key.item_id, "name": key.label, "fee": fees[key.item_id], "qty": 0}
        )
        entry["qty"] += qty
    unknown = _unknown_words(data, text, spans + (ignore or [])) if find_unknown else []
    return {"items": list(items.values()), "refused": refused, "unknown": unknown}


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
    result = match_items(services_data(ctx), ctx.parse.text, find_unknown=asked, ignore=entities)
    if result["items"] or result["refused"] or result["unknown"]:
        return result
    return None


def _validate_items(ctx: TurnContext, value: dict[str, Any], _values: dict[str, Any]) -> str | None:
    data = services_data(ctx)
    lines: list[str] = []
    for name, reason in value["refused"]:
        lines.append(f"「{name}」は粗大ごみとして出せません。{reason}")
    for word, close in value["unknown"]:
        hint = f"近い品目：{'、'.join(close)}" if close else "品目の名前を言い換えてみてください。"
        lines.append(f"「{word}」は粗大ごみの品目表に見当たりません。{hint}")
    count = sum(int(i["qty"]) for i in value["items"])
    if count > data.bulky_waste.max_items:
        lines.append(f"1回に申し込めるのは{data.bulky_waste.max_items}点までです。")
    if not value["items"] and not lines:
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

    async def start(self, ctx: TurnContext) -> bool:
        text = ctx.parse.text
        if not ctx.parse.from_payload and any(w in text for w in ("いくら", "料金", "値段")):
            found = match_items(services_data(ctx), text, find_unknown=False)["items"]
            if found:
                fees = "\n".join(f"・{i['name']}：{yen(i['fee'])}（1点）" for i in found)
                ctx.say(
                    f"粗大ごみの料金です。\n{fees}",
                    buttons=[Button("収集を申し込む", payload("bulky_waste")), Button("やめる", payload("cancel"))],
                )
                return False
            self._fee_overview(ctx)
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
