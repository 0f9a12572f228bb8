"""privacy: the lawful basis of each channel, the source of a record, erasure, the
consent history and the append-only audit trail

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nurture.adapters.db.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_MOMENT = nurture.adapters.db.tables.UtcDateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_REFUSE = "the audit trail is append-only"


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("basis_email", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("basis_sms", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("forgotten_at", _MOMENT, nullable=True))
        batch_op.create_index(batch_op.f("ix_contacts_forgotten_at"), ["forgotten_at"])
    # Contacts stored before had a yes or no per channel: a yes by email was the legitimate
    # interest every contact got by default, a yes by SMS a consent.
    contacts = sa.table(
        "contacts",
        sa.column("consent_email", sa.Boolean),
        sa.column("consent_sms", sa.Boolean),
        sa.column("basis_email"),
        sa.column("basis_sms"),
    )
    email = sa.case((contacts.c.consent_email, "legitimate_interest"), else_="none")
    sms = sa.case((contacts.c.consent_sms, "consent"), else_="none")
    op.execute(contacts.update().values(basis_email=email, basis_sms=sms))
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor", sa.String(length=200), nullable=True))
    op.create_table(
        "consent_history",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("contact_id", _ID, nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("basis", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("given_at", _MOMENT, nullable=False),
        sa.Column("recorded_at", _MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_consent_history_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_history")),
    )
    op.create_index(
        op.f("ix_consent_history_contact_id"), "consent_history", ["contact_id"], unique=False
    )
    op.create_table(
        "audit_trail",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("contact_id", _ID, nullable=True),
        sa.Column("at", _MOMENT, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_trail")),
    )
    op.create_index(op.f("ix_audit_trail_contact_id"), "audit_trail", ["contact_id"], unique=False)
    _append_only()


def _append_only() -> None:
    """Refuse UPDATE and DELETE on the audit trail, in the database itself."""
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_trail_no_{action.lower()} BEFORE {action} ON audit_trail "
                f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_trail_refuse() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{_REFUSE}'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_trail_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON audit_trail FOR EACH STATEMENT EXECUTE FUNCTION audit_trail_refuse()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER audit_trail_append_only ON audit_trail")
        op.execute("DROP FUNCTION audit_trail_refuse()")
    op.drop_index(op.f("ix_audit_trail_contact_id"), table_name="audit_trail")
    op.drop_table("audit_trail")
    op.drop_index(op.f("ix_consent_history_contact_id"), table_name="consent_history")
    op.drop_table("consent_history")
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.drop_column("actor")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_forgotten_at"))
        batch_op.drop_column("forgotten_at")
        batch_op.drop_column("source")
        batch_op.drop_column("basis_sms")
        batch_op.drop_column("basis_email")
