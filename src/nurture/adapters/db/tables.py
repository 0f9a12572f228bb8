"""The database schema (SQLAlchemy Core). Alembic migrations are checked against it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = [
    "SCHEDULED",
    "UtcDateTime",
    "audit_trail",
    "call_tasks",
    "consent_history",
    "contacts",
    "enrollments",
    "events",
    "journal",
    "metadata",
    "runs",
    "score_events",
    "sequence_versions",
    "stage_history",
    "suppressions",
    "touches",
]

_NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = sa.MetaData(naming_convention=_NAMING)


class Status(sa.types.TypeDecorator[str]):
    """A status column: enum members (``TouchStatus.SENT``) are stored as their value on
    every driver (psycopg would otherwise write a plain ``Enum``'s name)."""

    impl = sa.String(16)
    cache_ok = True

    def process_bind_param(self, value: object, dialect: Dialect) -> str | None:  # noqa: ARG002
        if value is None:
            return None
        return value.value if isinstance(value, Enum) else str(value)


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: nurture stores aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        last: tuple[datetime | None, str | None] = (None, None)

        def process(value: datetime | None) -> str | None:
            # Straight to SQLite's DATETIME text (SQLAlchemy's storage format): a run binds
            # hundreds of thousands of these, and two chained processors cost twice. Most
            # are the same moment (the run's now, an event's time), so the last one is
            # remembered: one tuple, replaced whole, so threads never see half of it.
            nonlocal last
            if value is None:
                return None
            given, text = last
            if value is given:
                return text
            if value.tzinfo is None:
                raise ValueError(f"naive datetime {value!r}: nurture stores aware datetimes only")
            utc = value if value.tzinfo is UTC else value.astimezone(UTC)
            text = utc.replace(tzinfo=None).isoformat(" ")
            text = text if utc.microsecond else text + ".000000"
            last = (value, text)
            return text

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype)
        assert parse is not None  # SQLite keeps datetimes as text

        last: tuple[Any, datetime | None] = (None, None)

        def process(value: Any) -> datetime | None:
            # SQLite's text, parsed as SQLAlchemy would, then marked UTC in one step: a
            # run reads hundreds of thousands, and the chained processors cost twice. A
            # column often repeats one moment row after row (the run's now in a batch's
            # claimed_at and created_at): the last one is remembered, as when binding.
            nonlocal last
            if value is None:
                return None
            text, moment = last
            if value == text:
                return moment
            parsed: datetime = parse(value)  # type: ignore[assignment]
            moment = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
            last = (value, moment)
            return moment

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column[int]:
    return sa.Column("id", _Id, primary_key=True, autoincrement=True)


def _contact_fk(*, nullable: bool = False, index: bool = True) -> sa.Column[int]:
    """``contact_id``; ``index=False`` where another index starts with it already (each
    index costs every insert, and every update that moves an indexed column)."""
    return sa.Column(
        "contact_id",
        _Id,
        sa.ForeignKey("contacts.id", ondelete="CASCADE"),
        nullable=nullable,
        index=index,
    )


contacts = sa.Table(
    "contacts",
    metadata,
    _id(),
    sa.Column("external_id", sa.String(128), unique=True),
    sa.Column("email", sa.String(320), unique=True),
    sa.Column("phone", sa.String(32), index=True),
    sa.Column("first_name", sa.String(100)),
    sa.Column("last_name", sa.String(100)),
    sa.Column("company", sa.String(200)),
    sa.Column("account_id", sa.String(128)),
    # The account key (domain/accounts.py): colleagues share it.
    sa.Column("account", sa.String(200), index=True),
    sa.Column("role", sa.String(200)),
    sa.Column("sector", sa.String(100)),
    sa.Column("company_size", sa.Integer),
    sa.Column("country", sa.String(2)),
    sa.Column("timezone", sa.String(64)),
    sa.Column("language", sa.String(8)),
    sa.Column("owner", sa.String(200), index=True),
    sa.Column("deal_value", sa.Float),
    sa.Column("consent_email", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("consent_sms", sa.Boolean, nullable=False, server_default=sa.false()),
    # The lawful basis of each channel (domain/privacy.py); consent_* say whether it allows.
    sa.Column("basis_email", sa.String(24)),
    sa.Column("basis_sms", sa.String(24)),
    # Where the record came from: an import file, a form, an event.
    sa.Column("source", sa.String(200)),
    # Set when the person was forgotten: what is left is anonymous.
    sa.Column("forgotten_at", UtcDateTime, index=True),
    sa.Column("custom", sa.JSON, nullable=False, default=dict),
    sa.Column("bant", sa.JSON, nullable=False, default=dict),
    sa.Column("stage", sa.String(16), nullable=False, server_default="contact"),
    sa.Column("stage_changed_at", UtcDateTime),
    sa.Column("fit", sa.Float, nullable=False, server_default="0"),
    sa.Column("interest", sa.Float, nullable=False, server_default="0"),
    sa.Column("score", sa.Integer, nullable=False, server_default="0"),
    sa.Column("temperature", sa.String(8), nullable=False, server_default="cold"),
    sa.Column("deal_band", sa.String(8), nullable=False, server_default="medium"),
    sa.Column("interest_state", sa.JSON, nullable=False, default=dict),
    sa.Column("last_interest_at", UtcDateTime),
    sa.Column("scored_at", UtcDateTime),
    # Inputs changed (import, event, rep): the stage rules must look at it again.
    sa.Column("rules_pending", sa.Boolean, nullable=False, server_default=sa.false(), index=True),
    # Event types seen since the stage rules last ran (a first click makes a lead).
    sa.Column("pending_events", sa.JSON, nullable=False, default=list),
    sa.Column("row_hash", sa.String(64)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # Stage queries, and the funnel's count by stage and temperature from the index alone
    # (0.78 s to 0.06 s over 1,000,000 contacts on SQLite).
    sa.Index("ix_contacts_stage_temperature", "stage", "temperature"),
)

# Retention asks who has been idle since before a date: from this index, a base where
# nobody has is answered without reading every contact (0.3 s over 1,000,000).
IDLE_SINCE = sa.func.coalesce(contacts.c.last_interest_at, contacts.c.created_at)
sa.Index("ix_contacts_idle_since", IDLE_SINCE)

# Interest fades: the daily run re-scores the contacts that have some. From this index it
# reads only those (every contact was read: 0.35 s over 1,000,000 with nobody interested).
# A query must use INTERESTED itself: a partial index serves a query whose terms imply its own.
INTERESTED = sa.text("interest > 0")
sa.Index(
    "ix_contacts_interested",
    contacts.c.id,
    sqlite_where=INTERESTED,
    postgresql_where=INTERESTED,
)

stage_history = sa.Table(
    "stage_history",
    metadata,
    _id(),
    _contact_fk(),
    sa.Column("from_stage", sa.String(16), nullable=False),
    sa.Column("to_stage", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("event", sa.String(32)),
    sa.Column("at", UtcDateTime, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    _id(),
    sa.Column("provider", sa.String(16), nullable=False),
    sa.Column("provider_event_id", sa.String(200), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    _contact_fk(nullable=True),
    sa.Column("touch_id", _Id, index=True),
    sa.Column("address", sa.String(320)),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False, default=dict),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("error", sa.Text),
    sa.Column("applied_at", UtcDateTime),
    sa.UniqueConstraint("provider", "provider_event_id"),
    sa.Index("ix_events_status_id", "status", "id"),
)

score_events = sa.Table(
    "score_events",
    metadata,
    _id(),
    _contact_fk(),
    sa.Column("event_id", _Id, sa.ForeignKey("events.id", ondelete="SET NULL")),
    sa.Column("event_type", sa.String(32), nullable=False),
    sa.Column("points", sa.Float, nullable=False),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
)

sequence_versions = sa.Table(
    "sequence_versions",
    metadata,
    _id(),
    sa.Column("sequence_id", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("checksum", sa.String(64), nullable=False),
    sa.Column("loaded_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("sequence_id", "version"),
)

enrollments = sa.Table(
    "enrollments",
    metadata,
    _id(),
    _contact_fk(index=False),  # ix_enrollments_contact starts with it
    sa.Column("sequence_id", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("exit_reason", sa.String(64)),
    sa.Column("step_index", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_due_at", UtcDateTime),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("enrolled_at", UtcDateTime, nullable=False),
    sa.Column("last_touch_at", UtcDateTime),
    sa.Column("ended_at", UtcDateTime),
    sa.Column("reason", sa.Text),
    # A pause (out of office, a rep's hand): since when, and until when when it ends alone.
    sa.Column("paused_at", UtcDateTime),
    sa.Column("paused_until", UtcDateTime),
    # The due set, and whose it is: the planners read the contacts of every step due from
    # the index alone (0.20 -> 0.03 s at 1M contacts, a table lookup per row before).
    sa.Index("ix_enrollments_due", "status", "next_due_at", "contact_id"),
    # A chunk of contacts' due steps: without it SQLite walks the whole due index per chunk.
    sa.Index("ix_enrollments_contact", "contact_id", "status", "next_due_at"),
    # One running enrollment per contact and sequence; finished ones are history.
    sa.Index(
        "uq_enrollments_running",
        "contact_id",
        "sequence_id",
        unique=True,
        sqlite_where=sa.text("status IN ('active', 'paused')"),
        postgresql_where=sa.text("status IN ('active', 'paused')"),
    ),
)

touches = sa.Table(
    "touches",
    metadata,
    _id(),
    sa.Column("touch_key", sa.String(200), nullable=False, unique=True),
    sa.Column("enrollment_id", _Id, sa.ForeignKey("enrollments.id", ondelete="CASCADE")),
    _contact_fk(index=False),  # ix_touches_contact_deliver starts with it
    sa.Column("sequence_id", sa.String(100)),
    sa.Column("version", sa.Integer),
    sa.Column("step_id", sa.String(100), nullable=False),
    sa.Column("step_index", sa.Integer),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("status", Status, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
    sa.Column("due_at", UtcDateTime, nullable=False),
    sa.Column("deliver_at", UtcDateTime, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("claimed_by", sa.String(64)),
    sa.Column("claimed_at", UtcDateTime),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sent_at", UtcDateTime),
    sa.Column("provider", sa.String(16)),
    sa.Column("provider_message_id", sa.String(200)),
    sa.Column("provider_batch_id", sa.String(100)),
    sa.Column("address", sa.String(320)),
    sa.Column("subject", sa.Text),
    # sha256 of the rendered message: reconciliation matches it against the provider's copy.
    sa.Column("content_hash", sa.String(64)),
    # Why it was skipped, cancelled or failed (the provider's words for a refusal).
    sa.Column("reason", sa.Text),
    sa.Column("run_id", sa.String(64)),
    # The Message-ID nurture gave the email: a reply names it in In-Reply-To/References.
    sa.Column("message_id", sa.String(250)),
    sa.Index("ix_touches_status_deliver", "status", "deliver_at"),
    sa.Index("ix_touches_contact_deliver", "contact_id", "deliver_at"),
    sa.Index("ix_touches_enrollment", "enrollment_id"),
    # The provider's and nurture's message ids exist once a touch is sent: a touch planned
    # or claimed adds nothing to these indexes (a lookup by id implies NOT NULL).
    *(
        sa.Index(
            f"ix_touches_{name}",
            name,
            sqlite_where=sa.text(f"{name} IS NOT NULL"),
            postgresql_where=sa.text(f"{name} IS NOT NULL"),
        )
        for name in ("provider_message_id", "message_id")
    ),
)

#: The claim names the status as this literal: a partial index serves a query whose
#: terms imply its own, and a bound parameter proves nothing to SQLite's planner.
SCHEDULED = sa.text("status = 'scheduled'")

# The claim's order among the touches waiting: a claim reads the batch it takes, not every
# touch due (a sort of all of them per batch). A touch leaves this index once claimed.
sa.Index(
    "ix_touches_claim",
    touches.c.priority.desc(),
    touches.c.deliver_at,
    touches.c.id,
    sqlite_where=SCHEDULED,
    postgresql_where=SCHEDULED,
)

call_tasks = sa.Table(
    "call_tasks",
    metadata,
    _id(),
    sa.Column("touch_id", _Id, sa.ForeignKey("touches.id", ondelete="SET NULL"), unique=True),
    _contact_fk(),
    sa.Column("owner", sa.String(200)),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("script", sa.Text, nullable=False, server_default=""),
    sa.Column("context", sa.JSON, nullable=False, default=dict),
    sa.Column("due_at", UtcDateTime, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("outcome", sa.String(32)),
    sa.Column("note", sa.Text),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("logged_at", UtcDateTime),
    sa.Index("ix_call_tasks_queue", "status", "owner", "due_at"),
)

suppressions = sa.Table(
    "suppressions",
    metadata,
    _id(),
    sa.Column("channel", sa.String(8), nullable=False),
    sa.Column("address", sa.String(320), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("event_id", _Id, sa.ForeignKey("events.id", ondelete="SET NULL")),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("channel", "address"),
)

journal = sa.Table(
    "journal",
    metadata,
    _id(),
    _contact_fk(nullable=True),
    sa.Column("enrollment_id", _Id),
    sa.Column("touch_id", _Id),
    sa.Column("run_id", sa.String(64)),
    sa.Column("actor", sa.String(200)),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Index("ix_journal_kind_at", "kind", "at"),
)

consent_history = sa.Table(
    "consent_history",
    metadata,
    _id(),
    _contact_fk(),
    sa.Column("channel", sa.String(8), nullable=False),
    sa.Column("basis", sa.String(24), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    # When the person gave it (the CSV's date), and when nurture recorded it.
    sa.Column("given_at", UtcDateTime, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
)

# Who or what changed a contact's consent, stage, suppression, BANT or enrollments.
# Append-only: triggers (migration 0004) refuse UPDATE and DELETE. No foreign key, so that
# no cascade can remove a line; it holds ids, names of states and reasons, no personal data.
audit_trail = sa.Table(
    "audit_trail",
    metadata,
    _id(),
    sa.Column("contact_id", _Id, index=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(16), nullable=False),
    sa.Column("change", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("as_of", UtcDateTime, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("dry_run", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("summary", sa.JSON, nullable=False, default=dict),
    # Who runs it, so that another run can tell a crashed run from a live one.
    sa.Column("hostname", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("heartbeat_at", UtcDateTime),
)
