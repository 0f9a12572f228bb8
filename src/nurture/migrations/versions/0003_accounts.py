"""accounts: a contact's account id from the CRM, and the account key colleagues share

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from nurture.domain.accounts import account_key

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("account", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_contacts_account"), ["account"], unique=False)
    # Contacts already stored belong to the account of their email domain.
    connection = op.get_bind()
    contacts = sa.table(
        "contacts", sa.column("id", sa.BigInteger), sa.column("email"), sa.column("account")
    )
    last = 0
    while True:
        rows = connection.execute(
            sa.select(contacts.c.id, contacts.c.email)
            .where(contacts.c.id > last)
            .order_by(contacts.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        keyed = [{"_id": i, "account": account_key(None, e)} for i, e in rows]
        keyed = [k for k in keyed if k["account"] is not None]
        if keyed:
            connection.execute(
                contacts.update().where(contacts.c.id == sa.bindparam("_id")),
                keyed,
            )
        last = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_account"))
        batch_op.drop_column("account")
        batch_op.drop_column("account_id")
