"""English facet-first answers: the facet asked, in one or two plain sentences, then the card.

The same rule as the Japanese `handlers/facet_answers.py`: fees, hours, places, months and days
are read from the catalog's fields (and the weekly structure of office_hours.yml); the English
overlay (`procedures_en.yml`) gives only words. A fact the overlay has no English for is said in
the catalog's Japanese under a short note. Where the data has no answer, None: the caller says so
and offers the FAQ, the section and a person. Which facet was asked: `nlu.facets.detect_facet`
(English cues in nlu/cues/facets.yml).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from handlers.dated_hours import day_sentence, general_day_answer
from handlers.hours_answers import DAY_EN, hours_sentences
from knowledge.catalog import Catalog, Channel, Procedure
from knowledge.english import EnglishTexts
from nlu.facets import hours_details

MONTHS: tuple[str, ...] = ("", "January", "February", "March", "April", "May", "June", "July", "August")
MONTHS += ("September", "October", "November", "December")


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


def _name(texts: EnglishTexts, proc: Procedure) -> str:
    en = texts.procedure(proc.id)
    return en.name if en else proc.title


def _japanese(texts: EnglishTexts, text: str) -> str:
    """A fact the overlay has no English for: the catalog's own words, glossed, noted."""
    return f"{texts.message('japanese_only_note')} {texts.glossed(text)}"


def _office(texts: EnglishTexts, catalog: Catalog, proc: Procedure) -> str:
    office = catalog.office_of(proc)
    return f"{office.name} ({texts.glossed(office.where)})"


def _fee(texts: EnglishTexts, catalog: Catalog, proc: Procedure, _text: str) -> str | None:
    fee = fee_text(texts, proc)
    if fee is None:
        return None
    out = [f"{_name(texts, proc)}: {fee}."]
    if proc.convenience is not None and proc.convenience.fee is not None:
        out.append(f"At a convenience store: {texts.label('per_copy', amount=proc.convenience.fee)}.")
    return " ".join(out)


def _hours(texts: EnglishTexts, catalog: Catalog, proc: Procedure, text: str) -> str:
    office = catalog.office_of(proc)
    structured = hours_sentences(catalog.opening(office.hours), hours_details(text), "en")
    if structured is not None:
        out = [f"{office.name} ({texts.glossed(office.where)}): {structured}"]
    else:
        out = [f"{office.name} is open {texts.glossed(catalog.office_hours(proc))}."]
    conv = proc.convenience
    if conv is not None and conv.hours is not None:
        out.append(f"Convenience stores: {texts.glossed(catalog.hours_label(conv.hours))}.")
    return " ".join(out)


def _place(texts: EnglishTexts, catalog: Catalog, proc: Procedure, _text: str) -> str:
    return f"At {_office(texts, catalog, proc)}."


def _documents(texts: EnglishTexts, _catalog: Catalog, proc: Procedure, _text: str) -> str | None:
    en = texts.procedure(proc.id)
    if en and en.documents:
        return "Please bring: " + "; ".join(en.documents) + "."
    return _japanese(texts, "／".join(proc.documents)) if proc.documents else None


def _who(texts: EnglishTexts, _catalog: Catalog, proc: Procedure, _text: str) -> str | None:
    en = texts.procedure(proc.id)
    if en and en.who:
        return f"Who: {en.who}"
    return _japanese(texts, proc.who) if proc.who else None


def _proxy(texts: EnglishTexts, _catalog: Catalog, proc: Procedure, _text: str) -> str | None:
    en = texts.procedure(proc.id)
    if en and en.proxy:
        return en.proxy
    rules = proc.certificate
    if rules is not None and "proxy" in rules.requesters:
        return _japanese(texts, "、".join(rules.requesters["proxy"].documents))
    who = en.who if en and en.who else ""
    if any(w in who.lower() for w in ("proxy", "authoris", "authoriz", "family", "household")):
        return f"Who can do it: {who}"
    return None


def _channel(texts: EnglishTexts, catalog: Catalog, proc: Procedure, key: str) -> str | None:
    channel: Channel | None = getattr(proc, key)
    if channel is None:
        return None
    en = texts.procedure(proc.id)
    said = getattr(en, key, "") if en else ""
    out = [said or _japanese(texts, channel.text)]
    if channel.fee is not None:
        out.append(f"Fee: {texts.label('per_copy', amount=channel.fee)}.")
    if channel.hours is not None:
        out.append(f"Hours: {texts.glossed(catalog.hours_label(channel.hours))}.")
    return " ".join(out)


def _deadline(texts: EnglishTexts, _catalog: Catalog, proc: Procedure, _text: str) -> str | None:
    en = texts.procedure(proc.id)
    if en and en.deadline:
        return en.deadline
    return _japanese(texts, proc.deadline) if proc.deadline else None


def _lost(texts: EnglishTexts, catalog: Catalog, proc: Procedure, _text: str) -> str | None:
    en = texts.procedure(proc.id)
    reissue = proc.reissue
    if reissue is None:
        return None
    out = [en.reissue if en and en.reissue else _japanese(texts, reissue.text)]
    if reissue.fee is not None:
        out.append(f"Reissue fee: {texts.label('yen', amount=reissue.fee)}.")
    return " ".join(out)


def _payment(texts: EnglishTexts, _catalog: Catalog, proc: Procedure, _text: str) -> str | None:
    payment = proc.payment
    if payment is None:
        return None
    months = [MONTHS[m] for m in payment.months]
    listed = ", ".join(months[:-1]) + " and " + months[-1] if len(months) > 1 else months[0]
    return f"{_name(texts, proc)} is paid in {listed}, on {_day_of_month(texts, payment.day)}."


def _day_of_month(texts: EnglishTexts, day: str) -> str:
    """ "15日" -> "the 15th"; "末日" -> "the last day"; other words glossed."""
    match = re.fullmatch(r"(\d{1,2})日", day)
    if match is None:
        return "the last day" if day == "末日" else texts.glossed(day)
    n = int(match[1])
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"the {n}{suffix}"


ANSWERS: dict[str, Callable[[EnglishTexts, Catalog, Procedure, str], str | None]] = {
    "fee": _fee,
    "hours": _hours,
    "place": _place,
    "documents": _documents,
    "who": _who,
    "eligibility": _who,
    "proxy": _proxy,
    "online": lambda t, c, p, _x: _channel(t, c, p, "online"),
    "mail": lambda t, c, p, _x: _channel(t, c, p, "mail"),
    "convenience": lambda t, c, p, _x: _channel(t, c, p, "convenience"),
    "deadline": _deadline,
    "lost": _lost,
    "payment": _payment,
}


def english_facet_answer(
    texts: EnglishTexts, catalog: Catalog, proc: Procedure, facet: str, text: str, day: date | None = None
) -> str | None:
    office = catalog.office_of(proc)
    opening = catalog.opening(office.hours) if facet == "hours" and day is not None else None
    if opening is not None and day is not None:
        return f"{office.name} ({texts.glossed(office.where)}): {day_sentence(opening, day, 'en')}"
    answer = ANSWERS.get(facet)
    return answer(texts, catalog, proc, text) if answer is not None else None


def no_data_sentence(texts: EnglishTexts, catalog: Catalog, proc: Procedure, facet: str) -> str:
    labels: dict[str, str] = texts.messages.get("facet_labels") or {}
    return texts.message(
        "facet_no_data",
        what=labels.get(facet, "this"),
        name=_name(texts, proc),
        section=texts.glossed(catalog.department_of(proc).name),
    )


def general_hours(texts: EnglishTexts, catalog: Catalog, text: str, day: date | None = None) -> str | None:
    """ "Is the office open on Saturday?" with no procedure named: which counters are open on the
    days asked, from each office's weekly structure (offices with unstructured hours are left out);
    "… on December 31?" for that date."""
    if day is not None:
        return general_day_answer(catalog, day, "en", texts.glossed)
    days = [d for d in hours_details(text) if d in DAY_EN]
    if not days:
        return None
    out = []
    for weekday in days:
        open_offices = [
            (o, opening)
            for o in catalog.offices.values()
            if (opening := catalog.opening(o.hours)) is not None and not opening.day_rule(weekday).closed
        ]
        if not open_offices:
            out.append(f"The ward's counters are closed on {DAY_EN[weekday]}s.")
            continue
        by_rule: dict[str, list[str]] = {}
        for office, opening in open_offices:
            rule = hours_sentences(opening, (weekday,), "en") or ""
            by_rule.setdefault(rule, []).append(f"{office.name} ({texts.glossed(office.where)})")
        for rule, names in by_rule.items():
            out.append(f"{'; '.join(names)}: {rule}")
        out.append(f"Other counters are closed on {DAY_EN[weekday]}s.")
    return " ".join(out)
