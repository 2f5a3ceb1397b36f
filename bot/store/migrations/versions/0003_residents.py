"""Residents (the 360° profile): households, residents, consents, chat identities, link codes,
interactions, suggestion records, audit log.

Revision ID: 0003_residents
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_residents"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _resident_fk(table: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "resident_id",
        sa.String(64),
        sa.ForeignKey("residents.id", ondelete="CASCADE", name=f"fk_{table}_resident_id_residents"),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("address", sa.Text, nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "residents",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "household_id",
            sa.String(64),
            sa.ForeignKey("households.id", ondelete="CASCADE", name="fk_residents_household_id_households"),
            nullable=False,
        ),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kana", sa.Text, nullable=True),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("relation_to_head", sa.String(20), nullable=False),
        sa.Column("care_level", sa.String(10), nullable=True),
        sa.Column("death_date", sa.Date, nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("ix_residents_household_id", "residents", ["household_id"])
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _resident_fk("consents"),
        sa.Column("scope", sa.String(40), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("given_at", TZ, nullable=True),
        sa.Column("withdrawn_at", TZ, nullable=True),
        sa.Column("asked_at", TZ, nullable=True),
        sa.Column("channel", sa.String(20), nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.UniqueConstraint("resident_id", "scope", name="uq_consents_resident_id_scope"),
    )
    op.create_table(
        "channel_identities",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("user_id", sa.String(160), nullable=False),
        _resident_fk("channel_identities"),
        sa.Column("linked_by", sa.String(20), nullable=False),
        sa.Column("linked_at", TZ, nullable=False),
        sa.UniqueConstraint("channel", "user_id", name="uq_channel_identities_channel_user_id"),
    )
    op.create_index("ix_channel_identities_resident_id", "channel_identities", ["resident_id"])
    op.create_table(
        "link_codes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _resident_fk("link_codes"),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("issued_by", sa.String(80), nullable=False),
        sa.Column("issued_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
    )
    op.create_index("ix_link_codes_resident_id", "link_codes", ["resident_id"])
    op.create_index("ix_link_codes_code_hash", "link_codes", ["code_hash"])
    op.create_table(
        "link_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("user_id", sa.String(160), nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("at", TZ, nullable=False),
    )
    op.create_index("ix_link_attempts_channel_user_id_at", "link_attempts", ["channel", "user_id", "at"])
    op.create_index("ix_link_attempts_at", "link_attempts", ["at"])
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _resident_fk("interactions"),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("intent", sa.String(60), nullable=True),
        sa.Column("department", sa.String(60), nullable=True),
        sa.Column("conversation_id", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(20), nullable=True),
        sa.Column("details", sa.JSON, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_interactions_resident_id_created_at", "interactions", ["resident_id", "created_at"])
    op.create_table(
        "suggestion_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _resident_fk("suggestion_records", nullable=True),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("rule", sa.String(60), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("accepted_intent", sa.String(60), nullable=True),
        sa.Column("offered_at", TZ, nullable=False),
        sa.Column("decided_at", TZ, nullable=True),
    )
    op.create_index("ix_suggestion_records_resident_id_rule", "suggestion_records", ["resident_id", "rule"])
    op.create_index("ix_suggestion_records_conversation_id", "suggestion_records", ["conversation_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("why", sa.String(160), nullable=False),
        sa.Column("resident_id", sa.String(64), nullable=True),
        sa.Column("conversation_id", sa.String(200), nullable=True),
        sa.Column("at", TZ, nullable=False),
    )
    op.create_index("ix_audit_log_resident_id_at", "audit_log", ["resident_id", "at"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "suggestion_records",
        "interactions",
        "web_sessions",
        "link_attempts",
        "link_codes",
        "channel_identities",
        "consents",
        "residents",
        "households",
    ):
        op.drop_table(table)
