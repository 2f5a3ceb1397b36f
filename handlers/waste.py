"""ごみ分別: "Xは何ごみ？" from the separation list, and collection days from the catalog.

The item answer comes from `services.knowledge.waste` (knowledge/waste.py): the category and
the list's note (size and weight limits). Several close items become buttons; an item that is
粗大ごみ offers the 粗大ごみ form. "燃えるごみは何曜日？" is answered from the catalog's
`waste_collection` (by area when the message names a town or area).
"""

from __future__ import annotations

import re
import unicodedata

from bot.engine.events import Button, Card
from bot.engine.state import Expectation
from bot.engine.turn import TurnContext, payload
from handlers.procedures import catalog_of, say_procedure
from handlers.variants import reading_in
from knowledge.catalog import CollectionArea, WasteCollection
from knowledge.waste import WasteAnswer, WasteGuide, WasteItem, extract_item
from knowledge.waste_near import WasteNear

_NEAR: list[tuple[WasteGuide, WasteNear]] = []  # the near words, loaded once per list


def near_of(ctx: TurnContext, guide: WasteGuide) -> WasteNear:
    if not _NEAR or _NEAR[0][0] is not guide:
        _NEAR[:] = [(guide, WasteNear.load(ctx.services.settings.data_dir, guide))]
    return _NEAR[0][1]


def near_items(ctx: TurnContext, guide: WasteGuide, name: str) -> list[WasteItem]:
    return near_of(ctx, guide).items(name) if name and not name.startswith(NONE_OF_THESE) else []


COLLECTION_CUES = (
    "収集日",
    "何曜",
    "曜日",
    "いつ",
    "ごみの日",
    "ゴミの日",
    "ごみ出しの日",
    "回収日",
    "収集は",
    "出す日",
)
BULKY = "粗大ごみ"
OUTRIGHT = 0.85  # a spelling this close to a list item is answered as it; a less close one is offered
NONE_OF_THESE = "-"  # the "どれでもない" button's item: the name, said to be none of the near ones
FAQ_MIN_CONFIDENCE = 0.6
GENERIC_WORDS = ("分別", "分け方", "出し方", "捨て方")
MAX_CANDIDATES = 5
# Everyday words for the list's categories (the catalog names them as the separation list does).
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "燃やさないごみ": ("燃やさない", "燃えない", "不燃"),
    "燃やすごみ": ("燃やす", "燃える", "可燃", "生ごみ"),
    "プラスチック資源": ("プラ",),
    "資源ごみ（びん・缶・ペットボトル）": ("びん", "瓶", "ビン", "缶", "カン", "ペットボトル"),
    "資源ごみ（古紙・布）": ("古紙", "新聞", "段ボール", "ダンボール", "雑誌", "古布", "古着"),
    "有害ごみ": ("有害", "電池", "蛍光灯", "スプレー"),
}


def _text(ctx: TurnContext) -> str:
    return unicodedata.normalize("NFKC", ctx.parse.text or "")


def category_in(text: str) -> str | None:
    for category, words in CATEGORY_WORDS.items():  # 燃やさない before 燃やす: the longer word first
        if category in text or any(w in text for w in words):
            return category
    for category, words in CATEGORY_WORDS.items():  # -- writing variants: もえないごみ, ぷら…
        if any(reading_in(w, text) for w in (category, *words)):
            return category
    return None


def area_in(collection: WasteCollection, text: str) -> CollectionArea | None:
    for area in collection.areas:
        if area.name in text:
            return area
    for area in collection.areas:  # a town name: the longest match wins (北町 before 北)
        if any(town in text for town in sorted(area.towns, key=len, reverse=True)):
            return area
    for area in collection.areas:  # -- writing variants: a place name in kana (きたまち)
        if any(reading_in(town, text) for town in (area.name, *area.towns)):
            return area
    return None


# The question "which area?" counts for the next message only: a `followup` on the conversation's
# stack of expectations (bot/engine/expectations.py), with the category asked about.
AREA_QUESTION = "waste_area"


class WasteSortingHandler:
    """`waste_sorting`, and the answer to this handler's "お住まいの地区は？".

    No form is active when the bot asks for the area (it offers buttons); the question is a
    followup on the stack, and the router gives this handler a typed answer that names an area
    ("本町です", a bare `inform`) before any intent (`claims` / `answer`). Any other `inform` goes
    on to the fallback handler, as it would without this handler.
    """

    name = "waste_sorting"
    intents = frozenset({"waste_sorting", "inform"})
    expects = frozenset({AREA_QUESTION})

    def claims(self, ctx: TurnContext, expectation: Expectation) -> bool:
        collection = catalog_of(ctx).waste_collection
        return ctx.parse.intent == "inform" and collection is not None and area_in(collection, _text(ctx)) is not None

    async def answer(self, ctx: TurnContext, expectation: Expectation) -> None:
        ctx.state.drop_expected("followup", AREA_QUESTION)
        collection = catalog_of(ctx).waste_collection
        text = _text(ctx)
        area = area_in(collection, text) if collection is not None else None
        if collection is None or area is None:  # claimed only with both
            return
        category = str(expectation.data.get("category") or "") or category_in(text)
        self._area_days(ctx, collection, area, category if category in _categories(collection) else None)

    async def handle(self, ctx: TurnContext) -> None:
        ctx.state.drop_expected("followup", AREA_QUESTION)  # answered or passed over: closed
        if ctx.parse.intent == "inform":  # not an area the bot asked for (the router asks `claims` first)
            from handlers.fallback import FallbackHandler

            ctx.handled_by = FallbackHandler.name
            await FallbackHandler().handle(ctx)
            return
        item = ctx.parse.entity("item")
        text = _text(ctx)
        if item is None and (ctx.parse.entity("area") or ctx.parse.entity("schedule") or _about_days(text)):
            self._collection_days(ctx, text)
            return
        if item is None and ctx.parse.from_payload:
            self._overview(ctx)  # a button to ごみの分け方
            return
        guide: WasteGuide | None = ctx.services.knowledge.waste
        named = extract_item(text)
        if item is not None and not ctx.parse.from_payload and _another_thing(str(item), named):
            item = None  # 「アイロン台」 names アイロン but is another thing: not answered as it
        query = str(item or text)
        answer = guide.lookup(query, cutoff=OUTRIGHT) if guide is not None and len(guide) else None
        if answer is not None and not ctx.parse.from_payload and _another_thing(answer.item, named):
            answer = None
        if answer is None and item is None and _is_generic(extract_item(text)):
            self._overview(ctx)  # "ごみの分け方を教えて": no item named
        elif answer is None:
            name = str(item) if item else extract_item(text)
            near = near_items(ctx, guide, name) if guide is not None else []
            if near:
                self._did_you_mean(ctx, name, near)
            else:
                self._not_found(ctx, name)
        elif answer.ambiguous:
            self._candidates(ctx, answer)
        else:
            self._answer(ctx, answer)

    def _ask_area(self, ctx: TurnContext, category: str | None) -> None:
        ctx.state.drop_expected("followup", AREA_QUESTION)
        ctx.state.expect("followup", AREA_QUESTION, data={"category": category}, for_turns=1)

    def _overview(self, ctx: TurnContext) -> None:
        catalog = catalog_of(ctx)
        proc = catalog.procedure("waste_sorting")
        collection = catalog.waste_collection
        say_procedure(ctx, proc, extra_buttons=_area_buttons(collection) if collection else None)
        ctx.say("品目の分け方は「ペットボトルは何ごみ？」のように聞いてください。")

    # -- "Xは何ごみ？" ----------------------------------------------------------------------
    def _answer(self, ctx: TurnContext, answer: WasteAnswer) -> None:
        buttons: list[Button] = []
        if answer.category == BULKY or BULKY in answer.note:
            buttons.append(Button("粗大ごみを申し込む", payload("bulky_waste")))
        if _has_days(ctx, answer.category):
            buttons.append(Button(f"{answer.category}の収集日", payload("waste_sorting", schedule=answer.category)))
        ctx.say(answer.sentence, buttons=buttons, custom={"waste_item": answer.item, "category": answer.category})

    def _candidates(self, ctx: TurnContext, answer: WasteAnswer) -> None:
        shown = answer.candidates[:MAX_CANDIDATES]
        buttons = [Button(c.name, payload("waste_sorting", item=c.name)) for c in shown]
        ctx.say(answer.sentence, buttons=buttons)

    def _did_you_mean(self, ctx: TurnContext, name: str, near: list[WasteItem]) -> None:
        """A name the list lacks, with list items near it: the choice, each with the list's category."""
        ctx.handled_by = "waste_sorting:did_you_mean"
        buttons = [Button(f"{i.name}（{i.category}）", payload("waste_sorting", item=i.name)) for i in near]
        ctx.say(
            f"「{name}」は分別の一覧に見つかりませんでした。もしかして、次のどれかですか？ 当てはまるものを選んでください。",
            buttons=[*buttons, Button("どれでもない", payload("waste_sorting", item=NONE_OF_THESE + name))],
        )

    def _not_found(self, ctx: TurnContext, item: str) -> None:
        """Nothing in the list is near: said plainly (no category guessed), with the FAQ's answer when
        one matches well, the office in charge and a person."""
        catalog = catalog_of(ctx)
        proc = catalog.get("waste_sorting")
        office = catalog.office_of(proc) if proc else None
        where = f"{office.name}（{office.where}）にお問い合わせください。" if office else ""
        item = item.removeprefix(NONE_OF_THESE)
        named = f"「{item}」は" if item else "その品目は"
        ctx.say(
            f"申し訳ありません。{named}分別の一覧に見つかりませんでした。出し方がわからないときは、{where}",
            buttons=(
                Button("職員と話す", payload("request_human")),
                Button("収集日を見る", payload("waste_sorting", schedule="all")),
            ),
        )
        faq = ctx.services.knowledge.get("faq")
        hits = faq.search(item, top_k=1) if faq is not None and item else []
        if hits and hits[0].confidence >= FAQ_MIN_CONFIDENCE:
            ctx.say(f"よくある質問から：\n{hits[0].answer}", card=Card(hits[0].question, (), kind="faq"))

    # -- collection days -------------------------------------------------------------------
    def _collection_days(self, ctx: TurnContext, text: str) -> None:
        catalog = catalog_of(ctx)
        collection = catalog.waste_collection
        if collection is None:
            proc = catalog.get("waste_sorting")
            if proc is not None:
                say_procedure(ctx, proc)
            return
        wanted = str(ctx.parse.entity("schedule") or "") or category_in(text) or ""
        if wanted == BULKY or BULKY in text:
            rule = collection.by_request.get(BULKY, "")
            ctx.say(f"粗大ごみは{rule}です。", buttons=(Button("粗大ごみを申し込む", payload("bulky_waste")),))
            return
        area_name = ctx.parse.entity("area")
        area = next((a for a in collection.areas if a.name == area_name), None) or area_in(collection, text)
        category = wanted if wanted in _categories(collection) else None
        if area is not None:
            self._area_days(ctx, collection, area, category)
        elif category is not None:
            lines = [
                f"{a.name}（{'・'.join(a.towns)}）：{a.days[category]}" for a in collection.areas if category in a.days
            ]
            ctx.say(
                f"{category}の収集日です。",
                card=Card(f"{category}の収集日", (*lines, collection.note)),
                buttons=_area_buttons(collection),
            )
            self._ask_area(ctx, category)
        else:
            ctx.say("お住まいの地区を選んでください。収集日をお知らせします。", buttons=_area_buttons(collection))
            self._ask_area(ctx, None)

    def _area_days(
        self, ctx: TurnContext, collection: WasteCollection, area: CollectionArea, category: str | None
    ) -> None:
        days = {category: area.days[category]} if category and category in area.days else area.days
        lines = [f"{name}：{day}" for name, day in days.items()]
        lines += [f"{name}：{rule}" for name, rule in collection.by_request.items()] if category is None else []
        towns = "・".join(area.towns)
        ctx.say(
            f"{area.name}（{towns}）の収集日です。",
            card=Card(f"{area.name}のごみ収集日", (*lines, collection.note)),
        )


_SAME_THING = re.compile(r"^(?:.*の|古い|古|壊れた|いらない|不要な|使わない|使い終わった|空の|空き)?\s*$")


def _another_thing(item: str, named: str) -> bool:
    """Does the resident's name for the thing add to the list item's name a word that makes it
    another thing (アイロン台, 電子たばこ), not only a description (古い傘, 子どもの自転車)?"""
    if not named or item not in named or named == item:
        return False
    before, _, after = named.partition(item)
    return bool(after.strip()) or not _SAME_THING.match(before)


def _is_generic(item: str) -> bool:
    """No item named: "ごみの分け方を教えて", "分別について"."""
    return item in ("", "ごみ", "ゴミ", "家庭ごみ") or any(w in item for w in GENERIC_WORDS)


_DAY_WORDS = re.compile(r"の日|日は|日って|日を|出せる日|曜")


def _about_days(text: str) -> bool:
    """A question about collection days: "燃えるごみは何曜日？", or "本町のプラの日" (a category + "…の日")."""
    return (
        any(cue in text for cue in COLLECTION_CUES)
        or (category_in(text) is not None and _DAY_WORDS.search(text) is not None)
        or any(reading_in(cue, text) for cue in COLLECTION_CUES)  # -- writing variants: なんようび
    )


def _categories(collection: WasteCollection) -> set[str]:
    return {name for area in collection.areas for name in area.days}


def _has_days(ctx: TurnContext, category: str) -> bool:
    collection = catalog_of(ctx).waste_collection
    return collection is not None and category in _categories(collection)


def _area_buttons(collection: WasteCollection) -> list[Button]:
    return [Button(a.name, payload("waste_sorting", area=a.name)) for a in collection.areas]
