"""`python -m knowledge residents import FILE.json` (CONTRACTS §4): validation, idempotent
re-load, and nothing loaded from a file with errors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.settings import Settings
from bot.store.db import make_sync_engine
from knowledge.__main__ import main as knowledge_main
from knowledge.residents import AuditLog, ChannelIdentity, Consent, Household, Resident
from knowledge.residents_import import ResidentsImportError, import_residents_file
from tests.residents.conftest import TODAY, tagged_demo, write_json


def snapshot(url: str, tag: str) -> dict[str, Any]:
    """Everything the import writes for ids tagged `tag` (timestamps left out)."""
    engine = make_sync_engine(url)
    with engine.connect() as conn:
        residents = conn.execute(
            select(
                Resident.id,
                Resident.household_id,
                Resident.name,
                Resident.kana,
                Resident.birth_date,
                Resident.relation_to_head,
                Resident.care_level,
                Resident.death_date,
            )
            .where(Resident.id.like(f"%-{tag}"))
            .order_by(Resident.id)
        ).all()
        households = conn.execute(select(Household.id, Household.address).where(Household.id.like(f"%-{tag}"))).all()
        consents = conn.execute(
            select(Consent.resident_id, Consent.scope, Consent.status, Consent.given_at)
            .where(Consent.resident_id.like(f"%-{tag}"))
            .order_by(Consent.resident_id)
        ).all()
        links = conn.execute(
            select(ChannelIdentity.channel, ChannelIdentity.user_id, ChannelIdentity.resident_id)
            .where(ChannelIdentity.resident_id.like(f"%-{tag}"))
            .order_by(ChannelIdentity.user_id)
        ).all()
    engine.dispose()
    return {"residents": residents, "households": households, "consents": consents, "links": links}


def load(settings: Settings, tmp_path: Path, data: dict[str, Any]) -> dict[str, int]:
    return import_residents_file(write_json(tmp_path / "in.json", data), settings.resolved_database_url, today=TODAY)


def test_good_file_loads_every_household_consent_and_link(settings: Settings, tmp_path: Path, tag: str) -> None:
    counts = load(settings, tmp_path, tagged_demo(tag))
    snap = snapshot(settings.resolved_database_url, tag)
    assert counts == {"households": 7, "residents": 19, "links": 2}
    assert len(snap["residents"]) == 19 and len(snap["households"]) == 7
    tome = next(r for r in snap["residents"] if r.id == f"R003-{tag}")
    assert (tome.relation_to_head, tome.care_level, tome.birth_date.isoformat()) == ("mother", "要支援1", "1944-05-05")
    assert [c.status for c in snap["consents"]] == ["given"] * 7  # 6 × suggestions + R001 outreach (§7)
    assert ("web", f"demo-hanako-{tag}", f"R001-{tag}") in [tuple(x) for x in snap["links"]]


def test_reimport_is_idempotent(settings: Settings, tmp_path: Path, tag: str) -> None:
    load(settings, tmp_path, tagged_demo(tag))
    first = snapshot(settings.resolved_database_url, tag)
    load(settings, tmp_path, tagged_demo(tag))
    assert snapshot(settings.resolved_database_url, tag) == first  # consent timestamps kept too


def test_reimport_updates_a_changed_record(settings: Settings, tmp_path: Path, tag: str) -> None:
    data = tagged_demo(tag)
    load(settings, tmp_path, data)
    data["households"][0]["members"][2]["care_level"] = "要介護2"
    load(settings, tmp_path, data)
    tome = next(r for r in snapshot(settings.resolved_database_url, tag)["residents"] if r.id == f"R003-{tag}")
    assert tome.care_level == "要介護2"


def _broken(tag: str, how: str) -> dict[str, Any]:
    data = tagged_demo(tag)
    members = data["households"][1]["members"]
    if how == "bad_date":
        members[2]["birth_date"] = "2018-02-30"
    elif how == "unknown_relation":
        members[1]["relation_to_head"] = "wife"
    elif how == "unknown_care_level":
        members[0]["care_level"] = "要介護6"
    elif how == "duplicate_id":
        members[3]["id"] = members[2]["id"]
    elif how == "unknown_consent_resident":
        data["consents"].append({"resident_id": f"R999-{tag}", "scopes": ["suggestions"]})
    elif how == "unknown_link_resident":
        data["links"].append({"resident_id": f"R998-{tag}", "channel": "web", "user_id": f"x-{tag}"})
    return data


@pytest.mark.parametrize(
    ("how", "record", "field"),
    [
        ("bad_date", "resident R012-{tag}", "'birth_date'"),
        ("unknown_relation", "resident R011-{tag}", "'relation_to_head'"),
        ("unknown_care_level", "resident R010-{tag}", "'care_level'"),
        ("duplicate_id", "resident R012-{tag}", "'id': duplicate resident id"),
        ("unknown_consent_resident", "consents #7", "'resident_id': unknown resident 'R999-{tag}'"),
        ("unknown_link_resident", "links #3", "'resident_id': unknown resident 'R998-{tag}'"),
    ],
)
def test_a_file_with_an_error_names_record_and_field_and_loads_nothing(
    settings: Settings, tmp_path: Path, tag: str, how: str, record: str, field: str
) -> None:
    before = snapshot(settings.resolved_database_url, tag)
    with pytest.raises(ResidentsImportError) as err:
        load(settings, tmp_path, _broken(tag, how))
    message = str(err.value)
    assert f"{record.format(tag=tag)}: field {field.format(tag=tag)}" in message
    assert "nothing was loaded" in message
    assert snapshot(settings.resolved_database_url, tag) == before == {k: [] for k in before}


def test_an_error_leaves_a_previous_load_as_it_was(settings: Settings, tmp_path: Path, tag: str) -> None:
    load(settings, tmp_path, tagged_demo(tag))
    before = snapshot(settings.resolved_database_url, tag)
    broken = copy.deepcopy(_broken(tag, "bad_date"))
    broken["households"][0]["address"] = "デモ区どこか9-9-9"  # a valid change in the same file
    with pytest.raises(ResidentsImportError):
        load(settings, tmp_path, broken)
    assert snapshot(settings.resolved_database_url, tag) == before


def test_every_problem_is_reported_at_once(settings: Settings, tmp_path: Path, tag: str) -> None:
    data = _broken(tag, "bad_date")
    data["households"][0]["members"][1]["relation_to_head"] = "son"
    with pytest.raises(ResidentsImportError) as err:
        load(settings, tmp_path, data)
    assert len(err.value.errors) == 2


def test_cli_imports_and_exits_2_on_errors(
    settings: Settings, tmp_path: Path, tag: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.resolved_database_url)
    bad = write_json(tmp_path / "bad.json", _broken(tag, "unknown_relation"))
    assert knowledge_main(["--data-dir", str(tmp_path), "residents", "import", str(bad)]) == 2
    assert f"resident R011-{tag}: field 'relation_to_head'" in capsys.readouterr().err
    data = tagged_demo(tag)
    for m in data["households"][4]["members"]:
        m["birth_date"] = "2020-01-01"  # the CLI checks against the real today
    data["households"][3]["members"][1]["death_date"] = "2020-06-01"
    good = write_json(tmp_path / "good.json", data)
    assert knowledge_main(["--data-dir", str(tmp_path), "residents", "import", str(good)]) == 0
    assert "imported 7 households, 19 residents" in capsys.readouterr().out
    engine = make_sync_engine(settings.resolved_database_url)
    with engine.connect() as conn:
        audited = conn.execute(select(AuditLog.action).where(AuditLog.resident_id == f"R001-{tag}")).scalars().all()
    engine.dispose()
    assert audited == ["import"]
