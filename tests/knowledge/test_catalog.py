"""The procedure catalog: the packaged デモ区 data is complete, and mistakes are named precisely."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from knowledge.catalog import CONTRACT_INTENTS, PACKAGED_CATALOG, Catalog, CatalogError, load_catalog
from knowledge.office_hours import PACKAGED as OFFICE_HOURS

DEADLINES = {  # the deadlines the issue names, as the data must say them
    "moving_in": "14日以内",
    "birth": "14日以内",
    "death": "7日以内",
    "child_allowance": "15日以内",
}


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load(PACKAGED_CATALOG.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


def broken(raw: dict[str, Any], change) -> str:  # type: ignore[no-untyped-def]
    data = copy.deepcopy(raw)
    change(data)
    with pytest.raises(CatalogError) as info:
        Catalog.from_dict(data, source="procedures.yml")
    return str(info.value)


# ---------------------------------------------------------------- the packaged demo data


def test_demo_catalog_is_marked_fictional(catalog: Catalog) -> None:
    assert catalog.municipality.name == "デモ区"
    assert catalog.municipality.fictional is True
    assert "架空" in catalog.municipality.notice
    assert "FICTIONAL" in PACKAGED_CATALOG.read_text(encoding="utf-8").splitlines()[2]


@pytest.mark.parametrize("intent", CONTRACT_INTENTS)
def test_every_procedure_intent_is_complete(catalog: Catalog, intent: str) -> None:
    proc = catalog.procedure(intent)
    assert proc.intent and proc.title and proc.summary and proc.who and proc.documents
    assert proc.url.startswith("https://www.city.demo.example/")
    office = catalog.office_of(proc)
    assert office.floor and office.building and catalog.office_hours(proc)
    assert catalog.department_of(proc).name
    assert all(r.intent for r in catalog.related(proc))


@pytest.mark.parametrize(("intent", "deadline"), DEADLINES.items())
def test_deadlines_named_by_the_issue(catalog: Catalog, intent: str, deadline: str) -> None:
    assert deadline in catalog.procedure(intent).deadline


def test_office_hours_are_defined_once_and_referenced(raw: dict[str, Any], catalog: Catalog) -> None:
    labels = [catalog.hours_label(key) for key in raw["hours"]]
    assert len(labels) == len(set(labels))
    assert all(office["hours"] in raw["hours"] for office in raw["offices"].values())
    text = PACKAGED_CATALOG.read_text(encoding="utf-8") + OFFICE_HOURS.read_text(encoding="utf-8")
    assert all(text.count(h["label"]) == 1 for h in raw["hours"].values() if "label" in h)
    # Weekly hours are written once, in office_hours.yml: the catalog names a schedule there
    assert "08:30" not in PACKAGED_CATALOG.read_text(encoding="utf-8")
    assert sum(1 for h in raw["hours"].values() if "schedule" in h) >= 4


def test_hours_name_a_schedule_that_exists(raw: dict[str, Any]) -> None:
    raw = copy.deepcopy(raw)
    raw["hours"]["honcho"] = {"schedule": "no_such_schedule"}
    with pytest.raises(CatalogError, match=r"hours\.honcho\.schedule"):
        Catalog.from_dict(raw)
    raw["hours"]["honcho"] = {}
    with pytest.raises(CatalogError, match=r"hours\.honcho: needs a label"):
        Catalog.from_dict(raw)


def test_certificates_have_one_per_copy_fee(catalog: Catalog) -> None:
    for intent in ("juminhyo", "inkan", "tax_certificate"):
        proc = catalog.procedure(intent)
        assert proc.certificate is not None and proc.copy_fee is not None
        assert proc.certificate.max_copies == 10


def test_life_events_reference_known_procedures(catalog: Catalog) -> None:
    assert set(catalog.life_events) == {"moving_in", "moving_out", "moving_within", "birth", "death"}
    for event in catalog.life_events.values():
        assert all(step.procedure in catalog.procedures for step in event.steps)


def test_fee_text_for_free_single_and_range(catalog: Catalog) -> None:
    assert catalog.procedure("juminhyo").fees[0].text == "住民票の写し 1通300円"
    assert catalog.procedure("moving_in").fees[0].text == "転入届 無料"
    assert "200円〜2,000円" in catalog.procedure("bulky_waste").fees[0].text


def test_load_catalog_prefers_the_municipalitys_file(tmp_path: Path, raw: dict[str, Any]) -> None:
    assert load_catalog(tmp_path).source == str(PACKAGED_CATALOG)
    own = copy.deepcopy(raw)
    own["municipality"] = {"name": "テスト市", "fictional": True}
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "procedures.yml").write_text(yaml.safe_dump(own, allow_unicode=True), encoding="utf-8")
    assert load_catalog(tmp_path).municipality.name == "テスト市"


# ---------------------------------------------------------------- validation errors


def test_missing_field_names_procedure_and_field(raw: dict[str, Any]) -> None:
    message = broken(raw, lambda d: d["procedures"]["koseki"].pop("who"))
    assert "procedures.koseki.who" in message and "Field required" in message


def test_bad_fee_amount_names_the_fee(raw: dict[str, Any]) -> None:
    message = broken(raw, lambda d: d["procedures"]["juminhyo"]["fees"][0].update(amount="三百円"))
    assert "procedures.juminhyo.fees[0].amount" in message


def test_negative_fee_is_refused(raw: dict[str, Any]) -> None:
    message = broken(raw, lambda d: d["procedures"]["inkan"]["fees"][0].update(amount=-300))
    assert "procedures.inkan.fees[0].amount" in message


def test_unknown_field_is_refused(raw: dict[str, Any]) -> None:
    message = broken(raw, lambda d: d["procedures"]["pension"].update(feez=[]))
    assert "procedures.pension.feez" in message


def test_unknown_office_names_the_procedure(raw: dict[str, Any]) -> None:
    message = broken(raw, lambda d: d["procedures"]["birth"].update(office="nowhere"))
    assert "procedures.birth.office: unknown office 'nowhere'" in message


def test_unknown_hours_on_an_office(raw: dict[str, Any]) -> None:
    message = broken(raw, lambda d: d["offices"]["kumin_madoguchi"].update(hours="always"))
    assert "offices.kumin_madoguchi.hours: unknown hours 'always'" in message


def test_related_must_be_a_procedure_intent(raw: dict[str, Any]) -> None:
    message = broken(raw, lambda d: d["procedures"]["death"].update(related=["school_transfer", "typo"]))
    assert "procedures.death.related: 'school_transfer'" in message
    assert "procedures.death.related: 'typo'" in message


def test_every_contract_intent_needs_an_entry(raw: dict[str, Any]) -> None:
    message = broken(raw, lambda d: d["procedures"].pop("disaster"))
    assert "missing entries for intents disaster" in message


def test_url_must_be_https(raw: dict[str, Any]) -> None:
    message = broken(raw, lambda d: d["procedures"]["disaster"].update(url="http://example.com"))
    assert "procedures.disaster.url" in message


def test_certificate_needs_one_per_copy_fee(raw: dict[str, Any]) -> None:
    message = broken(raw, lambda d: d["procedures"]["juminhyo"]["fees"][0].update(per_copy=False))
    assert "procedures.juminhyo.fees: a certificate needs exactly one fee with per_copy" in message


def test_certificate_requesters_must_be_complete(raw: dict[str, Any]) -> None:
    message = broken(raw, lambda d: d["procedures"]["tax_certificate"]["certificate"]["requesters"].pop("proxy"))
    assert "procedures.tax_certificate.certificate.requesters: missing proxy" in message


def test_fee_range_must_grow(raw: dict[str, Any]) -> None:
    message = broken(raw, lambda d: d["procedures"]["bulky_waste"]["fees"][0].update(amount_max=100))
    assert "procedures.bulky_waste.fees[0].amount_max" in message


def test_life_event_condition_must_be_a_known_answer(raw: dict[str, Any]) -> None:
    message = broken(raw, lambda d: d["life_events"]["moving_in"]["steps"][1].update(when="has_cat"))
    assert "life_events.moving_in.steps[1].when: unknown answer 'has_cat'" in message


def test_life_event_step_must_name_a_procedure(raw: dict[str, Any]) -> None:
    message = broken(raw, lambda d: d["life_events"]["birth"]["steps"][0].update(procedure="shussei"))
    assert "life_events.birth.steps[0].procedure: unknown procedure 'shussei'" in message


def test_invalid_yaml_and_wrong_top_level(tmp_path: Path) -> None:
    bad = tmp_path / "procedures.yml"
    bad.write_text("procedures: [unclosed", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid YAML"):
        Catalog.load(bad)
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="top level must be a mapping"):
        Catalog.load(bad)


def test_loader_falls_back_to_the_demo_faq_and_waste_list(tmp_path: Path) -> None:
    from knowledge.faq import import_faq
    from knowledge.loader import DEMO_FAQ, load_faq, load_waste

    assert len(load_faq(tmp_path)) == len(DEMO_FAQ.read_text(encoding="utf-8").strip().splitlines()) - 1
    assert load_waste(tmp_path).lookup("ペットボトル") is not None
    own = tmp_path / "faq.csv"
    own.write_text("question,answer\n図書館は何時まで？,20時までです。\n", encoding="utf-8")
    import_faq(own, tmp_path)
    assert [e.question for e in load_faq(tmp_path).entries] == ["図書館は何時まで？"]


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    """PyYAML keeps the last of two equal keys silently; the catalog loader refuses them."""
    text = PACKAGED_CATALOG.read_text(encoding="utf-8").replace(
        "    short: 住民票の写し\n", "    short: 戸籍証明書\n    short: 住民票の写し\n", 1
    )
    path = tmp_path / "procedures.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError, match="duplicate key 'short'"):
        Catalog.load(path)


def test_short_names_and_mail_addresses(catalog: Catalog) -> None:
    assert catalog.procedure("koseki").short == "戸籍証明書"
    assert catalog.procedure("juminhyo").short == "住民票の写し"
    for proc in catalog.procedures.values():
        if proc.mail is not None:
            assert proc.mail.address.startswith("〒"), proc.id
