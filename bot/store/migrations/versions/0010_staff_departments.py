"""Staff work by department: accounts carry a role and department(s), a handoff is queued for a
department and closed with an outcome, every staff action is recorded (notes included), and
callback tickets wait for a department's staff; accounts may sign in with a password (argon2id)
into a server-side session.

Revision ID: 0010_staff_departments
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_staff_departments"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    # an account's role and departments; accounts made before (no row) stay supervisors
    op.create_table(
        "staff_scopes",
        sa.Column("account_id", sa.String(60), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
    )
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("department", sa.String(60), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(20), nullable=True))
    op.create_index("ix_handoffs_department", "handoffs", ["department"])
    # password sign-in (argon2id) and server-side console sessions
    op.create_table(
        "staff_passwords",
        sa.Column("account_id", sa.String(60), primary_key=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", TZ, nullable=True),
        sa.Column("changed_at", TZ, nullable=False),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(60), nullable=False, index=True),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False, index=True),
    )
    op.create_table(
        "staff_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(200), nullable=True, index=True),
        sa.Column("staff_id", sa.String(80), nullable=False, index=True),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("department", sa.String(60), nullable=True),
        sa.Column("text", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TZ, nullable=False, index=True),
    )
    op.create_table(
        "callback_tickets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(200), nullable=True, index=True),
        sa.Column("department", sa.String(60), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(30), nullable=False),
        sa.Column("window", sa.String(60), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="open"),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("closed_by", sa.String(80), nullable=True),
        sa.Column("created_at", TZ, nullable=False, index=True),
        sa.Column("closed_at", TZ, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("callback_tickets")
    op.drop_table("staff_actions")
    op.drop_index("ix_handoffs_department", table_name="handoffs")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("outcome")
        batch.drop_column("department")
    op.drop_table("staff_scopes")
    op.drop_table("staff_sessions")
    op.drop_table("staff_passwords")
