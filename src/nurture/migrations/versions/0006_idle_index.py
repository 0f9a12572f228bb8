"""idle index: contacts by the date of their last interest (or creation), for retention

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_contacts_idle_since",
        "contacts",
        [sa.text("coalesce(last_interest_at, created_at)")],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_idle_since", table_name="contacts")
