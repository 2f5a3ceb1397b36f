"""Personal staff accounts for the console: a login id, a display name and the SHA-256 of the
account's token (never the token itself); disabling an account stops its token at once.

Revision ID: 0005_staff_accounts
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_staff_accounts"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.String(60), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("disabled_at", TZ, nullable=True),
    )
    op.create_index("ix_staff_accounts_token_hash", "staff_accounts", ["token_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_staff_accounts_token_hash", table_name="staff_accounts")
    op.drop_table("staff_accounts")
