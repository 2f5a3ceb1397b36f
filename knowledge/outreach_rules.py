"""Outreach rules (data: knowledge/data/outreach_rules.yml, CONTRACTS §7) and when each is due.

A rule says who (a condition on a household member, in the suggestion rules' vocabulary), when (a
number of days before a date of the member, the month a child reaches an age, or the day before a
reservation made in chat), what (the message and buttons), which consent it needs (`outreach` for
anything chosen from the profile; `none` for a reminder of the resident's own booking) and its
topic (what a resident stops with 「お知らせを止めて」). Everything here is pure; reading residents
and sending live in bot/outreach/.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from knowledge.suggestions import MemberCondition, RuleError, member_condition

RULES_FILE = Path(__file__).resolve().parent / "data" / "outreach_rules.yml"
RULE_KEYS = {"id", "topic", "consent", "when", "who", "text", "why", "buttons"}
WHEN_KEYS = {"member_date", "days_before", "member_age_months", "window_days", "reservation"}
MEMBER_DATES = {"care_level_valid_until"}
CONSENTS = {"outreach", "none"}


@dataclass(frozen=True, slots=True)
class NoticeButton:
    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class OutreachRule:
    id: str
    topic: str
    consent: str  # "outreach" | "none"
    text: str
    why: str
    buttons: tuple[NoticeButton, ...]
    member: MemberCondition | None = None  # who, for the profile rules
    member_date: str | None = None  # when: `days_before` this member date
    age_months: int | None = None  # when: the member reaches this age (in months) ...
    window_days: int = 30  # ... and for this many days after (a missed run still sends)
    reservation_kind: str | None = None  # when: `days_before` a reservation of this kind
    days_before: int = 0

    @property
    def uses_profile(self) -> bool:
        return self.reservation_kind is None

    def member_occurrence(self, *, birth_date: date, dates: dict[str, date | None], today: date) -> str | None:
        """The occurrence (a date) this member is due for today, or None."""
        if self.member_date is not None:
            end = dates.get(self.member_date)
            if end is not None and end - timedelta(days=self.days_before) <= today <= end:
                return end.isoformat()
            return None
        if self.age_months is not None:
            start = add_months(birth_date, self.age_months)
            if start <= today < start + timedelta(days=self.window_days):
                return start.isoformat()
        return None

    def reservation_due(self, service_date: date, today: date) -> bool:
        return service_date - timedelta(days=self.days_before) <= today < service_date


def rules_path(data_dir: Path) -> Path:
    """The municipality's own rules (`$DATA_DIR/knowledge/outreach_rules.yml`) or the packaged ones."""
    own = Path(data_dir) / "knowledge" / "outreach_rules.yml"
    return own if own.exists() else RULES_FILE


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the last day of a shorter month)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # unreachable


@dataclass(frozen=True, slots=True)
class Topic:
    """What residents stop or restart: its name in chat and the words that mean it."""

    id: str
    label: str
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OutreachBook:
    rules: tuple[OutreachRule, ...]
    topics: dict[str, Topic]

    def topic_in(self, text: str) -> Topic | None:
        """The topic a message names (「健診のお知らせはいらない」 → checkup), or None for all."""
        for topic in self.topics.values():
            if any(word in text for word in topic.words):
                return topic
        return None


def load_rules(path: Path = RULES_FILE, *, known_intents: frozenset[str] | None = None) -> OutreachBook:
    """Read and check the rules; RuleError names the rule and the field."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or set(data) - {"topics", "rules"}:
        raise RuleError(f"{path}: the file has 'topics' and 'rules' only")
    topics = _topics(data.get("topics"), path)
    raw = data.get("rules")
    if not isinstance(raw, list) or not raw:
        raise RuleError(f"{path}: 'rules' must be a non-empty list")
    rules = [_rule(r, i, known_intents) for i, r in enumerate(raw)]
    ids = [r.id for r in rules]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise RuleError(f"{path}: duplicate rule id(s): {dupes}")
    for rule in rules:
        if rule.topic not in topics:
            raise RuleError(f"outreach rule {rule.id}: field 'topic': {rule.topic!r} is not under 'topics'")
    return OutreachBook(tuple(rules), topics)


def _topics(raw: Any, path: Path) -> dict[str, Topic]:
    if not isinstance(raw, dict) or not raw:
        raise RuleError(f"{path}: 'topics' must map each topic to its label and words")
    out = {}
    for tid, t in raw.items():
        if not isinstance(t, dict) or set(t) != {"label", "words"} or not isinstance(t["words"], list):
            raise RuleError(f"{path}: topic {tid}: needs 'label' and a list of 'words'")
        out[str(tid)] = Topic(str(tid), str(t["label"]), tuple(str(w) for w in t["words"]))
    return out


def _rule(raw: Any, index: int, known_intents: frozenset[str] | None) -> OutreachRule:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise RuleError(f"outreach rule #{index + 1}: must be a mapping with an 'id'")
    where = f"outreach rule {raw['id']}"
    unknown = sorted(set(raw) - RULE_KEYS)
    if unknown:
        raise RuleError(f"{where}: unknown field(s) {unknown}")
    for key in ("topic", "text", "why"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise RuleError(f"{where}: field '{key}' is required (text)")
    consent = raw.get("consent")
    if consent not in CONSENTS:
        raise RuleError(f"{where}: field 'consent' must be one of {sorted(CONSENTS)}, not {consent!r}")
    when = raw.get("when")
    if not isinstance(when, dict) or set(when) - WHEN_KEYS:
        bad = sorted(set(when) - WHEN_KEYS) if isinstance(when, dict) else when
        raise RuleError(f"{where}: field 'when': unknown condition(s) {bad}")
    fields = _when(when, where)
    member = _who(raw.get("who"), where, profile=fields["reservation_kind"] is None)
    if fields["reservation_kind"] is None and consent != "outreach":
        raise RuleError(f"{where}: field 'consent': a notice chosen from the profile needs 'outreach'")
    return OutreachRule(
        id=raw["id"],
        topic=raw["topic"],
        consent=consent,
        text=raw["text"].strip(),
        why=raw["why"].strip(),
        buttons=_buttons(raw.get("buttons") or [], where, known_intents),
        member=member,
        **fields,
    )


def _when(when: dict[str, Any], where: str) -> dict[str, Any]:
    kinds = [k for k in ("member_date", "member_age_months", "reservation") if k in when]
    if len(kinds) != 1:
        raise RuleError(f"{where}: field 'when' needs exactly one of member_date, member_age_months, reservation")
    for key in ("days_before", "member_age_months", "window_days"):
        if key in when and (not isinstance(when[key], int) or isinstance(when[key], bool) or when[key] < 0):
            raise RuleError(f"{where}: field 'when.{key}' must be a whole number ≥ 0")
    if "member_date" in when and when["member_date"] not in MEMBER_DATES:
        raise RuleError(f"{where}: field 'when.member_date': unknown date {when['member_date']!r}")
    if "reservation" in when and not isinstance(when["reservation"], str):
        raise RuleError(f"{where}: field 'when.reservation' must be a reservation kind")
    return {
        "member_date": when.get("member_date"),
        "age_months": when.get("member_age_months"),
        "window_days": when.get("window_days", 30),
        "reservation_kind": when.get("reservation"),
        "days_before": when.get("days_before", 0),
    }


def _who(raw: Any, where: str, *, profile: bool) -> MemberCondition | None:
    if not profile:
        if raw is not None:
            raise RuleError(f"{where}: field 'who': a reservation reminder reads no profile")
        return None
    if raw is None:
        return MemberCondition(include_self=True)
    if not isinstance(raw, dict) or set(raw) != {"member"}:
        raise RuleError(f"{where}: field 'who' must be {{member: {{...conditions}}}}")
    return member_condition(raw["member"], f"{where} who.member")


def _buttons(raw: list[Any], where: str, known_intents: frozenset[str] | None) -> tuple[NoticeButton, ...]:
    out = []
    for i, b in enumerate(raw):
        if not isinstance(b, dict) or set(b) != {"title", "payload"} or not str(b["payload"]).startswith("/"):
            raise RuleError(f"{where}: field 'buttons' #{i + 1} needs 'title' and a '/intent' 'payload'")
        intent = str(b["payload"])[1:].split("{", 1)[0]
        if known_intents is not None and intent not in known_intents:
            raise RuleError(f"{where}: field 'buttons' #{i + 1}: unknown intent {intent!r}")
        out.append(NoticeButton(str(b["title"]), str(b["payload"])))
    return tuple(out)
