"""Informational answers: every procedure intent answered from the catalog, never from code."""

from __future__ import annotations

import copy

import pytest
import yaml

from handlers.registry import info_intents
from knowledge.catalog import PACKAGED_CATALOG, Catalog, Procedure

INFO_INTENTS = info_intents(Catalog.load(PACKAGED_CATALOG))  # the packaged procedures no form owns

# Intents whose handlers are built here (info, certificates, life events, ごみ分別); the
# reservation forms (粗大ごみ, 一時預かり, 施設予約, 介護の相談) are tested with their handlers.
OWN_INTENTS = sorted(
    INFO_INTENTS
    | {
        "juminhyo",
        "inkan",
        "tax_certificate",
        "moving_in",
        "moving_out",
        "moving_within",
        "birth",
        "death",
        "waste_sorting",
    }
)


@pytest.fixture
def catalog(services) -> Catalog:  # type: ignore[no-untyped-def]
    return services.knowledge["catalog"]


def fee_texts(proc: Procedure) -> list[str]:
    return ["無料" if fee.amount == 0 and fee.amount_max is None else f"{fee.amount:,}円" for fee in proc.fees]


@pytest.mark.parametrize("intent", OWN_INTENTS)
async def test_every_procedure_is_answered_from_the_catalog(bot, catalog: Catalog, intent: str) -> None:  # type: ignore[no-untyped-def]
    proc = catalog.procedure(intent)
    await bot.say(f"/{intent}")  # the button of a related procedure
    office = catalog.office_of(proc)
    assert office.name in bot.text and office.where in bot.text
    assert catalog.office_hours(proc) in bot.text
    assert all(fee in bot.text for fee in fee_texts(proc))
    if proc.deadline:
        assert proc.deadline in bot.text
    assert all(doc in bot.text for doc in proc.documents)
    details = [b for r in bot.last if r.card for b in r.card.buttons if b.title == "詳しく"]
    assert details and details[0].url == proc.url
    related_titles = [catalog.procedure(r).name for r in proc.related[:3]]
    assert all(title in bot.button_titles for title in related_titles)


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("児童手当の申請はいつまで？", "child_allowance"),
        ("国民健康保険に入りたい", "health_insurance"),
        ("マイナンバーカードをなくした", "mynumber_card"),
        ("避難所はどこ？", "disaster"),
    ],
)
async def test_free_text_questions(bot, catalog: Catalog, message: str, intent: str) -> None:  # type: ignore[no-untyped-def]
    await bot.say(message)
    proc = catalog.procedure(intent)
    assert proc.title in bot.text and catalog.office_of(proc).where in bot.text


async def test_related_button_opens_the_related_procedure(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say("/pension")
    first = catalog.procedure(catalog.procedure("pension").related[0])
    await bot.press(first.name)
    assert first.summary in bot.text


async def test_livelihood_support_is_worded_with_care(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    proc = catalog.procedure("livelihood_support")
    assert proc.free_consultation and proc.confidential
    await bot.say("生活が苦しくて相談したい")
    assert bot.last[0].text == proc.lead
    assert "相談は無料です" in bot.text and "秘密は守られます" in bot.text
    assert "職員と話す" in bot.button_titles
    assert not any(word in bot.text for word in ("自己責任", "対象外", "できません"))


async def test_livelihood_support_says_free_and_confidential_only_if_the_data_does(bot, services) -> None:  # type: ignore[no-untyped-def]
    raw = yaml.safe_load(PACKAGED_CATALOG.read_text(encoding="utf-8"))
    changed = copy.deepcopy(raw)
    changed["procedures"]["livelihood_support"].update(free_consultation=False, confidential=False)
    services.knowledge["catalog"] = Catalog.from_dict(changed)
    await bot.say("/livelihood_support")
    assert "相談は無料です" not in bot.text and "秘密" not in bot.text
    assert "職員と話す" not in bot.button_titles


async def test_a_changed_fee_in_the_data_changes_the_answer(bot, services) -> None:  # type: ignore[no-untyped-def]
    raw = yaml.safe_load(PACKAGED_CATALOG.read_text(encoding="utf-8"))
    changed = copy.deepcopy(raw)
    changed["procedures"]["koseki"]["fees"][0]["amount"] = 470
    services.knowledge["catalog"] = Catalog.from_dict(changed)
    await bot.say("/koseki")
    assert "1通470円" in bot.text and "1通450円" not in bot.text


async def test_an_information_only_procedure_needs_data_alone(bot, services, settings) -> None:  # type: ignore[no-untyped-def]
    """A procedure added only to $DATA_DIR/knowledge/procedures.yml is answered by the info
    handler: no list in code names it (the NLU needs its training examples; a button does not)."""
    from handlers.registry import all_handlers
    from knowledge.loader import load_knowledge
    from tests.handlers.conftest import BICYCLE, write_local_catalog

    path = write_local_catalog(settings.data_dir, bicycle_parking=BICYCLE)
    load_knowledge(services)
    catalog: Catalog = services.knowledge["catalog"]
    assert catalog.source == str(path) and catalog.is_procedure_intent("bicycle_parking")
    assert not any("bicycle_parking" in h.intents for h in all_handlers())
    assert "bicycle_parking" in info_intents(catalog)
    await bot.say("/bicycle_parking")
    proc = catalog.procedure("bicycle_parking")
    assert bot.last[0].text == f"{proc.title}のご案内です。"
    assert catalog.office_of(proc).where in bot.text and "2,000円" in bot.text and proc.deadline in bot.text
    details = [b for r in bot.last if r.card for b in r.card.buttons if b.title == "詳しく"]
    assert details and details[0].url == proc.url
    assert catalog.procedure("bulky_waste").name in bot.button_titles


async def test_a_form_owned_procedure_keeps_its_form_and_unknown_intents_the_fallback(bot) -> None:  # type: ignore[no-untyped-def]
    """The info handler answers only what no form owns: 住民票 is the certificate form's, and an
    intent the catalog does not list (or a checklist sub-procedure) still gets the fallback."""
    await bot.say("住民票を2通ほしい")
    assert "教えてください" in bot.text  # the form asks its questions
    await bot.say("/cancel")
    for unknown in ("/no_such_procedure", "/dog_registration"):
        await bot.say(unknown)
        assert "ご質問の内容がわかりませんでした" in bot.text
