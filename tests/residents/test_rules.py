"""The rule engine in memory: conditions over the household, reasons, and the rules file checks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from knowledge.residents import age_on
from knowledge.suggestions import Profile, RuleBook, RuleError

TODAY = date(2026, 11, 27)
BOOK = RuleBook.load()


def household(*members: tuple[str, str, str, str | None, str | None]) -> Profile:
    rows = [
        (rid, date.fromisoformat(b), rel, care, date.fromisoformat(d) if d else None)
        for rid, b, rel, care, d in members
    ]
    return Profile.from_rows("me", rows, TODAY)


def first(intent: str, profile: Profile | None, text: str = "") -> tuple[str, str] | None:
    match = BOOK.evaluate(BOOK.candidates(intent), intent, text, profile)
    return (match.rule.id, match.reason) if match else None


ME = ("me", "1990-01-01", "head", None, None)


def test_age_counts_full_years() -> None:
    assert age_on(date(1951, 11, 28), TODAY) == 74 and age_on(date(1951, 11, 27), TODAY) == 75
    assert age_on(date(2024, 2, 29), date(2025, 2, 28)) == 0


def test_double_care_65_with_care_level_or_75() -> None:
    with_care = household(ME, ("m", "1958-01-01", "mother", "要介護1", None))
    assert first("nursery_admission", with_care) == (
        "double_care",
        "ご家族に要支援・要介護の認定を受けている方がいらっしゃるため",
    )
    assert first("nursery_admission", household(ME, ("m", "1958-01-01", "mother", None, None))) is None  # 68, none
    aged_75 = first("nursery_admission", household(ME, ("m", "1951-11-27", "father", None, None)))
    assert aged_75 is not None and aged_75[1].startswith("ご家族に75歳")
    assert first("nursery_admission", household(ME, ("m", "1951-11-28", "father", None, None))) is None  # 74


def test_the_resident_themself_does_not_count_as_family() -> None:
    old_me = Profile.from_rows("me", [("me", date(1940, 1, 1), "head", "要介護1", None)], TODAY)
    assert first("childcare_temporary", old_me) is None


def test_a_member_who_died_counts_only_for_bereavement_and_only_for_a_year() -> None:
    recent = household(ME, ("d", "1940-01-01", "father", "要介護3", "2026-10-30"))
    assert first("childcare_temporary", recent) is None  # the deceased father is not a care need
    assert first("pension", recent) == ("bereavement", "ご家族がお亡くなりになったと届け出をいただいているため")
    assert first("pension", household(ME, ("d", "1940-01-01", "father", None, "2025-10-01"))) is None


def test_suggested_services_leave_out_the_current_intent() -> None:
    recent = household(ME, ("d", "1940-01-01", "spouse", None, "2026-11-01"))
    match = BOOK.evaluate(BOOK.candidates("death"), "death", "", recent)
    assert match is not None and [s.intent for s in match.services] == ["health_insurance", "pension"]


def test_rules_reading_the_profile_never_hold_without_one() -> None:
    for intent in ("childcare_temporary", "moving_in", "birth", "death", "care_certification"):
        assert first(intent, None) is None
    assert first("health_insurance", None, "保険料が払えない") == (
        "money_worries",
        "お支払いについてのご質問だったため",
    )


def test_skip_leaves_out_rules_already_offered() -> None:
    assert BOOK.candidates("nursery_admission", skip=["double_care"]) == [
        r for r in BOOK.candidates("nursery_admission") if r.id != "double_care"
    ]


RULE = "rules:\n- {{id: a, intents: [x], text: t, when_any: [{when}], suggest: [{{intent: x, title: y}}]}}"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("rules: []", "non-empty"),
        (
            RULE.format(when="{reason: r, members: [{age: 3}]}"),
            "unknown condition",
        ),
        (
            RULE.format(when="{reason: r, text_any: [w]}"),
            "profile: false",
        ),
        (
            RULE.format(when="{reason: r, members: [{relations: [wife]}]}"),
            "unknown relation",
        ),
    ],
)
def test_rules_file_errors_name_the_rule(tmp_path: Path, body: str, error: str) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(RuleError, match=error):
        RuleBook.load(path)


def test_every_suggested_intent_is_in_the_contract_inventory() -> None:
    from knowledge.catalog import CONTRACT_INTENTS

    RuleBook.load(known_intents=frozenset(CONTRACT_INTENTS))
