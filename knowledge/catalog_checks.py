"""The catalog's checks beyond its types: references between blocks (offices, hours,
departments, related procedures, life-event steps), the contract's intents, fees and certificate
rules. Each problem names the block, the entry and the field (`knowledge/catalog.py` raises them
as one `CatalogError`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

if TYPE_CHECKING:
    from knowledge.catalog import CatalogData, Channel, Procedure

# The procedure intents CONTRACTS §2 (inventory) requires of every municipality's catalog: the
# contract's list, checked at load, not the list of procedures. What the catalog answers is its
# own `procedures` (`Catalog.intents`): a municipality adds an information-only procedure with an
# entry there and training examples, and no code names it (handlers/procedures.py).
CONTRACT_INTENTS = (
    *("juminhyo", "koseki", "inkan", "tax_certificate", "moving_in", "moving_out", "moving_within"),
    *("mynumber_card", "childcare_temporary", "nursery_admission", "child_allowance", "child_medical"),
    *("pregnancy", "birth", "death", "care_consultation", "care_certification", "health_insurance"),
    *("pension", "bulky_waste", "waste_sorting", "resident_tax", "health_checkup", "disaster"),
    *("facility_booking", "livelihood_support"),
)

# Answers the life-event forms ask for; `when` / `unless` in `life_events` may name only these.
LIFE_EVENT_ANSWERS = frozenset(
    {
        "from_abroad",
        "children",
        "school_children",
        "dog",
        "has_mynumber_card",
        "national_health_insurance",
        "care_certified",
        "pension_recipient",
        "household_head",
    }
)
URL_PREFIX = "https://"
REQUESTER_KINDS = ("self", "family", "proxy")


def describe(exc: ValidationError, source: str) -> str:
    """One line per error: `procedures.juminhyo.fees[0].amount: Input should be ...`."""
    lines = []
    for err in exc.errors():
        path = ""
        for part in err["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        lines.append(f"{path}: {err['msg']}")
    prefix = f"{source}: " if source else ""
    return prefix + "; ".join(lines)


def check_references(data: CatalogData) -> list[str]:
    problems: list[str] = []
    for key, office in data.offices.items():
        if office.hours not in data.hours:
            problems.append(f"offices.{key}.hours: unknown hours {office.hours!r}")
        if office.department not in data.departments:
            problems.append(f"offices.{key}.department: unknown department {office.department!r}")
    for key, proc in data.procedures.items():
        problems.extend(f"procedures.{key}.{p}" for p in _check_procedure(proc, data))
    missing = [i for i in CONTRACT_INTENTS if i not in data.procedures]
    if missing:
        problems.append(f"procedures: missing entries for intents {', '.join(missing)}")
    for key, event in data.life_events.items():
        for n, step in enumerate(event.steps):
            where = f"life_events.{key}.steps[{n}]"
            if step.procedure not in data.procedures:
                problems.append(f"{where}.procedure: unknown procedure {step.procedure!r}")
            for field in ("when", "unless"):
                answer = getattr(step, field)
                if answer is not None and answer not in LIFE_EVENT_ANSWERS:
                    problems.append(f"{where}.{field}: unknown answer {answer!r}")
    return problems


def _check_procedure(proc: Procedure, data: CatalogData) -> list[str]:
    problems: list[str] = []
    if proc.office not in data.offices:
        problems.append(f"office: unknown office {proc.office!r}")
    if proc.department not in data.departments:
        problems.append(f"department: unknown department {proc.department!r}")
    if not proc.url.startswith(URL_PREFIX):
        problems.append(f"url: must start with {URL_PREFIX} (got {proc.url!r})")
    for related in proc.related:
        target = data.procedures.get(related)
        if target is None or not target.intent:
            problems.append(f"related: {related!r} is not a procedure intent in this catalog")
    for n, fee in enumerate(proc.fees):
        if fee.amount_max is not None and fee.amount_max <= fee.amount:
            problems.append(f"fees[{n}].amount_max: must be more than amount ({fee.amount})")
    for name in ("online", "mail", "convenience"):
        channel: Channel | None = getattr(proc, name)
        if channel is not None and channel.hours is not None and channel.hours not in data.hours:
            problems.append(f"{name}.hours: unknown hours {channel.hours!r}")
    if proc.certificate is not None:
        problems.extend(_check_certificate(proc))
    if proc.payment is not None and any(not 1 <= m <= 12 for m in proc.payment.months):
        problems.append("payment.months: each month must be 1 to 12")
    return problems


def _check_certificate(proc: Procedure) -> list[str]:
    problems: list[str] = []
    rules = proc.certificate
    assert rules is not None
    copy_fees = [f for f in proc.fees if f.per_copy]
    if len(copy_fees) != 1:
        problems.append("fees: a certificate needs exactly one fee with per_copy: true")
    elif copy_fees[0].amount_max is not None:
        problems.append("fees: the per_copy fee of a certificate must be one amount, not a range")
    missing = [k for k in REQUESTER_KINDS if k not in rules.requesters]
    extra = [k for k in rules.requesters if k not in REQUESTER_KINDS]
    if missing:
        problems.append(f"certificate.requesters: missing {', '.join(missing)}")
    if extra:
        problems.append(f"certificate.requesters: unknown {', '.join(extra)} (use {', '.join(REQUESTER_KINDS)})")
    if proc.convenience is not None and proc.convenience.fee is None:
        problems.append("convenience.fee: required for a certificate issued at convenience stores")
    return problems
