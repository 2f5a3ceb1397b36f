"""Reservations made in chat (粗大ごみ, 一時預かり, 施設予約, 介護の相談) and their number counters.

Revision ID: 0002_reservations
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_reservations"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="confirmed"),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("resident_id", sa.String(64), nullable=True),
        sa.Column("resource", sa.String(80), nullable=False),
        sa.Column("service_date", sa.Date, nullable=False),
        sa.Column("start_time", sa.String(5), nullable=True),
        sa.Column("end_time", sa.String(5), nullable=True),
        sa.Column("quantity", sa.Integer, nullable=False, server_default="1"),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("cancelled_at", TZ, nullable=True),
        sa.UniqueConstraint("number", name="uq_reservations_number"),
    )
    op.create_index("ix_reservations_kind", "reservations", ["kind"])
    op.create_index("ix_reservations_conversation_id", "reservations", ["conversation_id"])
    op.create_index("ix_reservations_resident_id", "reservations", ["resident_id"])
    op.create_index("ix_reservations_service_date", "reservations", ["service_date"])
    op.create_table(
        "reservation_counters",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("reservation_counters")
    op.drop_table("reservations")
