"""Answers in English (CONTRACTS §9), from the same data as the Japanese answers.

The English model names the same intents as the Japanese one; this module answers them with the
English message catalog and the procedure overlay (`knowledge/english.py`), reading fees, offices
and hours from the catalog's own fields (so a fee changed in procedures.yml changes here too).
The booking forms (一時預かり, 粗大ごみ, 施設予約, 介護の相談) run in English through the same form
definitions (handlers/english_forms.py; their words in forms_en.yml and services_en.yml). An
unknown ごみ item gets the nearest list items as a choice (knowledge/waste_near.py). The FAQ is in Japanese: English words of `faq_terms` become the
Japanese query, and the Japanese answer is shown under an English note.
"""

from __future__ import annotations

import re

from bot.engine.events import Button, Card
from bot.engine.turn import TurnContext, payload
from handlers.dated_hours import asked_day
from handlers.english_facets import english_facet_answer, fee_text, general_hours, no_data_sentence
from handlers.english_forms import BOOKING_WORDS, FORM_CLASSES, active_english_form, form_turn, start_form
from handlers.variants import did_you_mean
from handlers.waste import near_of
from knowledge.catalog import Catalog, Procedure
from knowledge.english import EnglishTexts
from knowledge.waste import WasteAnswer
from nlu.facets import detect_facet

STUCK_AFTER = 3
FAQ_MIN_CONFIDENCE = 0.6
TOPIC = "en_topic"  # state.data: the procedure last answered in English ("What does it cost?" next)
MANAGE_WORDS = re.compile(r"\b(?:reservation|booking|appointment)s?\b", re.I)  # "cancel my booking"
MY_BOOKING = re.compile(r"\bmy (?:reservation|booking|appointment)s?\b", re.I)  # whatever the intent read
NOT_FOLLOW_UPS = frozenset({"request_human", "dv_abuse", "waste_sorting", "cancel", "greet", "thanks", "goodbye"})


def _name(ctx: TurnContext) -> str:
    return ctx.services.settings.municipality_name


def menu(texts: EnglishTexts) -> list[Button]:
    return [Button(title, payload(intent)) for title, intent in texts.menu()]


def staff_button(texts: EnglishTexts) -> Button:
    return Button(texts.label("staff"), payload("request_human"))


async def answer_in_english(ctx: TurnContext, texts: EnglishTexts) -> None:
    """Answer this turn in English, whatever its intent; a booking form waiting gets its turn first."""
    form = active_english_form(ctx)
    if form is not None:
        await form_turn(ctx, form, lambda c: _dispatch(c, texts))
        return
    await _dispatch(ctx, texts)


async def _dispatch(ctx: TurnContext, texts: EnglishTexts) -> None:
    intent = ctx.parse.intent
    if _follow_up(ctx, texts, intent):
        return
    simple = {"greet": "greet", "follow": "greet", "bot_capabilities": "capabilities", "out_of_scope": "out_of_scope"}
    quiet = {"thanks": "thanks", "goodbye": "goodbye", "affirm": "ok", "deny": "ok"}
    ctx.handled_by = f"en:{intent}"
    if intent in simple:
        ctx.say(texts.message(simple[intent], name=_name(ctx)), buttons=menu(texts))
    elif intent in quiet:
        ctx.say(texts.message(quiet[intent]))
    elif intent == "reservation_manage" or (
        ctx.state.active_form is None
        and (MY_BOOKING.search(ctx.parse.text) or (intent == "cancel" and MANAGE_WORDS.search(ctx.parse.text)))
    ):  # "cancel my booking", "check my reservations": the same form as in Japanese
        await start_form(ctx, "reservation_manage")
    elif intent == "cancel":
        ctx.state.active_form = None
        ctx.state.paused_forms.clear()
        ctx.state.pending_question = None
        ctx.say(texts.message("cancel"), buttons=menu(texts))
    elif intent == "request_human":
        ctx.request_handoff("requested")
    elif intent == "dv_abuse":
        ctx.request_handoff("sensitive")
        ctx.say(texts.message("dv"))
    elif intent == "waste_sorting" or (intent == "bulky_waste" and _sorting_question(ctx)):
        _waste(ctx, texts)
    elif await start_form(ctx, intent):  # 一時預かり, 粗大ごみ, 施設予約, 介護の相談: the same forms, in English
        pass
    elif intent == "counter_visit":  # 窓口予約: buttons only, in English from messages_en.yml
        from handlers.counter_visit import book_visit

        await book_visit(ctx)
    elif _catalog(ctx) is not None and _catalog(ctx).is_procedure_intent(intent):  # type: ignore[union-attr]
        _procedure(ctx, texts, intent)
    else:
        _faq_or_fallback(ctx, texts)
    if intent not in ("nlu_fallback", "out_of_scope"):
        ctx.state.fallback_streak = 0


def _catalog(ctx: TurnContext) -> Catalog | None:
    return ctx.services.knowledge.get("catalog")


def asked_facet(ctx: TurnContext) -> str | None:
    return None if ctx.parse.from_payload else detect_facet(ctx.parse.text)


def _follow_up(ctx: TurnContext, texts: EnglishTexts, intent: str) -> bool:
    """A facet question that names no procedure ("What does it cost?"): about the procedure last
    answered; with none, an hours question about the ward's counters ("Open on Saturday?")."""
    catalog = _catalog(ctx)
    facet = asked_facet(ctx)
    if catalog is None or facet is None or catalog.is_procedure_intent(intent):
        return False
    if intent in NOT_FOLLOW_UPS and not (intent == "request_human" and facet == "proxy"):
        return False  # "Can someone else apply for me?" reads as a request for a person
    topic = ctx.state.data.get(TOPIC)
    if isinstance(topic, str) and catalog.is_procedure_intent(topic):
        ctx.handled_by = f"en:facet:{topic}"
        _procedure(ctx, texts, topic)
        ctx.state.fallback_streak = 0
        return True
    answer = general_hours(texts, catalog, ctx.parse.text, asked_day(ctx)) if facet == "hours" else None
    if answer is None:
        return False
    ctx.handled_by = "en:hours"
    ctx.say(answer, buttons=[staff_button(texts)])
    ctx.state.fallback_streak = 0
    return True


# ---------------------------------------------------------------- procedures


def procedure_lines(texts: EnglishTexts, catalog: Catalog, proc: Procedure) -> list[str]:
    """The card's lines: English words from the overlay, facts from the catalog's fields."""
    en = texts.procedure(proc.id)
    office = catalog.office_of(proc)
    lines = [en.summary if en else texts.message("japanese_only_note") + " " + proc.summary]
    lines.append(f"{texts.label('office')}: {office.name} ({texts.glossed(office.where)})")
    lines.append(f"{texts.label('hours')}: {texts.glossed(catalog.office_hours(proc))}")
    fee = None if proc.free_consultation else fee_text(texts, proc)
    if fee:
        lines.append(f"{texts.label('fee')}: {fee}")
    if proc.deadline:
        lines.append(f"{texts.label('deadline')}: {proc.deadline}")
    documents = en.documents if en and en.documents else proc.documents
    if documents:
        lines.append(f"{texts.label('documents')}: " + " / ".join(documents))
    lines.append(f"{texts.label('who')}: {en.who if en and en.who else proc.who}")
    lines += _channel_lines(texts, catalog, proc)
    return lines


def _channel_lines(texts: EnglishTexts, catalog: Catalog, proc: Procedure) -> list[str]:
    en = texts.procedure(proc.id)
    lines = []
    if proc.convenience is not None:
        conv = proc.convenience
        extra = [texts.label("per_copy", amount=conv.fee)] if conv.fee is not None else []
        if conv.hours is not None:
            extra.append(texts.glossed(catalog.hours_label(conv.hours)))
        said = en.convenience if en and en.convenience else conv.text
        lines.append(f"{texts.label('convenience')}: {said}" + (f" ({', '.join(extra)})" if extra else ""))
    for key, channel in (("online", proc.online), ("mail", proc.mail)):
        if channel is not None:
            said = getattr(en, key, "") if en else ""
            lines.append(f"{texts.label(key)}: {said or channel.text}")
    return lines


def answer_procedure_in_english(
    ctx: TurnContext, intent: str, *, extra_buttons: list[Button] | None = None, short: bool = False
) -> None:
    """The English answer about a procedure (the facet asked first), e.g. a question about a
    booking form's procedure, with `extra_buttons` (a button to book)."""
    from handlers.form_texts import texts_of

    _procedure(ctx, texts_of(ctx), intent, extra_buttons=extra_buttons or [], short=short)


def _procedure(
    ctx: TurnContext,
    texts: EnglishTexts,
    intent: str,
    *,
    extra_buttons: list[Button] | None = None,
    short: bool = False,
) -> None:
    extra_buttons = extra_buttons or []
    catalog = _catalog(ctx)
    assert catalog is not None
    proc = catalog.procedure(intent)
    en = texts.procedure(proc.id)
    title = en.name if en else proc.title
    card = Card(
        title=title,
        lines=tuple(procedure_lines(texts, catalog, proc)),
        buttons=(Button(texts.label("details"), proc.url, url=proc.url),),
        kind="info",
    )
    buttons = [staff_button(texts)]
    ctx.state.data[TOPIC] = proc.id
    lead = f"About {title}:"
    if intent in FORM_CLASSES:
        lead = f"{lead} {texts.message('booking_offer')}"
        buttons = [*extra_buttons, *buttons]
    elif intent in set(texts.messages.get("booking_intents") or ()):
        lead = f"{lead} {texts.message('booking_in_japanese')}"
    facet = asked_facet(ctx)
    if short:  # in the middle of a form: the answer only, then the form's question again
        answer = english_facet_answer(texts, catalog, proc, facet, ctx.parse.text, asked_day(ctx)) if facet else None
        ctx.say(answer or no_data_sentence(texts, catalog, proc, facet or "hours"))
        return
    if facet is None:
        ctx.say(lead, card=card, buttons=buttons)
        return
    # The facet asked first, in a sentence or two; the card below as the details.
    answer = english_facet_answer(texts, catalog, proc, facet, ctx.parse.text, asked_day(ctx))
    if answer is None:
        ctx.say(no_data_sentence(texts, catalog, proc, facet), buttons=buttons)
        _faq_hint(ctx, texts)
    else:
        ctx.say(answer)
    ctx.say(texts.message("details_below", name=title), card=card, buttons=buttons)


def _faq_hint(ctx: TurnContext, texts: EnglishTexts) -> None:
    """Where the catalog has no answer: the FAQ's, if one matches well (in Japanese, noted)."""
    faq = ctx.services.knowledge.get("faq")
    query = faq_query(texts, ctx.parse.text)
    hits = faq.search(query, top_k=1) if faq is not None and query else []
    if hits and hits[0].confidence >= FAQ_MIN_CONFIDENCE:
        ctx.say(texts.message("faq_note", name=_name(ctx)) + "\n" + hits[0].answer, custom={"faq_id": hits[0].id})


# ---------------------------------------------------------------- ごみ


def _waste(ctx: TurnContext, texts: EnglishTexts) -> None:
    guide = ctx.services.knowledge.get("waste")
    text = ctx.parse.text.lower()
    given = ctx.parse.entity("item") if ctx.parse.from_payload else None
    item = next(
        (en for en in sorted(texts.waste_items, key=len, reverse=True) if re.search(rf"\b{re.escape(en)}\b", text)),
        None,
    )
    if guide is not None and isinstance(given, str) and not given.startswith("-"):  # a "did you mean" button
        found = guide.lookup(given)
        if found is not None:
            _waste_answer(ctx, texts, given, found)
            return
    phrase = item_phrase(text) if not ctx.parse.from_payload else ""
    if item is not None and phrase != item and phrase.endswith(f" {item}"):
        item = None  # "button battery" is not "battery": offered as a choice, not answered as it
    if item is None and phrase and guide is not None:
        near = near_of(ctx, guide).items_en(phrase, texts.waste_items)
        if near:
            english: dict[str, str] = {}
            for en, ja in texts.waste_items.items():
                english.setdefault(ja, en)
            ctx.handled_by = "en:waste:did_you_mean"
            buttons = [
                Button(
                    f"{english.get(i.name, i.name)} ({texts.waste_category(i.category)})",
                    payload("waste_sorting", item=i.name),
                )
                for i in near
            ]
            ctx.say(
                texts.message("waste_did_you_mean", item=phrase),
                buttons=[*buttons, Button(texts.label("none_of_these"), payload("waste_sorting", item=f"-{phrase}"))],
            )
            return
    if isinstance(given, str) and given.startswith("-"):
        phrase = given[1:]
    if item is None and phrase:
        ctx.say(
            texts.message("waste_unknown", item=phrase, office=_waste_office(ctx, texts)), buttons=[staff_button(texts)]
        )
        return
    if item is None or guide is None:
        ctx.say(texts.message("waste_ask"), buttons=[staff_button(texts)])
        return
    found = guide.lookup(texts.waste_items[item])
    if found is None:
        ctx.say(
            texts.message("waste_unknown", item=item, office=_waste_office(ctx, texts)), buttons=[staff_button(texts)]
        )
        return
    _waste_answer(ctx, texts, item, found)


def _sorting_question(ctx: TurnContext) -> bool:
    """ "How do I throw away a power bank?" (read as 粗大ごみ): a sorting question, not a booking,
    unless it asks to book or names an item of the bulky waste list."""
    from handlers.bulky_english import match_english_items

    if ctx.parse.from_payload or BOOKING_WORDS.search(ctx.parse.text):
        return False
    found = match_english_items(ctx, ctx.parse.text)
    return not (found["items"] or found["ask"] or found["refused"])


def _waste_office(ctx: TurnContext, texts: EnglishTexts) -> str:
    catalog = _catalog(ctx)
    proc = catalog.get("waste_sorting") if catalog is not None else None
    if catalog is None or proc is None:
        return "the ward office"
    office = catalog.office_of(proc)
    return f"{office.name} ({texts.glossed(office.where)})"


def _waste_answer(ctx: TurnContext, texts: EnglishTexts, item: str, found: WasteAnswer) -> None:
    category = f"{texts.waste_category(found.category)} ({found.category})"
    lines = [found.note] if found.note else []
    ctx.say(
        texts.message("waste_answer", item=item, category=category),
        card=Card(title=found.item, lines=tuple(lines), kind="info") if lines else None,
    )


_ITEM_CUES = re.compile(
    r"^.*?\b(?:throw(?:ing)? away|throw out|get rid of|dispose of|discard|recycle|put out|sort|"
    r"separate|do with|goes? in|garbage is|trash is|rubbish is|bin for|category (?:is|for)|is|are)\b\s*",
)
_ITEM_FILLER = re.compile(r"\b(?:a|an|the|my|old|used|broken|empty|some|these|this|that|please|how|do|i)\b")
_ITEM_TAIL = re.compile(r"\b(?:in|into|as|for|on|at|to|which|what|garbage|trash|rubbish|waste|bin|day)\b.*$")


def item_phrase(text: str) -> str:
    """The thing an English ごみ question names: "How do I throw away a power bank?" -> "power bank"."""
    low = re.sub(r"[?!.,]", " ", text.lower())
    rest = _ITEM_CUES.sub("", low, count=1)
    rest = _ITEM_TAIL.sub("", rest)
    return " ".join(_ITEM_FILLER.sub(" ", rest).split())


# ---------------------------------------------------------------- FAQ and fallback


def faq_query(texts: EnglishTexts, text: str) -> str:
    """The Japanese words of `faq_terms` that this English text mentions, as one FAQ query."""
    terms: dict[str, str] = texts.messages.get("faq_terms") or {}
    low = text.lower()
    return " ".join(ja for en, ja in terms.items() if re.search(rf"\b{re.escape(en.lower())}", low))


def _faq_or_fallback(ctx: TurnContext, texts: EnglishTexts) -> None:
    faq = ctx.services.knowledge.get("faq")
    query = faq_query(texts, ctx.parse.text)
    hits = faq.search(query, top_k=1) if faq is not None and query else []
    if hits and hits[0].confidence >= FAQ_MIN_CONFIDENCE:
        hit = hits[0]
        ctx.state.fallback_streak = 0
        ctx.handled_by = "en:faq"
        ctx.say(
            texts.message("faq_note", name=_name(ctx)) + "\n" + hit.answer,
            card=Card(title=hit.question, lines=(), kind="faq"),
            buttons=(staff_button(texts),),
            custom={"faq_id": hit.id},
        )
        return
    ctx.state.fallback_streak += 1
    if ctx.state.fallback_streak >= STUCK_AFTER:
        ctx.state.fallback_streak = 0
        ctx.say(
            texts.message("stuck"),
            buttons=[staff_button(texts), Button(texts.label("menu"), payload("bot_capabilities"))],
        )
        return
    choices = did_you_mean(ctx)
    if choices:
        titles = [(i, (texts.procedure(i).name if texts.procedure(i) else t)) for i, t in choices]  # type: ignore[union-attr]
        buttons = [Button(title, payload(intent)) for intent, title in titles] + [staff_button(texts)]
        ctx.say(texts.message("did_you_mean"), buttons=buttons)
        return
    ctx.say(texts.message("fallback"), buttons=menu(texts))
