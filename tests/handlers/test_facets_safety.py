"""Facet-first answers and safety routing (issue 15 items 1 and 3): behaviour, from the catalog."""

from __future__ import annotations

import pytest

from knowledge.catalog import Catalog
from nlu.facets import FACETS, detect_facet, facet_cues
from nlu.safety import safety_intent


@pytest.fixture
def catalog(services) -> Catalog:  # type: ignore[no-untyped-def]
    return services.knowledge["catalog"]


def test_facet_cues_are_data_and_known() -> None:
    assert {name for name, _ in facet_cues()} <= set(FACETS)
    assert detect_facet("住民票がほしい") is None


@pytest.mark.parametrize(
    ("text", "facet"),
    [
        ("戸籍謄本はコンビニで取れますか", "convenience"),
        ("児童手当はいつ振り込まれますか", "payment"),
        ("マイナカードを落とした", "lost"),
        ("転入届の期限は", "deadline"),
        ("印鑑登録は何歳から", "eligibility"),
    ],
)
def test_facets_are_recognised(text: str, facet: str) -> None:
    assert detect_facet(text) == facet


async def test_the_facet_is_answered_first_and_the_card_follows(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    proc = catalog.procedure("koseki")
    await bot.say("戸籍謄本ってコンビニで取れますか")
    first = bot.last[0]
    assert f"{proc.convenience.fee}円" in first.text and first.card is None
    assert any(r.card is not None and r.card.title == proc.title for r in bot.last[1:])


async def test_payment_months_come_from_the_catalog(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    payment = catalog.procedure("child_allowance").payment
    assert payment is not None
    await bot.say("児童手当はいつ振り込まれますか")
    assert all(f"{m}月" in bot.last[0].text for m in payment.months)


async def test_no_data_is_said_plainly_with_a_person_offered(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    assert catalog.procedure("moving_in").online is None
    await bot.say("転入届はオンラインでできますか")
    first = bot.last[0]
    assert "載っていません" in first.text and "円" not in first.text
    assert any(b.payload == "/request_human" for b in first.buttons)


def test_safety_routing_rules() -> None:
    assert safety_intent("仕事をなくして家賃が払えません", "dv_abuse") == "livelihood_support"
    assert safety_intent("夫に殴られて家賃も払えない", "dv_abuse") is None
    assert safety_intent("お金のことで殴られる", "livelihood_support") == "dv_abuse"


async def test_money_trouble_is_not_sent_to_the_dv_line(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say("仕事をなくして家賃が払えません。助けてください")
    assert "110" not in bot.text and "#8008" not in bot.text  # no DV hotline text
    assert catalog.office_of(catalog.procedure("livelihood_support")).name in bot.text


async def test_violence_with_money_trouble_stays_dv(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("お金のことで夫に殴られています")
    assert "110" in bot.text  # the police number, from the hotline data
