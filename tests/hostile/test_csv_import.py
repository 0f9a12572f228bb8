"""Hostile CSV files: each bad row is rejected with its row number and field, every good
row around it is imported, and a file that cannot be read at all gets one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.hostile.conftest import Cli

HEADER = (
    b"email,first_name,last_name,company,company_size,deal_value,country,phone,timezone,"
    b"language,consent_sms,bant.need\n"
)
GOOD_BEFORE = b"before@ok.fr,Anne,Avant,Acme,50,20000,FR,,,fr,,\n"
GOOD_AFTER = b"after@ok.fr,Paul,Apres,Acme,50,20000,FR,,,fr,,\n"


def _row(**cells: bytes) -> bytes:
    values = {
        "email": b"bad@ok.fr",
        "first_name": b"Bad",
        "last_name": b"Row",
        "company": b"Acme",
        "company_size": b"10",
        "deal_value": b"",
        "country": b"FR",
        "phone": b"",
        "timezone": b"",
        "language": b"fr",
        "consent_sms": b"",
        "bant.need": b"",
    } | cells
    return b",".join(values.values()) + b"\n"


# (case, the bad row, what the rejection must say)
ROW_CASES: list[tuple[str, bytes, str]] = [
    ("email-invalid", _row(email=b"not-an-email"), "email"),
    ("email-markup", _row(email=b"<script>@x.fr"), "email"),
    ("email-huge", _row(email=b"a" * 300 + b"@x.fr"), "email"),
    ("name-markup-rich", _row(first_name=b"[/b] Jean"), "first_name: the cell holds markup"),
    (
        "name-markup-html",
        _row(first_name=b"<script>alert(1)</script>"),
        "first_name: the cell holds markup",
    ),
    ("name-nul", _row(first_name=b"Je\x00an"), "first_name: the cell holds a NUL byte"),
    ("name-control", _row(first_name=b"Je\x07an"), "control characters"),
    ("name-latin-1", _row(first_name="Hélène".encode("latin-1")), "--encoding"),
    ("cell-over-limit", _row(last_name=b"x" * 20_000), "longer than 10,000 characters"),
    ("cell-over-csv-limit", _row(last_name=b"x" * 200_000), "longer than 10,000 characters"),
    ("size-overflow", _row(company_size=b"99999999999999999999"), "company_size"),
    ("size-negative", _row(company_size=b"-5"), "company_size"),
    ("size-superscript", _row(company_size="²".encode()), "company_size"),
    ("size-words", _row(company_size=b"lots"), "company_size"),
    ("deal-infinite", _row(deal_value=b"inf"), "deal_value"),
    ("deal-nan", _row(deal_value=b"nan"), "deal_value"),
    ("deal-huge", _row(deal_value=b"1e300"), "deal_value"),
    ("deal-negative", _row(deal_value=b"-100"), "deal_value"),
    ("country-unknown", _row(country=b"XX"), "country"),
    ("country-markup", _row(country=b"[b]"), "country"),
    ("phone-garbage", _row(phone=b"call me maybe"), "phone"),
    ("phone-too-short", _row(phone=b"+331"), "phone"),
    ("timezone-unknown", _row(timezone=b"Mars/Olympus"), "timezone"),
    ("timezone-path", _row(timezone=b"../../../etc/passwd"), "timezone"),
    ("language-unknown", _row(language=b"klingon"), "language"),
    ("consent-maybe", _row(consent_sms=b"maybe"), "consent_sms"),
    ("no-key", _row(email=b""), "needs an email or an external_id"),
    ("too-many-cells", _row()[:-1] + b",extra\n", "cells"),
    ("too-few-cells", b"short@ok.fr,Only\n", "cells"),
    (
        "duplicate-of-good-row",
        b"before@ok.fr,Anne,Again,Acme,50,,FR,,,fr,,\n",
        "same contact as row 2",
    ),
    ("company-too-long", _row(company=b"c" * 300), "company"),
    ("bant-huge", _row(**{"bant.need": b"n" * 20_000}), "longer than"),
    ("unclosed-quote", b'"unclosed@ok.fr,Anne\n', "row"),
]


def _contacts(tmp_path: Path) -> set[str]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'nurture.db'}")
    with engine.connect() as connection:
        emails = set(connection.execute(sa.text("SELECT email FROM contacts")).scalars())
    engine.dispose()
    return emails


@pytest.mark.parametrize(
    ("row", "reason"), [pytest.param(row, r, id=case) for case, row, r in ROW_CASES]
)
def test_a_bad_row_is_rejected_and_the_good_rows_around_it_are_imported(
    cli: Cli, tmp_path: Path, row: bytes, reason: str
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(HEADER + GOOD_BEFORE + row + GOOD_AFTER)
    outcome = cli("contacts", "import", str(path))
    outcome.assert_clean()
    assert outcome.code == 3, outcome.text
    assert f"{path}:3: rejected:" in outcome.err, outcome.err
    assert reason in outcome.err, outcome.err
    if b"unclosed" not in row:  # an unclosed quote swallows the rest of the file
        assert {"before@ok.fr", "after@ok.fr"} <= _contacts(tmp_path)


FILE_CASES: list[tuple[str, bytes, str]] = [
    ("empty", b"", "file is empty"),
    ("blank-lines", b"\n\n\n", "file is empty"),
    ("binary", b"\x7fELF\x02\x01\x01\x00\x00\x00" * 20, "not a CSV text file"),
    ("latin-1-header", "émail,prénom\n".encode("latin-1"), "--encoding"),
    ("unknown-column", b"email,salary\nx@y.fr,3\n", "unknown column 'salary'"),
    ("duplicate-column", b"email,email\nx@y.fr,y@y.fr\n", "appears twice"),
    ("no-key-column", b"first_name\nAnne\n", "needs an email or an external_id column"),
    ("markup-column", b"email,[/b]\nx@y.fr,1\n", "unknown column"),
]


@pytest.mark.parametrize(
    ("content", "reason"), [pytest.param(c, r, id=case) for case, c, r in FILE_CASES]
)
def test_a_file_that_cannot_be_read_gets_one_clear_error(
    cli: Cli, tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(content)
    outcome = cli("contacts", "import", str(path))
    outcome.assert_clean()
    assert outcome.code == 1, outcome.text
    assert str(path) in outcome.err, outcome.err
    assert reason in outcome.err, outcome.err


def test_a_missing_file_and_a_folder_are_clear_errors(cli: Cli, tmp_path: Path) -> None:
    missing = cli("contacts", "import", str(tmp_path / "nope.csv"))
    missing.assert_clean()
    assert missing.code == 1
    assert "nope.csv" in missing.err
    folder = cli("contacts", "import", str(tmp_path))
    folder.assert_clean()
    assert folder.code == 1
    assert "is a folder" in folder.err


def test_an_unknown_encoding_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(HEADER + GOOD_BEFORE)
    outcome = cli("contacts", "import", str(path), "--encoding", "klingon-8")
    outcome.assert_clean()
    assert outcome.code == 1
    assert "unknown encoding 'klingon-8'" in outcome.err


def test_a_latin_1_file_imports_with_its_encoding(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(HEADER + _row(email=b"helene@ok.fr", first_name="Hélène".encode("latin-1")))
    outcome = cli("contacts", "import", str(path), "--encoding", "latin-1")
    assert outcome.code == 0, outcome.text
    assert "helene@ok.fr" in _contacts(tmp_path)


def test_a_crm_merge_conflict_names_both_contacts(cli: Cli, tmp_path: Path) -> None:
    first = tmp_path / "first.csv"
    first.write_bytes(b"external_id,email\nA,anne@ok.fr\nB,bea@ok.fr\n")
    assert cli("contacts", "import", str(first)).code == 0
    merged = tmp_path / "merged.csv"
    merged.write_bytes(b"external_id,email\nA,bea@ok.fr\nC,carl@ok.fr\n")
    outcome = cli("contacts", "import", str(merged))
    outcome.assert_clean()
    assert outcome.code == 3
    expected = "external_id A is contact 1, but email bea@ok.fr belongs to contact 2"
    assert f"{merged}:2: rejected: {expected}" in outcome.err
    assert "carl@ok.fr" in _contacts(tmp_path)
