"""Answers in English (CONTRACTS §9), from the same data as the Japanese answers.

The English model names the same intents as the Japanese one; this module answers them with the
English message catalog and the procedure overlay (`knowledge/english.py`), reading fees, offices
and hours from the catalog's own fields (so a fee changed in procedures.yml changes here too).
Bookings are in Japanese for now: an English booking request gets the procedure in English, the
office to call and a person. The FAQ is in Japanese: English words of `faq_terms` become the
Japanese query, and the Japanese answer is shown under an English note.
"""

from __future__ import annotations

import re

from bot.engine.events import Button, Card
from bot.engine.turn import TurnContext, payload
from handlers.variants import did_you_mean
from knowledge.catalog import Catalog, Procedure
from knowledge.english import EnglishTexts

STUCK_AFTER = 3
FAQ_MIN_CONFIDENCE = 0.6


def _name(ctx: TurnContext) -> str:
    return ctx.services.settings.municipality_name


def menu(texts: EnglishTexts) -> list[Button]:
    return [Button(title, payload(intent)) for title, intent in texts.menu()]


def staff_button(texts: EnglishTexts) -> Button:
    return Button(texts.label("staff"), payload("request_human"))


async def answer_in_english(ctx: TurnContext, texts: EnglishTexts) -> None:
    """Answer this turn in English, whatever its intent."""
    intent = ctx.parse.intent
    simple = {"greet": "greet", "follow": "greet", "bot_capabilities": "capabilities", "out_of_scope": "out_of_scope"}
    quiet = {"thanks": "thanks", "goodbye": "goodbye", "affirm": "ok", "deny": "ok"}
    ctx.handled_by = f"en:{intent}"
    if intent in simple:
        ctx.say(texts.message(simple[intent], name=_name(ctx)), buttons=menu(texts))
    elif intent in quiet:
        ctx.say(texts.message(quiet[intent]))
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
    elif intent == "waste_sorting":
        _waste(ctx, texts)
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


# ---------------------------------------------------------------- procedures


def fee_text(texts: EnglishTexts, proc: Procedure) -> str | None:
    if not proc.fees:
        return None
    if all(f.amount == 0 for f in proc.fees):
        return texts.label("free")
    parts = []
    for fee in proc.fees:
        amount = texts.label("yen", amount=fee.amount)
        if fee.amount_max is not None:
            amount += " - " + texts.label("yen", amount=fee.amount_max)
        if fee.per_copy:
            amount = texts.label("per_copy", amount=fee.amount)
        parts.append(amount if len(proc.fees) == 1 else f"{amount} ({fee.label})")
    return ", ".join(parts)


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


def _procedure(ctx: TurnContext, texts: EnglishTexts, intent: str) -> None:
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
    lead = f"About {title}:"
    if intent in set(texts.messages.get("booking_intents") or ()):
        lead = f"{lead} {texts.message('booking_in_japanese')}"
    ctx.say(lead, card=card, buttons=buttons)


# ---------------------------------------------------------------- ごみ


def _waste(ctx: TurnContext, texts: EnglishTexts) -> None:
    guide = ctx.services.knowledge.get("waste")
    text = ctx.parse.text.lower()
    item = next(
        (en for en in sorted(texts.waste_items, key=len, reverse=True) if re.search(rf"\b{re.escape(en)}\b", text)),
        None,
    )
    if item is None or guide is None:
        ctx.say(texts.message("waste_ask"), buttons=[staff_button(texts)])
        return
    found = guide.lookup(texts.waste_items[item])
    if found is None:
        ctx.say(texts.message("waste_unknown", item=item), buttons=[staff_button(texts)])
        return
    category = f"{texts.waste_category(found.category)} ({found.category})"
    lines = [found.note] if found.note else []
    ctx.say(
        texts.message("waste_answer", item=item, category=category),
        card=Card(title=found.item, lines=tuple(lines), kind="info") if lines else None,
    )


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
