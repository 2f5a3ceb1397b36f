"""The demo FAQ must not contradict the procedure catalog (the source of truth).

The bot shows FAQ answers word for word, so an FAQ that names a section the catalog does not
have, puts a counter on the wrong floor, or gives an hour, fee or booking window the catalog
does not know tells residents something false. The checks read everything from
knowledge/data/procedures.yml through `knowledge.catalog`; none of them lists a name or number.
"""

from __future__ import annotations

import re
from functools import cache

import pytest

from knowledge.catalog import PACKAGED_CATALOG, Catalog
from knowledge.faq import FaqEntry, parse_faq_file
from knowledge.loader import DEMO_FAQ
from knowledge.office_hours import PACKAGED as OFFICE_HOURS

SECTION_SUFFIXES = ("課", "係", "センター")  # words that name a section or an office
SEPARATORS = re.compile(r"[のはでをにがとや、。，（）()「」・:：\s\d０-９]+")
PLACE = re.compile(r"区役所[^\d、。（）\s]*?(\d+階)")
TIME = re.compile(r"(午前|午後)?(\d{1,2})時(?:(\d{1,2})分|(半))?")
YEN = re.compile(r"(\d[\d,]*)円")
WINDOW = re.compile(r"\d+(?:日|か月)(?:以内|前)")


@cache
def catalog() -> Catalog:
    return Catalog.load(PACKAGED_CATALOG)


@cache
def catalog_text() -> str:
    """The catalog and the weekly hours it names (office_hours.yml, the one source of hours)."""
    return PACKAGED_CATALOG.read_text(encoding="utf-8") + OFFICE_HOURS.read_text(encoding="utf-8")


def faq_entries() -> list[FaqEntry]:
    return parse_faq_file(DEMO_FAQ)


@cache
def places_by_name() -> dict[str, set[str]]:
    """Each name residents may read (an office, its section, the section's first word) -> the
    "building + floor" places where that name has a counter."""
    cat = catalog()
    places: dict[str, set[str]] = {}
    for office in cat.offices.values():
        department = cat.data.departments[office.department].name
        for name in {office.name, department, office.name.split()[0], department.split()[0]}:
            places.setdefault(name, set()).add(office.building + office.floor)
    for department in cat.data.departments.values():  # sections with no counter of their own
        places.setdefault(department.name, set())
    return places


def section_words(text: str) -> set[str]:
    """Words of `text` that name a section: "…課", "…係", "…センター" (up to the suffix)."""
    words = set()
    for token in SEPARATORS.split(text):
        for suffix in SECTION_SUFFIXES:
            end = token.find(suffix)
            if end > 0:
                words.add(token[: end + len(suffix)])
    return words


def clock(match: re.Match[str]) -> str:
    half, hour, minute, half_word = match.groups()
    h = int(hour) + (12 if half == "午後" and int(hour) < 12 else 0)
    m = 30 if half_word else int(minute or 0)
    return f"{h}:{m:02d}"


@cache
def catalog_times() -> set[str]:
    text = catalog_text()
    times = {f"{int(h)}:{m}" for h, m in re.findall(r"(\d{1,2}):(\d{2})", text)}
    return times | {clock(m) for m in TIME.finditer(text)}


@cache
def catalog_amounts() -> set[int]:
    amounts = {int(a.replace(",", "")) for a in YEN.findall(catalog_text())}
    for proc in catalog().procedures.values():
        for fee in proc.fees:
            amounts |= {fee.amount} | ({fee.amount_max} if fee.amount_max is not None else set())
        for channel in (proc.online, proc.mail, proc.convenience):
            if channel is not None and channel.fee is not None:
                amounts.add(channel.fee)
    return amounts


def ids(entries: list[FaqEntry]) -> list[str]:
    return [e.id for e in entries]


ENTRIES = faq_entries()


def test_the_demo_faq_still_says_it_is_fictional() -> None:
    note = DEMO_FAQ.read_text(encoding="utf-8").splitlines()[1]
    assert "架空" in note
    assert catalog().municipality.fictional


@pytest.mark.parametrize("entry", ENTRIES, ids=ids(ENTRIES))
def test_sections_named_in_answers_exist_in_the_catalog(entry: FaqEntry) -> None:
    known = places_by_name()
    unknown = [w for w in section_words(entry.answer) if not any(w in name for name in known)]
    assert not unknown, f"{entry.id}: not a section or office of procedures.yml: {unknown}"


@pytest.mark.parametrize("entry", ENTRIES, ids=ids(ENTRIES))
def test_floors_match_the_offices_named_with_them(entry: FaqEntry) -> None:
    known = places_by_name()
    all_places = set().union(*known.values())
    for sentence in filter(None, entry.answer.split("。")):
        for match in PLACE.finditer(sentence):
            place = match.group(0)
            assert place in all_places, f"{entry.id}: {place!r} is no building and floor of the catalog"
            named = [n for n in known if n in sentence]
            assert named, f"{entry.id}: {place!r} with no office named in {sentence!r}"
            assert any(place in known[n] for n in named), (
                f"{entry.id}: {place!r}, but the catalog puts {named} at {sorted(set().union(*(known[n] for n in named)))}"
            )


@pytest.mark.parametrize("entry", ENTRIES, ids=ids(ENTRIES))
def test_hours_fees_and_windows_are_the_catalogs(entry: FaqEntry) -> None:
    text = entry.answer
    times = {clock(m) for m in TIME.finditer(text)} - catalog_times()
    assert not times, f"{entry.id}: times not in the catalog: {times}"
    amounts = {int(a.replace(",", "")) for a in YEN.findall(text)} - catalog_amounts()
    assert not amounts, f"{entry.id}: fees not in the catalog: {amounts}"
    windows = {w for w in WINDOW.findall(text) if w not in catalog_text()}
    assert not windows, f"{entry.id}: deadlines / booking windows not in the catalog: {windows}"


def test_no_answer_says_the_offices_are_closed_on_saturdays_when_some_open() -> None:
    saturday = [catalog().hours_label(k) for k in catalog().data.hours if "土曜" in catalog().hours_label(k)]
    if not saturday:
        pytest.skip("no office of this catalog opens on Saturdays")
    wrong = [e.id for e in ENTRIES if re.search(r"土日[^。]*(閉庁|休み)", e.answer)]
    assert not wrong, f"answers that close every office on Saturdays although {saturday[0]!r}: {wrong}"


def test_the_checks_catch_the_old_drift() -> None:
    """The contradictions QA found (H2) must fail these checks."""
    known = places_by_name()
    assert [w for w in section_words("区役所1階の市民課窓口で") if not any(w in n for n in known)] == ["市民課"]
    assert "こども家庭課" in section_words("区役所4階のこども家庭課で申請")
    assert not any("こども家庭課" in n for n in known)
    assert "区役所本庁舎2階" not in known["マイナンバーカード窓口"]
    assert "区役所本庁舎3階" not in known["税務課"]
    assert "3か月前" not in catalog_text()
    assert clock(next(TIME.finditer("午後5時15分"))) in catalog_times()
    wrong_floor = FaqEntry("x", "q", "区役所本庁舎2階のマイナンバーカード窓口で申請できます。")
    with pytest.raises(AssertionError, match="the catalog puts"):
        test_floors_match_the_offices_named_with_them(wrong_floor)
    with pytest.raises(AssertionError, match="fees not in the catalog"):
        test_hours_fees_and_windows_are_the_catalogs(FaqEntry("x", "q", "手数料は1通350円です。"))
