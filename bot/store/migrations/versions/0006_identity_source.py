"""Where a link attempt came from: the HMAC of the code value tried and of the client address, so
attempts are limited per identity, per code value and per address (never globally).

How a link was made (`channel_identities.linked_by`: import | code) is already recorded by
0003_residents; the resolver now honours imported web links only in demo mode. Link codes are
now stored as HMAC-SHA256 with the server secret: codes issued before this upgrade (SHA-256,
valid for 30 minutes) no longer match and staff issue new ones.

Revision ID: 0006_identity_source
Revises: 0003_residents
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_identity_source"
down_revision = "0003_residents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("link_attempts") as batch:
        batch.add_column(sa.Column("code_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("address_key", sa.String(64), nullable=True))
    op.create_index("ix_link_attempts_code_key_at", "link_attempts", ["code_key", "at"])
    op.create_index("ix_link_attempts_address_key_at", "link_attempts", ["address_key", "at"])


def downgrade() -> None:
    op.drop_index("ix_link_attempts_address_key_at", table_name="link_attempts")
    op.drop_index("ix_link_attempts_code_key_at", table_name="link_attempts")
    with op.batch_alter_table("link_attempts") as batch:
        batch.drop_column("address_key")
        batch.drop_column("code_key")
