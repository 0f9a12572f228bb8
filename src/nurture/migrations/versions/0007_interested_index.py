"""interested index: the contacts with some interest, whose interest fades each day

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_contacts_interested",
        "contacts",
        ["id"],
        unique=False,
        sqlite_where=sa.text("interest > 0"),
        postgresql_where=sa.text("interest > 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_interested", table_name="contacts")
