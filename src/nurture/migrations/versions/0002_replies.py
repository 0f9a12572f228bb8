"""replies: the Message-ID of each email, and pauses of enrollments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nurture.adapters.db.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_MOMENT = nurture.adapters.db.tables.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("touches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_id", sa.String(length=250), nullable=True))
        batch_op.create_index(batch_op.f("ix_touches_message_id"), ["message_id"], unique=False)
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_at", _MOMENT, nullable=True))
        batch_op.add_column(sa.Column("paused_until", _MOMENT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_column("paused_until")
        batch_op.drop_column("paused_at")
    with op.batch_alter_table("touches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_touches_message_id"))
        batch_op.drop_column("message_id")
