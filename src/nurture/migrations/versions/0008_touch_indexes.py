"""touch indexes: the claim's order, message ids once sent, no index a longer one covers

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_SCHEDULED = "status = 'scheduled'"
_SENT_IDS = ("provider_message_id", "message_id")


def upgrade() -> None:
    # ix_touches_contact_deliver and ix_enrollments_contact start with contact_id.
    op.drop_index("ix_touches_contact_id", table_name="touches")
    op.drop_index("ix_enrollments_contact_id", table_name="enrollments")
    for name in _SENT_IDS:
        op.drop_index(f"ix_touches_{name}", table_name="touches")
        op.create_index(
            f"ix_touches_{name}",
            "touches",
            [name],
            sqlite_where=sa.text(f"{name} IS NOT NULL"),
            postgresql_where=sa.text(f"{name} IS NOT NULL"),
        )
    op.create_index(
        "ix_touches_claim",
        "touches",
        [sa.text("priority DESC"), "deliver_at", "id"],
        sqlite_where=sa.text(_SCHEDULED),
        postgresql_where=sa.text(_SCHEDULED),
    )


def downgrade() -> None:
    op.drop_index("ix_touches_claim", table_name="touches")
    for name in _SENT_IDS:
        op.drop_index(f"ix_touches_{name}", table_name="touches")
        op.create_index(f"ix_touches_{name}", "touches", [name])
    op.create_index("ix_enrollments_contact_id", "enrollments", ["contact_id"])
    op.create_index("ix_touches_contact_id", "touches", ["contact_id"])
