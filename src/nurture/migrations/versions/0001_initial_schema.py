"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nurture.adapters.db.tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=200), nullable=True),
        sa.Column("sector", sa.String(length=100), nullable=True),
        sa.Column("company_size", sa.Integer(), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("deal_value", sa.Float(), nullable=True),
        sa.Column("consent_email", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("consent_sms", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("custom", sa.JSON(), nullable=False),
        sa.Column("bant", sa.JSON(), nullable=False),
        sa.Column("stage", sa.String(length=16), server_default="contact", nullable=False),
        sa.Column(
            "stage_changed_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("fit", sa.Float(), server_default="0", nullable=False),
        sa.Column("interest", sa.Float(), server_default="0", nullable=False),
        sa.Column("score", sa.Integer(), server_default="0", nullable=False),
        sa.Column("temperature", sa.String(length=8), server_default="cold", nullable=False),
        sa.Column("deal_band", sa.String(length=8), server_default="medium", nullable=False),
        sa.Column("interest_state", sa.JSON(), nullable=False),
        sa.Column(
            "last_interest_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "scored_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("rules_pending", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("pending_events", sa.JSON(), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("email", name=op.f("uq_contacts_email")),
        sa.UniqueConstraint("external_id", name=op.f("uq_contacts_external_id")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_phone"), ["phone"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_contacts_rules_pending"), ["rules_pending"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_contacts_stage"), ["stage"], unique=False)

    op.create_table(
        "runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("as_of", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "started_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "finished_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dry_run", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column(
            "heartbeat_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    op.create_table(
        "sequence_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sequence_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column(
            "loaded_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sequence_versions")),
        sa.UniqueConstraint(
            "sequence_id", "version", name=op.f("uq_sequence_versions_sequence_id_version")
        ),
    )
    op.create_table(
        "enrollments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sequence_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("exit_reason", sa.String(length=64), nullable=True),
        sa.Column("step_index", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_due_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "enrolled_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_touch_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("ended_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_enrollments_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enrollments_contact", ["contact_id", "status", "next_due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_enrollments_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_enrollments_due", ["status", "next_due_at"], unique=False)
        batch_op.create_index(
            "uq_enrollments_running",
            ["contact_id", "sequence_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('active', 'paused')"),
            postgresql_where=sa.text("status IN ('active', 'paused')"),
        )

    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_event_id", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("touch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("address", sa.String(length=320), nullable=True),
        sa.Column(
            "occurred_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "received_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "applied_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_events_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint(
            "provider", "provider_event_id", name=op.f("uq_events_provider_provider_event_id")
        ),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_events_status_id", ["status", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_touch_id"), ["touch_id"], unique=False)

    op.create_table(
        "journal",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "enrollment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("touch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_journal_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal")),
    )
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journal_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_journal_kind_at", ["kind", "at"], unique=False)

    op.create_table(
        "stage_history",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("from_stage", sa.String(length=16), nullable=False),
        sa.Column("to_stage", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=True),
        sa.Column("at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_stage_history_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_history")),
    )
    with op.batch_alter_table("stage_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stage_history_contact_id"), ["contact_id"], unique=False
        )

    op.create_table(
        "score_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column(
            "occurred_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_score_events_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_score_events_event_id_events"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_events")),
    )
    with op.batch_alter_table("score_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_score_events_contact_id"), ["contact_id"], unique=False
        )

    op.create_table(
        "suppressions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "created_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_suppressions_event_id_events"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint("channel", "address", name=op.f("uq_suppressions_channel_address")),
    )
    op.create_table(
        "touches",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("touch_key", sa.String(length=200), nullable=False),
        sa.Column(
            "enrollment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sequence_id", sa.String(length=100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("step_id", sa.String(length=100), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("due_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "deliver_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "created_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column(
            "claimed_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sent_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=True),
        sa.Column("provider_message_id", sa.String(length=200), nullable=True),
        sa.Column("provider_batch_id", sa.String(length=100), nullable=True),
        sa.Column("address", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_touches_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_touches_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_touches")),
        sa.UniqueConstraint("touch_key", name=op.f("uq_touches_touch_key")),
    )
    with op.batch_alter_table("touches", schema=None) as batch_op:
        batch_op.create_index(
            "ix_touches_contact_deliver", ["contact_id", "deliver_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_touches_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_touches_enrollment", ["enrollment_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_touches_provider_message_id"), ["provider_message_id"], unique=False
        )
        batch_op.create_index("ix_touches_status_deliver", ["status", "deliver_at"], unique=False)

    op.create_table(
        "call_tasks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("touch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("script", sa.Text(), server_default="", nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("due_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "logged_at", nurture.adapters.db.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_call_tasks_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["touch_id"],
            ["touches.id"],
            name=op.f("fk_call_tasks_touch_id_touches"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_tasks")),
        sa.UniqueConstraint("touch_id", name=op.f("uq_call_tasks_touch_id")),
    )
    with op.batch_alter_table("call_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_tasks_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_call_tasks_queue", ["status", "owner", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_call_tasks_queue")
        batch_op.drop_index(batch_op.f("ix_call_tasks_contact_id"))

    op.drop_table("call_tasks")
    with op.batch_alter_table("touches", schema=None) as batch_op:
        batch_op.drop_index("ix_touches_status_deliver")
        batch_op.drop_index(batch_op.f("ix_touches_provider_message_id"))
        batch_op.drop_index("ix_touches_enrollment")
        batch_op.drop_index(batch_op.f("ix_touches_contact_id"))
        batch_op.drop_index("ix_touches_contact_deliver")

    op.drop_table("touches")
    op.drop_table("suppressions")
    with op.batch_alter_table("score_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_score_events_contact_id"))

    op.drop_table("score_events")
    with op.batch_alter_table("stage_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stage_history_contact_id"))

    op.drop_table("stage_history")
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.drop_index("ix_journal_kind_at")
        batch_op.drop_index(batch_op.f("ix_journal_contact_id"))

    op.drop_table("journal")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_touch_id"))
        batch_op.drop_index("ix_events_status_id")
        batch_op.drop_index(batch_op.f("ix_events_contact_id"))

    op.drop_table("events")
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_enrollments_running",
            sqlite_where=sa.text("status IN ('active', 'paused')"),
            postgresql_where=sa.text("status IN ('active', 'paused')"),
        )
        batch_op.drop_index("ix_enrollments_due")
        batch_op.drop_index(batch_op.f("ix_enrollments_contact_id"))
        batch_op.drop_index("ix_enrollments_contact")

    op.drop_table("enrollments")
    op.drop_table("sequence_versions")
    op.drop_table("runs")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_stage"))
        batch_op.drop_index(batch_op.f("ix_contacts_rules_pending"))
        batch_op.drop_index(batch_op.f("ix_contacts_phone"))
        batch_op.drop_index(batch_op.f("ix_contacts_owner"))

    op.drop_table("contacts")
