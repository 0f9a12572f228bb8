"""funnel index: contacts by stage and temperature, read from the index alone

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_stage"))
        batch_op.create_index(
            "ix_contacts_stage_temperature", ["stage", "temperature"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_stage_temperature")
        batch_op.create_index(batch_op.f("ix_contacts_stage"), ["stage"], unique=False)
