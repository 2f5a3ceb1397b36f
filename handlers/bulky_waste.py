"""粗大ごみ: the form: items, size, address, collection date, fee total, reservation.

What the resident's words name (items, quantities, sizes, close names for unknown words, items
the ward does not collect) is `handlers.bulky_items`; this module asks, checks and books. Every
fee, day and rule comes from the data.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

from bot.engine.events import Button
from bot.engine.turn import TurnContext, payload
from handlers.bulky_items import (
    clean_item,
    match_items,
    merge_items,
    refusal_lines,
    render_items,
    size_in,
    total_fee,
)
from handlers.contact import contact_details
from handlers.forms import CORRECTION_WORDS, Slot
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
from knowledge.services_data import format_date, split_address, weekday_of
from knowledge.textproc import fold_kana
from nlu.facets import detect_facet


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
    return {**result, "items": [clean_item(i) for i in result["items"]]}


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
    size = size_in(data, int(pending["group"]), text)
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
    return date_buttons(ctx, available_dates(ctx, area)) if area else []


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
        if not ctx.parse.from_payload and detect_facet(text) == "fee":
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
