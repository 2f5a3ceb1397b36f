"""通報: reports, their history (status changes and notes) and photo uploads waiting for a report.

Revision ID: 0011_reports
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_reports"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="received"),
        sa.Column("address", sa.String(200), nullable=True),
        sa.Column("town", sa.String(60), nullable=True),
        sa.Column("latitude", sa.Float, nullable=True),
        sa.Column("longitude", sa.Float, nullable=True),
        sa.Column("place_source", sa.String(20), nullable=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("photo", sa.String(80), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.UniqueConstraint("number", name="uq_reports_number"),
    )
    for column in ("category", "department", "status", "conversation_id", "created_at"):
        op.create_index(f"ix_reports_{column}", "reports", [column])
    op.create_table(
        "report_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=True),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("staff_id", sa.String(80), nullable=True),
        sa.Column("at", TZ, nullable=False),
    )
    op.create_index("ix_report_events_report_id", "report_events", ["report_id"])
    op.create_table(
        "report_uploads",
        sa.Column("ref", sa.String(40), primary_key=True),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("file_name", sa.String(80), nullable=False),
        sa.Column("report_id", sa.Integer, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_report_uploads_conversation_id", "report_uploads", ["conversation_id"])
    op.create_index("ix_report_uploads_created_at", "report_uploads", ["created_at"])


def downgrade() -> None:
    op.drop_table("report_uploads")
    op.drop_table("report_events")
    op.drop_table("reports")
