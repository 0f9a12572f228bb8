from __future__ import annotations

import io

import pytest

from nurture.errors import InputError, RowError
from nurture.specs.contact_rows import ContactRow, RowDefaults, read_contact_rows

DEFAULTS = RowDefaults(region="FR", timezone="Europe/Paris", language="fr")


def read(text: str) -> list[ContactRow | RowError]:
    return list(read_contact_rows(io.StringIO(text), file="c.csv", defaults=DEFAULTS))


def only(text: str) -> ContactRow:
    [row] = read(text)
    assert isinstance(row, ContactRow), row
    return row


def test_emails_are_lower_cased_and_phones_written_in_e164() -> None:
    row = only("email,phone,country\n  Jean.Dupont@Exemple.FR ,06 12 34 56 78,fr\n")
    assert row.values["email"] == "jean.dupont@exemple.fr"
    assert row.values["phone"] == "+33612345678"
    assert row.values["country"] == "FR"


def test_a_local_number_is_read_in_the_contacts_country() -> None:
    row = only("email,phone,country\na@b.be,0470 12 34 56,BE\n")
    assert row.values["phone"] == "+32470123456"


def test_time_zone_is_inferred_only_when_there_is_one_candidate() -> None:
    assert only("email,country\na@b.fr,FR\n").inferred["timezone"] == "Europe/Paris"
    # The US has many zones; a New York number settles it.
    assert (
        only("email,country,phone\na@b.com,US,+1 212 555 0100\n").inferred["timezone"]
        == "America/New_York"
    )
    assert only("email,country\na@b.com,US\n").inferred["timezone"] == "Europe/Paris"  # default
    given = only("email,timezone\na@b.jp,Asia/Tokyo\n")
    assert given.values["timezone"] == "Asia/Tokyo"
    assert "timezone" not in given.inferred


def test_empty_cells_are_not_values() -> None:
    row = only("email,language,consent_sms,consent_email,company\na@b.fr,,,,\n")
    assert row.values["language"] is None
    assert row.values["basis_sms"] is None
    assert row.values["company"] is None
    assert row.inferred == {
        "timezone": "Europe/Paris",
        "language": "fr",
        "basis_email": "legitimate_interest",  # a professional address
        "basis_sms": "none",  # an SMS needs recorded consent
    }


def test_language_amounts_sizes_and_flags() -> None:
    row = only(
        "email,language,deal_value,company_size,consent_sms,consent_email\n"
        'a@b.ca,fr-CA,"25 000 €",1 200,oui,non\n'
    )
    assert row.values["language"] == "fr"
    assert row.values["deal_value"] == 25000.0
    assert row.values["company_size"] == 1200
    assert row.values["basis_sms"] == "consent"
    assert row.values["basis_email"] == "none"
    assert only('email,deal_value\na@b.fr,"12,5"\n').values["deal_value"] == 12.5


def test_custom_and_bant_columns() -> None:
    row = only("email,custom.source,bant.need,bant.budget\na@b.fr,salon,SOC 24/7,\n")
    assert row.custom == {"source": "salon"}
    assert row.bant == {"need": "SOC 24/7"}


def test_semicolon_separated_files_from_french_spreadsheets() -> None:
    row = only("email;first_name;company\na@b.fr;Zoé;Société Générale de Test\n")
    assert row.values["first_name"] == "Zoé"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not-an-email,,,,", "email 'not-an-email' is not valid"),
        ("a@b.fr,123,,,", "phone '123'"),
        ("a@b.fr,,XX,,", "country 'XX' is not an ISO 3166"),
        ("a@b.fr,,,Mars/Olympus,", "timezone 'Mars/Olympus'"),
        ("a@b.fr,,,,klingon", "language 'klingon'"),
        (",,FR,,", "needs an email or an external_id"),
        ("a@b.fr,,", "has 3 cells, the header has 5"),
    ],
)
def test_bad_rows_are_rejected_with_row_number_and_reason(line: str, reason: str) -> None:
    rows = read(f"email,phone,country,timezone,language\nok@b.fr,,,,\n{line}\nok2@b.fr,,,,\n")
    assert [type(r).__name__ for r in rows] == ["ContactRow", "RowError", "ContactRow"]
    error = rows[1]
    assert isinstance(error, RowError)
    assert error.row == 3
    assert reason in error.reason
    assert str(error).startswith("c.csv:3: ")


def test_an_unknown_column_rejects_the_file_and_names_the_column() -> None:
    with pytest.raises(InputError, match=r"c.csv:1 column 2: unknown column 'emial'"):
        read("email,emial\na@b.fr,x\n")


def test_a_file_without_a_key_column_is_refused() -> None:
    with pytest.raises(InputError, match="needs an email or an external_id column"):
        read("first_name\nJean\n")


def test_the_same_content_has_the_same_fingerprint() -> None:
    one = only("email,first_name\nA@b.fr,Jean\n")
    two = only("first_name,email\nJean,a@b.fr\n")
    assert one.row_hash == two.row_hash
    assert one.row_hash != only("email,first_name\na@b.fr,Jeanne\n").row_hash
