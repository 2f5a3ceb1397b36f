"""Residents import (CONTRACTS §4): validate a whole file, then upsert it in one transaction.

Every record is checked before anything is written; all problems are reported together, each
naming the record and the field, and a file with any problem loads nothing. Re-loading the same
file changes nothing (upsert by id; consent timestamps are kept when the decision is unchanged).

Accepted besides the contract: top-level keys starting with "_" (comments such as "_note") are
ignored, and a member may carry `death_date` (YYYY-MM-DD) for a resident who has died.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.residents import (
    CARE_LEVELS,
    CHANNELS,
    CONSENT_SCOPES,
    RELATIONS,
    ChannelIdentity,
    Consent,
    Household,
    Resident,
    audit,
    utcnow,
)
from knowledge.store import KnowledgeImportError

TOP_KEYS = {"households", "consents", "links"}
MEMBER_KEYS = {
    "id",
    "name",
    "kana",
    "birth_date",
    "relation_to_head",
    "care_level",
    "death_date",
    "care_level_valid_until",
}
WEB_SENDER = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
LINE_USER = re.compile(r"^U[0-9a-f]{32}$")


class ResidentsImportError(KnowledgeImportError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} problem(s), nothing was loaded:\n  " + "\n  ".join(errors))
        self.errors = errors


@dataclass
class ResidentsFile:
    households: list[dict[str, Any]] = field(default_factory=list)
    members: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (household id, member)
    consents: list[tuple[str, str]] = field(default_factory=list)  # (resident id, scope)
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (resident id, channel, user id)


@dataclass
class _Checker:
    today: date
    known_residents: set[str]  # already in the database
    errors: list[str] = field(default_factory=list)

    def fail(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def text(self, where: str, record: dict[str, Any], key: str, *, required: bool = True) -> str | None:
        value = record.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"field '{key}' is required and must be a non-empty string")
            return None
        return value.strip()

    def day(
        self, where: str, record: dict[str, Any], key: str, *, required: bool = True, future: bool = False
    ) -> date | None:
        value = record.get(key)
        if value is None and not required:
            return None
        try:
            parsed = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
        except ValueError:
            parsed = None
        if parsed is None:
            self.fail(where, f"field '{key}': {value!r} is not a valid date (YYYY-MM-DD)")
        elif parsed > self.today and not future:
            self.fail(where, f"field '{key}': {value} is in the future")
            parsed = None
        return parsed


def read_residents_file(path: Path, *, today: date, known_residents: set[str]) -> ResidentsFile:
    """Parse and validate; raises ResidentsImportError listing every problem found."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ResidentsImportError([f"invalid JSON: {exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ResidentsImportError(["file is not UTF-8"]) from exc
    if not isinstance(data, dict):
        raise ResidentsImportError(["the file must be a JSON object with 'households'"])
    return validate(data, today=today, known_residents=known_residents)


def validate(data: dict[str, Any], *, today: date, known_residents: set[str]) -> ResidentsFile:
    check = _Checker(today=today, known_residents=known_residents)
    out = ResidentsFile()
    for key in data:
        if key not in TOP_KEYS and not key.startswith("_"):
            check.fail("file", f"unknown top-level key {key!r} (expected households, consents, links)")
    households = data.get("households")
    if not isinstance(households, list):
        check.fail("file", "'households' is required and must be a list")
        households = []
    _check_households(check, households, out)
    in_file = {rid for _, m in out.members for rid in [m["id"]]}
    _check_consents(check, _list(check, data, "consents"), out, in_file | known_residents)
    _check_links(check, _list(check, data, "links"), out, in_file | known_residents)
    if check.errors:
        raise ResidentsImportError(check.errors)
    return out


def _list(check: _Checker, data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        check.fail("file", f"'{key}' must be a list")
        return []
    return value


def _check_households(check: _Checker, households: list[Any], out: ResidentsFile) -> None:
    seen_households: set[str] = set()
    seen_residents: set[str] = set()
    for index, household in enumerate(households):
        where = f"household #{index + 1}"
        if not isinstance(household, dict):
            check.fail(where, "must be an object")
            continue
        hid = check.text(where, household, "id")
        where = f"household {hid}" if hid else where
        if hid and hid in seen_households:
            check.fail(where, "field 'id': duplicate household id")
        seen_households.add(hid or "")
        address = household.get("address")
        if address is not None and not isinstance(address, str):
            check.fail(where, "field 'address' must be a string")
        members = household.get("members")
        if not isinstance(members, list) or not members:
            check.fail(where, "field 'members' must be a non-empty list")
            members = []
        out.households.append({"id": hid, "address": address})
        for mindex, member in enumerate(members):
            checked = _check_member(check, f"{where} member #{mindex + 1}", member, seen_residents)
            if checked and hid:
                out.members.append((hid, checked))


def _check_member(check: _Checker, where: str, member: Any, seen: set[str]) -> dict[str, Any] | None:
    if not isinstance(member, dict):
        check.fail(where, "must be an object")
        return None
    rid = check.text(where, member, "id")
    if rid:
        where = f"resident {rid}"
        if rid in seen:
            check.fail(where, "field 'id': duplicate resident id")
        seen.add(rid)
    for key in member:
        if key not in MEMBER_KEYS:
            check.fail(where, f"unknown field {key!r}")
    name = check.text(where, member, "name")
    kana = check.text(where, member, "kana", required=False)
    birth = check.day(where, member, "birth_date")
    death = check.day(where, member, "death_date", required=False)
    if birth and death and death < birth:
        check.fail(where, "field 'death_date' is before 'birth_date'")
    relation = member.get("relation_to_head")
    if relation not in RELATIONS:
        check.fail(where, f"field 'relation_to_head': unknown relation {relation!r} (one of {sorted(RELATIONS)})")
    care = member.get("care_level")
    if care is not None and care not in CARE_LEVELS:
        check.fail(where, f"field 'care_level': unknown care level {care!r} (要支援1-2, 要介護1-5 or null)")
    valid_until = check.day(where, member, "care_level_valid_until", required=False, future=True)
    if valid_until and not care:
        check.fail(where, "field 'care_level_valid_until' needs a 'care_level'")
    return {
        "id": rid,
        "name": name,
        "kana": kana,
        "birth_date": birth,
        "relation_to_head": relation,
        "care_level": care,
        "death_date": death,
        "care_level_valid_until": valid_until,
    }


def _check_consents(check: _Checker, consents: list[Any], out: ResidentsFile, residents: set[str]) -> None:
    for index, consent in enumerate(consents):
        where = f"consents #{index + 1}"
        if not isinstance(consent, dict):
            check.fail(where, "must be an object")
            continue
        rid = consent.get("resident_id")
        if rid not in residents:
            check.fail(where, f"field 'resident_id': unknown resident {rid!r}")
            continue
        scopes = consent.get("scopes")
        if not isinstance(scopes, list) or not scopes:
            check.fail(where, "field 'scopes' must be a non-empty list")
            continue
        for scope in scopes:
            if scope not in CONSENT_SCOPES:
                check.fail(where, f"field 'scopes': unknown scope {scope!r} (one of {sorted(CONSENT_SCOPES)})")
            else:
                out.consents.append((rid, scope))


def _check_links(check: _Checker, links: list[Any], out: ResidentsFile, residents: set[str]) -> None:
    seen: set[tuple[str, str]] = set()
    for index, link in enumerate(links):
        where = f"links #{index + 1}"
        if not isinstance(link, dict):
            check.fail(where, "must be an object")
            continue
        rid, channel, user_id = link.get("resident_id"), link.get("channel"), link.get("user_id")
        if rid not in residents:
            check.fail(where, f"field 'resident_id': unknown resident {rid!r}")
        if channel not in CHANNELS:
            check.fail(where, f"field 'channel': unknown channel {channel!r} (one of {sorted(CHANNELS)})")
            continue
        pattern = LINE_USER if channel == "line" else WEB_SENDER
        if not isinstance(user_id, str) or not pattern.match(user_id):
            check.fail(where, f"field 'user_id': {user_id!r} is not a valid {channel} user id")
            continue
        if (channel, user_id) in seen:
            check.fail(where, f"field 'user_id': duplicate link for {channel} {user_id!r}")
        seen.add((channel, user_id))
        if rid in residents:
            out.links.append((rid, channel, user_id))


def load_residents(session: Session, parsed: ResidentsFile, *, actor: str = "system") -> dict[str, int]:
    """Upsert a validated file inside the caller's transaction; returns counts."""
    now = utcnow()
    for h in parsed.households:
        row = session.get(Household, h["id"]) or Household(id=h["id"])
        row.address, row.updated_at = h["address"], now
        session.add(row)
    session.flush()
    for hid, m in parsed.members:
        resident = session.get(Resident, m["id"]) or Resident(id=m["id"])
        for key, value in m.items():
            setattr(resident, key, value)
        resident.household_id, resident.updated_at = hid, now
        session.add(resident)
    session.flush()
    for rid, scope in parsed.consents:
        _give_consent(session, rid, scope, now)
    for rid, channel, user_id in parsed.links:
        _link(session, rid, channel, user_id)
    for rid in {rid for _, m in parsed.members for rid in [m["id"]]}:
        session.add(audit(actor=actor, action="import", why="residents import", resident_id=rid))
    return {"households": len(parsed.households), "residents": len(parsed.members), "links": len(parsed.links)}


def _give_consent(session: Session, rid: str, scope: str, now: Any) -> None:
    row = session.scalar(select(Consent).where(Consent.resident_id == rid, Consent.scope == scope))
    if row is not None and row.status == "given":
        return
    row = row or Consent(resident_id=rid, scope=scope)
    row.status, row.given_at, row.channel, row.updated_at = "given", now, "import", now
    session.add(row)


def _link(session: Session, rid: str, channel: str, user_id: str) -> None:
    row = session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.channel == channel, ChannelIdentity.user_id == user_id)
    )
    if row is not None and row.resident_id == rid:
        return
    row = row or ChannelIdentity(channel=channel, user_id=user_id)
    row.resident_id, row.linked_by, row.linked_at = rid, "import", utcnow()
    session.add(row)


def import_residents_file(path: Path, database_url: str, *, today: date | None = None) -> dict[str, int]:
    """Validate `path` and load it into the database at `database_url` in one transaction."""
    from bot.store.db import make_sync_engine

    engine = make_sync_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            known = set(session.scalars(select(Resident.id)))
            parsed = read_residents_file(path, today=today or date.today(), known_residents=known)
            return load_residents(session, parsed)
    finally:
        engine.dispose()
