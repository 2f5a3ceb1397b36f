"""Suggestion rules (data: knowledge/data/suggestion_rules.yml) and their evaluation.

    book = RuleBook.load()
    profile = Profile.from_rows(resident_id, rows, today)       # the household, ages computed
    match = book.evaluate(intent, text, profile, skip={"double_care"})
    if match: say(match.rule.text, match.reason, match.services)

Everything here is in memory and pure: reading the profile (one indexed query, gated on consent
in the database) and recording what was offered live in handlers/suggestions.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from knowledge.residents import RELATIONS, age_on

RULES_FILE = Path(__file__).resolve().parent / "data" / "suggestion_rules.yml"
MEMBER_KEYS = {"min_age", "max_age", "care_level", "relations", "deceased_within_days", "include_self"}


class RuleError(ValueError):
    """The rules file is invalid; the message names the rule and field."""


@dataclass(frozen=True, slots=True)
class Member:
    is_self: bool
    age: int
    relation: str
    care_level: str | None
    days_since_death: int | None  # None: living


@dataclass(frozen=True, slots=True)
class Profile:
    resident_id: str
    members: tuple[Member, ...]

    @classmethod
    def from_rows(cls, resident_id: str, rows: Iterable[Any], today: date) -> Profile:
        """rows: (id, birth_date, relation_to_head, care_level, death_date) of the household."""
        members = tuple(
            Member(
                is_self=rid == resident_id,
                age=age_on(birth, today),
                relation=relation,
                care_level=care,
                days_since_death=(today - death).days if death else None,
            )
            for rid, birth, relation, care, death in rows
        )
        return cls(resident_id, members)


@dataclass(frozen=True, slots=True)
class MemberCondition:
    min_age: int | None = None
    max_age: int | None = None
    care_level: bool | None = None
    relations: frozenset[str] | None = None
    deceased_within_days: int | None = None
    include_self: bool = False

    def holds(self, m: Member) -> bool:
        if m.is_self and not self.include_self:
            return False
        if self.deceased_within_days is None:
            if m.days_since_death is not None:
                return False
        elif m.days_since_death is None or m.days_since_death > self.deceased_within_days:
            return False
        if self.min_age is not None and m.age < self.min_age:
            return False
        if self.max_age is not None and m.age > self.max_age:
            return False
        if self.care_level is not None and (m.care_level is not None) != self.care_level:
            return False
        return self.relations is None or m.relation in self.relations


@dataclass(frozen=True, slots=True)
class Alternative:
    reason: str
    members: tuple[MemberCondition, ...] = ()
    text_any: tuple[str, ...] = ()

    def holds(self, text: str, profile: Profile | None) -> bool:
        if self.text_any and not any(word in text for word in self.text_any):
            return False
        if not self.members:
            return True
        if profile is None:
            return False
        return all(any(cond.holds(m) for m in profile.members) for cond in self.members)


@dataclass(frozen=True, slots=True)
class Service:
    intent: str
    title: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    intents: frozenset[str]
    text: str
    alternatives: tuple[Alternative, ...]
    services: tuple[Service, ...]
    uses_profile: bool


@dataclass(frozen=True, slots=True)
class Match:
    rule: Rule
    reason: str
    services: tuple[Service, ...]


class RuleBook:
    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self._by_intent: dict[str, list[Rule]] = {}
        for rule in rules:
            for intent in rule.intents:
                self._by_intent.setdefault(intent, []).append(rule)

    @classmethod
    def load(cls, path: Path = RULES_FILE, known_intents: frozenset[str] | None = None) -> RuleBook:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        raw = data.get("rules")
        if not isinstance(raw, list) or not raw:
            raise RuleError(f"{path}: 'rules' must be a non-empty list")
        rules = [_rule(r, i, known_intents) for i, r in enumerate(raw)]
        ids = [r.id for r in rules]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise RuleError(f"duplicate rule id(s): {sorted(dupes)}")
        return cls(rules)

    def candidates(self, intent: str, skip: Iterable[str] = ()) -> list[Rule]:
        """Rules that could fire on `intent`: lets the caller skip reading the profile."""
        skipped = set(skip)
        return [r for r in self._by_intent.get(intent, ()) if r.id not in skipped]

    def evaluate(self, candidates: list[Rule], intent: str, text: str, profile: Profile | None) -> Match | None:
        """The first candidate that holds. Without a profile only rules that read none can hold."""
        for rule in candidates:
            if rule.uses_profile and profile is None:
                continue
            for alt in rule.alternatives:
                if alt.holds(text, profile):
                    services = tuple(s for s in rule.services if s.intent != intent)
                    if services:
                        return Match(rule, alt.reason, services)
                    break
        return None


def _rule(raw: Any, index: int, known_intents: frozenset[str] | None) -> Rule:
    where = f"rule #{index + 1}"
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise RuleError(f"{where}: must be a mapping with an 'id'")
    where = f"rule {raw['id']}"
    intents = raw.get("intents")
    if not isinstance(intents, list) or not intents:
        raise RuleError(f"{where}: 'intents' must be a non-empty list")
    alts = tuple(_alternative(a, f"{where} when_any #{i + 1}") for i, a in enumerate(raw.get("when_any") or []))
    if not alts:
        raise RuleError(f"{where}: 'when_any' must list at least one alternative")
    services = tuple(_service(s, where, known_intents) for s in raw.get("suggest") or [])
    if not services or not isinstance(raw.get("text"), str):
        raise RuleError(f"{where}: 'suggest' (non-empty) and 'text' are required")
    uses_profile = any(a.members for a in alts)
    if raw.get("profile", True) is False and uses_profile:
        raise RuleError(f"{where}: 'profile: false' but an alternative has 'members'")
    if not uses_profile and raw.get("profile", True) is not False:
        raise RuleError(f"{where}: no 'members' anywhere: say 'profile: false' to offer it to anyone")
    return Rule(raw["id"], frozenset(intents), raw["text"], alts, services, uses_profile)


def _alternative(raw: Any, where: str) -> Alternative:
    if not isinstance(raw, dict) or not isinstance(raw.get("reason"), str):
        raise RuleError(f"{where}: needs a 'reason'")
    members = tuple(_member(m, f"{where} members #{i + 1}") for i, m in enumerate(raw.get("members") or []))
    text_any = tuple(raw.get("text_any") or ())
    if not members and not text_any:
        raise RuleError(f"{where}: needs 'members' or 'text_any'")
    return Alternative(raw["reason"], members, text_any)


def _member(raw: Any, where: str) -> MemberCondition:
    if not isinstance(raw, dict) or set(raw) - MEMBER_KEYS:
        raise RuleError(
            f"{where}: unknown condition(s) {sorted(set(raw) - MEMBER_KEYS) if isinstance(raw, dict) else raw}"
        )
    relations = raw.get("relations")
    if relations is not None and not set(relations) <= RELATIONS:
        raise RuleError(f"{where}: unknown relation(s) {sorted(set(relations) - RELATIONS)}")
    return MemberCondition(
        min_age=raw.get("min_age"),
        max_age=raw.get("max_age"),
        care_level=raw.get("care_level"),
        relations=frozenset(relations) if relations is not None else None,
        deceased_within_days=raw.get("deceased_within_days"),
        include_self=bool(raw.get("include_self", False)),
    )


def _service(raw: Any, where: str, known_intents: frozenset[str] | None) -> Service:
    if not isinstance(raw, dict) or not isinstance(raw.get("intent"), str) or not isinstance(raw.get("title"), str):
        raise RuleError(f"{where}: each 'suggest' entry needs 'intent' and 'title'")
    if known_intents is not None and raw["intent"] not in known_intents:
        raise RuleError(f"{where}: unknown intent {raw['intent']!r} in 'suggest'")
    return Service(raw["intent"], raw["title"], raw.get("note", ""))


def member_condition(raw: Any, where: str) -> MemberCondition:
    """A `members` condition as the suggestion rules write it (shared with the outreach rules)."""
    return _member(raw, where)
