"""due index: the contact of each due step, read from the index alone

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_enrollments_due", table_name="enrollments")
    op.create_index("ix_enrollments_due", "enrollments", ["status", "next_due_at", "contact_id"])


def downgrade() -> None:
    op.drop_index("ix_enrollments_due", table_name="enrollments")
    op.create_index("ix_enrollments_due", "enrollments", ["status", "next_due_at"])
