"""Alembic environment: migrations run on the connection nurture hands over."""

from __future__ import annotations

from alembic import context

from nurture.adapters.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - nurture always passes a connection
    raise RuntimeError("run migrations with `nurture db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
