"""The resident 360° profile: households, residents, consents, chat identities, interactions,
suggestion records and the audit log of every read of a profile.

Personal data (names, kana, addresses, birth dates) lives only in `households` and `residents`;
every other table refers to a resident by id, and nothing here is ever logged.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.db import Base

RELATIONS = frozenset(
    {"head", "spouse", "child", "father", "mother", "grandfather", "grandmother", "grandchild", "sibling", "other"}
)
CARE_LEVELS = frozenset({"要支援1", "要支援2", "要介護1", "要介護2", "要介護3", "要介護4", "要介護5"})
CONSENT_SCOPES = frozenset({"suggestions", "outreach"})  # CONTRACTS §4
CHANNELS = frozenset({"web", "line"})
INTERACTION_KINDS = frozenset({"inquiry", "reservation", "request", "handoff", "suggestion"})


def utcnow() -> datetime:
    return datetime.now(UTC)


def age_on(birth_date: date, today: date) -> int:
    """Age in full years on `today` (a person born on 29 Feb ages on 1 Mar in common years)."""
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


class Household(Base):
    __tablename__ = "households"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Resident(Base):
    __tablename__ = "residents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text)
    kana: Mapped[str | None] = mapped_column(Text, nullable=True)
    birth_date: Mapped[date] = mapped_column(Date)
    relation_to_head: Mapped[str] = mapped_column(String(20))
    care_level: Mapped[str | None] = mapped_column(String(10), nullable=True)
    death_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    # the end of the member's care certification (要介護・要支援認定の有効期間の終了日), CONTRACTS §4
    care_level_valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Consent(Base):
    """The current decision of one resident on one scope; changes are also in the audit log.

    status: asked (asked, no answer yet) | given | declined (said no when asked) | withdrawn.
    """

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("resident_id", "scope", name="uq_consents_resident_id_scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    given_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    asked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(20), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ChannelIdentity(Base):
    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "user_id", name="uq_channel_identities_channel_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(160))
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    # How the link was made: "import" (the residents file) or "code" (a staff-issued code redeemed
    # from a linkable identity). An imported web link counts only in demo mode (bot/engine/identity.py).
    linked_by: Mapped[str] = mapped_column(String(20))
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LinkCode(Base):
    """A one-time code staff hand to a resident at the counter; only its HMAC (keyed with the
    server secret) is stored, so a dump cannot be reversed by hashing the 10⁶ possible codes."""

    __tablename__ = "link_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    issued_by: Mapped[str] = mapped_column(String(80))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LinkAttempt(Base):
    """Code attempts, for rate limiting per chat identity, per code value tried and per client
    address (bot/engine/link_limits.py). The value and the address are stored only as HMACs keyed with
    the server secret: a dump shows neither the codes tried nor who tried them."""

    __tablename__ = "link_attempts"
    __table_args__ = (
        Index("ix_link_attempts_channel_user_id_at", "channel", "user_id", "at"),
        Index("ix_link_attempts_code_key_at", "code_key", "at"),
        Index("ix_link_attempts_address_key_at", "address_key", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(160))
    success: Mapped[bool] = mapped_column(Boolean)
    code_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    address_key: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: no client address (LINE)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class WebSession(Base):
    """Web chat identities the server issued (`POST /webhooks/rest/session`); only these can be
    linked with a code, so a made-up `sender` never reaches a profile."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_resident_id_created_at", "resident_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_id: Mapped[str] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # inquiry | reservation | request | handoff | suggestion
    intent: Mapped[str | None] = mapped_column(String(60), nullable=True)
    department: Mapped[str | None] = mapped_column(String(60), nullable=True)
    conversation_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(20), nullable=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SuggestionRecord(Base):
    __tablename__ = "suggestion_records"
    __table_args__ = (Index("ix_suggestion_records_resident_id_rule", "resident_id", "rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resident_id: Mapped[str | None] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), nullable=True)
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    rule: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(12))  # offered | accepted | declined
    accepted_intent: Mapped[str | None] = mapped_column(String(60), nullable=True)
    offered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditLog(Base):
    """Who read or changed which resident's profile, when and why. No personal data in here."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_resident_id_at", "resident_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(80))  # "system" or "staff:<id>"
    action: Mapped[str] = mapped_column(String(40))  # read_profile | link | consent | import | issue_code
    why: Mapped[str] = mapped_column(String(160))
    resident_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    conversation_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def audit(
    *, actor: str, action: str, why: str, resident_id: str | None, conversation_id: str | None = None
) -> AuditLog:
    return AuditLog(
        actor=actor, action=action, why=why[:160], resident_id=resident_id, conversation_id=conversation_id, at=utcnow()
    )
