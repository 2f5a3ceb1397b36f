"""LINE pending events claimed by one processor at a time (a lease), so that two processes that
could take the same stored event (several workers, each with a processing child, and the resume at
start) never both process it: `claimed_by` names the claiming process, `lease_until` ends the claim
of one that died.

Revision ID: 0018_line_claims
Revises: 0004_line
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_line_claims"
down_revision = "0004_line"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("line_pending_events") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(80), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("line_pending_events") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
