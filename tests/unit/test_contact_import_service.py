"""The import use case on in-memory fakes: no database, no files beyond the CSV."""

from __future__ import annotations

from pathlib import Path

from nurture.commands.contact_import import import_contacts
from nurture.domain.scoring import ScoringModel
from nurture.specs.contact_rows import RowDefaults
from tests.conftest import NOW
from tests.support.fakes import FakeUnitOfWork


def test_import_commits_in_chunks_and_scores_fit(
    tmp_path: Path, scoring_model: ScoringModel
) -> None:
    path = tmp_path / "c.csv"
    lines = ["email,role,sector,company_size,country"]
    lines += [f"user{i}@acme.fr,CEO,industry,200,FR" for i in range(4500)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    uow = FakeUnitOfWork()
    report = import_contacts(
        path=path, uow=uow, scoring=scoring_model, defaults=RowDefaults(), now=NOW
    )
    assert report.created == 4500
    assert uow.commits == 3  # 2,000-row chunks, then the rest
    row = uow.contacts.rows[1]
    assert (row["fit"], row["score"], row["temperature"]) == (50, 50, "warm")
    assert row["rules_pending"] is True


def test_progress_is_reported_per_chunk(tmp_path: Path, scoring_model: ScoringModel) -> None:
    path = tmp_path / "c.csv"
    path.write_text("email\n" + "\n".join(f"u{i}@a.fr" for i in range(2500)) + "\n")
    seen: list[int] = []
    import_contacts(
        path=path,
        uow=FakeUnitOfWork(),
        scoring=scoring_model,
        defaults=RowDefaults(),
        now=NOW,
        progress=seen.append,
    )
    assert seen == [2000, 500]
