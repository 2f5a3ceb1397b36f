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
from handlers.bulky_english import (
    english_town,
    fee_overview,
    item_name,
    items_text,
    match_english_items,
    refused_lines,
    shown_item,
    size_from_english,
    town_name,
    town_unknown,
)
from handlers.bulky_items import (
    clean_item,
    match_items,
    merge_items,
    render_items,
    size_in,
    total_fee,
)
from handlers.contact import contact_details
from handlers.form_texts import day_text, english, joined, name, tr, weekdays_text, yen_text
from handlers.forms import CORRECTION_WORDS, Slot
from handlers.reservations import (
    BookingForm,
    as_date,
    date_buttons,
    next_days,
    no_date,
    render_date,
    services_data,
    taken,
    window_problem,
)
from knowledge.bookings import Capacity
from knowledge.services_data import split_address, weekday_of
from knowledge.textproc import fold_kana
from nlu.facets import detect_facet

FORM = "bulky_waste"


def _t(ctx: TurnContext, key: str, ja: str, **values: Any) -> str:
    return tr(ctx, f"{FORM}.texts.{key}", ja, **values)


# -- slots ----------------------------------------------------------------------------------
def _extract_items(ctx: TurnContext, values: dict[str, Any]) -> dict[str, Any] | None:
    form = ctx.state.active_form
    asked = form is not None and form.requested_slot == "items" and not ctx.parse.from_payload
    entities = [(int(e["start"]), int(e["end"])) for e in ctx.parse.entities if "start" in e and "end" in e]
    data = services_data(ctx)
    if english(ctx):
        result = match_english_items(ctx, ctx.parse.text, find_unknown=asked)
    else:
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
    if english(ctx):
        return size_from_english(ctx, int(pending["group"]), ctx.parse.text)
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
    return [
        Button(
            f"{item_name(ctx, i, by_id[i].name) if english(ctx) else by_id[i].name} {yen_text(ctx, by_id[i].fee)}",
            payload("inform", size=i),
        )
        for i in group.items
    ]


def _needs_size(values: dict[str, Any]) -> bool:
    return _pending(values) is not None


def _validate_items(ctx: TurnContext, value: dict[str, Any], _values: dict[str, Any]) -> str | None:
    data = services_data(ctx)
    lines: list[str] = refused_lines(ctx, value["refused"])
    for word, close in value["unknown"]:
        hint = (
            _t(ctx, "close", "近い品目：{names}", names=joined(ctx, close))
            if close
            else _t(ctx, "rephrase", "品目の名前を言い換えてみてください。")
        )
        lines.append(_t(ctx, "unknown", "「{word}」は粗大ごみの品目表に見当たりません。{hint}", word=word, hint=hint))
    count = sum(int(i["qty"]) for i in value["items"]) + sum(int(a["qty"]) for a in value.get("ask", []))
    if count > data.bulky_waste.max_items:
        lines.append(_t(ctx, "too_many", "1回に申し込めるのは{max}点までです。", max=data.bulky_waste.max_items))
    if not value["items"] and not value.get("ask") and not lines:
        lines.append(_t(ctx, "which", "出したい品物を教えてください。"))
    if lines and value["items"]:
        lines.append(_t(ctx, "understood", "（わかった品目：{items}）", items=items_text(ctx, value)))
    return "\n".join(lines) or None


def _extract_address(ctx: TurnContext, _values: dict[str, Any]) -> dict[str, Any] | None:
    latin = english_town(ctx, ctx.parse.text) if english(ctx) else None
    if latin is not None:
        return {"town": latin[0], "area": latin[1], "rest": latin[2]}
    town = services_data(ctx).find_town(ctx.parse.text)
    if town is None:
        return {"town": "", "area": "", "rest": ""}
    return {"town": town[0], "area": town[1], "rest": split_address(ctx.parse.text, town[0])}


def _validate_address(ctx: TurnContext, value: dict[str, Any], _values: dict[str, Any]) -> str | None:
    if not value["town"]:
        return town_unknown(ctx)
    if not value["rest"]:
        town = town_name(ctx, value["town"]) if english(ctx) else value["town"]
        return _t(ctx, "banchi", "{town}の番地も教えてください。", town=town)
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
        return no_date(ctx)
    problem = window_problem(ctx, day, data.bulky_waste, data)
    area = (values.get("address") or {}).get("area")
    if problem is None and area:
        weekdays = data.bulky_waste.collection_weekdays[area]
        area_said = town_name(ctx, area) if english(ctx) else area
        if weekday_of(day) not in weekdays:
            problem = _t(
                ctx,
                "not_area_day",
                "{day}は{area}地区の収集日ではありません。{area}地区の収集日は毎週{days}です。",
                day=day_text(ctx, day),
                area=area_said,
                days=weekdays_text(ctx, weekdays),
            )
        elif taken(area, day) >= data.bulky_waste.daily_limit:
            problem = _t(ctx, "day_full", "{day}の収集は受付数がいっぱいになりました。", day=day_text(ctx, day))
    if problem and area:
        days = available_dates(ctx, area)
        if days:
            listed = joined(ctx, (day_text(ctx, d) for d in days))
            problem += "\n" + _t(ctx, "days", "申し込める収集日：{days}", days=listed)
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
        data = services_data(ctx)
        matched = match_english_items(ctx, text) if english(ctx) else match_items(data, text, find_unknown=False)
        if not ctx.parse.from_payload and detect_facet(text) == "fee":
            by_id = {i.id: i for i in data.bulky_waste.items}
            found = [(i["id"], i["fee"]) for i in matched["items"]] + [
                (i, by_id[i].fee) for a in matched["ask"] for i in data.bulky_waste.sized[int(a["group"])].items
            ]
            if found:
                fees = "\n".join(
                    _t(
                        ctx,
                        "fee_line",
                        "・{name}：{fee}（1点）",
                        name=shown_item(ctx, i, by_id[i].name),
                        fee=yen_text(ctx, f),
                    )
                    for i, f in found
                )
                ctx.say(
                    _t(ctx, "fees", "粗大ごみの料金です。\n{lines}", lines=fees),
                    buttons=[
                        Button(_t(ctx, "apply", "収集を申し込む"), payload("bulky_waste")),
                        self._cancel_button(ctx),
                    ],
                )
                return False
            fee_overview(ctx)
            return False
        if not ctx.parse.from_payload and matched["refused"] and not matched["items"] and not matched["ask"]:
            # Nothing here can be collected: say why once, offer other items or stopping.
            more = _t(ctx, "refused_more", "ほかに粗大ごみとして出したい品物があれば、品物の名前を送ってください。")
            ctx.say(
                "\n".join([*refused_lines(ctx, matched["refused"]), more]),
                buttons=[
                    Button(_t(ctx, "other_items", "ほかの品物を申し込む"), payload("bulky_waste", start="yes")),
                    self._cancel_button(ctx),
                ],
            )
            return False
        if english(ctx):
            ctx.say(f"{self.text(ctx, 'start', '')} {tr(ctx, 'common.note_cancel', '')}".strip())
            return True
        ctx.say("粗大ごみの収集を申し込みます。途中で「やめる」と送ると取りやめられます。")
        return True

    def summary_lines(self, ctx: TurnContext, values: dict[str, Any]) -> list[str]:
        lines = [
            _t(
                ctx,
                "line_item",
                "・{name}×{qty}　{fee}",
                name=shown_item(ctx, i["id"], i["name"]),
                qty=i["qty"],
                fee=yen_text(ctx, i["fee"] * i["qty"]),
            )
            for i in values["items"]["items"]
        ]
        address = values["address"]
        where = f"{town_name(ctx, address['town'])} {address['rest']}" if english(ctx) else render_address(address)
        lines.append(_t(ctx, "line_total", "料金合計：{fee}", fee=yen_text(ctx, total_fee(values["items"]))))
        lines.append(_t(ctx, "line_address", "収集場所：{address}", address=where))
        lines.append(_t(ctx, "line_date", "収集日：{day}", day=day_text(ctx, as_date(values["date"]))))  # type: ignore[arg-type]
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
            message = _t(
                ctx, "gone", "申し訳ありません。{day}の収集はたった今いっぱいになりました。", day=day_text(ctx, day)
            )
            await self.reopen(ctx, values, drop=("date",), message=message)
            return
        self.done(
            ctx,
            title=self.title_in(ctx),
            number=number,
            lines=self.summary_lines(ctx, values),
            notes=[
                _t(ctx, "payment", "【お支払い】{note}", note=name(ctx, "bulky_waste.payment", spec.payment)),
                name(ctx, "bulky_waste.put_out", spec.rules[1]),
                _t(
                    ctx,
                    "change",
                    "【取消し・変更】{note}",
                    note=name(ctx, "bulky_waste.change_note", spec.change_note, phone=spec.phone),
                ),
            ],
        )
