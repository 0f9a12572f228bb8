"""Small data helpers for tests."""

from __future__ import annotations

from pathlib import Path

from nurture.bootstrap import App
from nurture.commands.contact_import import ImportReport, import_contacts

__all__ = ["import_csv"]


def import_csv(app: App, tmp_path: Path, text: str, name: str = "contacts.csv") -> ImportReport:
    """Import CSV ``text`` into ``app``'s database."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    report = import_contacts(
        path=path,
        uow=app.uow(),
        scoring=app.scoring,
        defaults=app.row_defaults,
        now=app.now(),
        erasure=app.known_erasure_keys,
    )
    assert not report.rejected, report.rejected
    return report
