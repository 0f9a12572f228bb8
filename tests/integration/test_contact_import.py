from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nurture.adapters.db.tables import contacts
from nurture.adapters.db.uow import SqlUnitOfWork
from nurture.commands.contact_import import ImportReport, import_contacts
from nurture.domain.contacts import Stage
from nurture.domain.lifecycle import change_stage
from nurture.domain.scoring import ScoringModel
from nurture.specs.contact_rows import RowDefaults
from tests.conftest import NOW

HEADER = (
    "external_id,email,first_name,company,role,sector,company_size,country,phone,deal_value,"
    "bant.need\n"
)
ROWS = [
    "crm-1,Jean.Dupont@acme.fr,Jean,Acme Industrie,DSI,industry,250,FR,06 12 34 56 78,25000,",
    "crm-2,alice@globex.com,Alice,Globex,CTO,software,80,US,+1 212 555 0100,80000,SOC",
    "crm-3,broken-email,Bob,,,,,,,,",
    "crm-4,zoe@tiny.fr,Zoé,Tiny,Stagiaire,retail,5,FR,,,",
]


def run(engine: Engine, path: Path, scoring: ScoringModel) -> ImportReport:
    return import_contacts(
        path=path, uow=SqlUnitOfWork(engine), scoring=scoring, defaults=RowDefaults(), now=NOW
    )


def write(tmp_path: Path, rows: list[str], name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def stored(engine: Engine) -> dict[str, dict[str, object]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(contacts)).mappings()
        return {row["external_id"]: dict(row) for row in rows}


def test_import_stores_valid_rows_and_reports_the_others(
    engine: Engine, tmp_path: Path, scoring_model: ScoringModel
) -> None:
    report = run(engine, write(tmp_path, ROWS), scoring_model)
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    assert [(r.row, r.reason.split(":")[0]) for r in report.rejected] == [
        (4, "email 'broken-email' is not valid")
    ]
    rows = stored(engine)
    assert set(rows) == {"crm-1", "crm-2", "crm-4"}
    jean = rows["crm-1"]
    assert jean["email"] == "jean.dupont@acme.fr"
    assert jean["phone"] == "+33612345678"
    assert jean["fit"] == 50  # sector + size + decision role + core market, capped
    assert jean["temperature"] == "warm"
    assert jean["deal_band"] == "medium"
    assert rows["crm-2"]["timezone"] == "America/New_York"
    assert rows["crm-2"]["bant"] == {"need": "SOC"}
    assert rows["crm-4"]["fit"] == 0  # micro company, intern


def test_a_second_import_of_the_same_file_changes_nothing(
    engine: Engine, tmp_path: Path, scoring_model: ScoringModel
) -> None:
    path = write(tmp_path, ROWS)
    run(engine, path, scoring_model)
    before = stored(engine)
    again = run(engine, path, scoring_model)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert stored(engine) == before


def test_upsert_matches_on_external_id_then_email(
    engine: Engine, tmp_path: Path, scoring_model: ScoringModel
) -> None:
    run(engine, write(tmp_path, ROWS), scoring_model)
    changed = [
        # Jean changed address: matched by external id.
        "crm-1,jean@acme-group.fr,Jean,Acme Group,DSI,industry,1500,FR,06 12 34 56 78,90000,",
        # No external id: matched by email, external id attached.
        ",alice@globex.com,Alice,Globex,CTO,software,80,US,+1 212 555 0100,80000,",
    ]
    report = run(engine, write(tmp_path, changed, "changes.csv"), scoring_model)
    assert (report.created, report.updated) == (0, 2)
    rows = stored(engine)
    assert rows["crm-1"]["email"] == "jean@acme-group.fr"
    assert rows["crm-1"]["deal_band"] == "large"
    assert rows["crm-1"]["fit"] == 35  # 1500 employees leaves the sweet spot
    assert rows["crm-2"]["bant"] == {"need": "SOC"}  # facts the file leaves empty are kept
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(contacts)).scalar() == 3


def test_duplicates_inside_one_file_are_rejected_not_merged(
    engine: Engine, tmp_path: Path, scoring_model: ScoringModel
) -> None:
    rows = [ROWS[0], "crm-9,JEAN.DUPONT@acme.fr,Jean bis,,,,,,,,"]
    report = run(engine, write(tmp_path, rows), scoring_model)
    assert report.created == 1
    assert [(r.row, r.reason) for r in report.rejected] == [(3, "same contact as row 2 (email)")]


def test_repository_finds_contacts_by_id_email_or_external_id(
    engine: Engine, tmp_path: Path, scoring_model: ScoringModel
) -> None:
    run(engine, write(tmp_path, ROWS), scoring_model)
    with SqlUnitOfWork(engine) as uow:
        by_ext = uow.contacts.get("crm-2")
        assert by_ext is not None
        assert by_ext.id is not None
        by_id = uow.contacts.get(str(by_ext.id))
        by_email = uow.contacts.get("ALICE@globex.com")
        assert by_id == by_ext == by_email
        assert uow.contacts.get("nobody@nowhere.fr") is None


def test_stage_changes_are_recorded_with_their_reason(
    engine: Engine, tmp_path: Path, scoring_model: ScoringModel
) -> None:
    run(engine, write(tmp_path, ROWS), scoring_model)
    with SqlUnitOfWork(engine) as uow:
        contact = uow.contacts.get("crm-1")
        assert contact is not None
        assert contact.id is not None
        change = change_stage(Stage.CONTACT, Stage.LEAD, reason="downloaded the guide", at=NOW)
        uow.contacts.add_stage_changes(contact.id, [change])
        uow.commit()
    with SqlUnitOfWork(engine) as uow:
        contact = uow.contacts.get("crm-1")
        assert contact is not None
        assert contact.id is not None
        assert contact.stage == Stage.LEAD
        [history] = uow.contacts.stage_history(contact.id)
        assert (history.from_stage, history.to_stage, history.reason) == (
            "contact",
            "lead",
            "downloaded the guide",
        )
        assert history.at == NOW


def test_empty_cells_and_defaults_never_erase_stored_values(
    engine: Engine, tmp_path: Path, scoring_model: ScoringModel
) -> None:
    first = tmp_path / "first.csv"
    first.write_text(
        "email,company,timezone,language,consent_sms,custom.source\n"
        "jean@acme.fr,Acme,America/Montreal,en,yes,salon\n",
        encoding="utf-8",
    )
    second = tmp_path / "second.csv"
    second.write_text("email,company,custom.segment\njean@acme.fr,,pme\n", encoding="utf-8")
    run(engine, first, scoring_model)
    report = run(engine, second, scoring_model)
    assert report.updated == 1
    with engine.connect() as connection:
        row = connection.execute(sa.select(contacts)).mappings().one()
    assert row["company"] == "Acme"
    assert row["timezone"] == "America/Montreal"
    assert row["language"] == "en"
    assert row["consent_sms"] is True
    assert row["custom"] == {"source": "salon", "segment": "pme"}
