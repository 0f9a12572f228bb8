"""Contacts read from rows by position (``adapters/db/contacts.contact_reader``): each
field from the column of its name, whatever the columns' order, and defaults for the
columns a read leaves out."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

from nurture.adapters.db.contacts import RUN_COLUMNS, contact_from_row, contact_reader
from nurture.domain.contacts import (
    CONTACT_ATTRIBUTES,
    Bant,
    Consent,
    Contact,
    DealBand,
    Stage,
    Temperature,
)

AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _row() -> dict[str, object]:
    """A value in every column a contact is read from, each different from the others."""
    row: dict[str, object] = {name: f"{name}-value" for name in CONTACT_ATTRIBUTES}
    row.update(
        id=42,
        company_size=250,
        deal_value=18000.0,
        custom={"plan": "pro"},
        consent_email=False,
        consent_sms=True,
        basis_email="consent",
        basis_sms="consent",
        bant={"budget": "40k", "need": "onboarding", "colour": "ignored"},
        stage="prospect",
        score=71,
        fit=40.5,
        interest=30.5,
        temperature="hot",
        deal_band="large",
        last_interest_at=AT,
        source="salon-2026.csv",
        forgotten_at=None,
    )
    return row


def test_every_field_comes_from_the_column_of_its_name() -> None:
    row = _row()
    columns = tuple(reversed(list(row)))  # another order than the Contact's
    contact = contact_reader(columns)(tuple(row[name] for name in columns))
    for name in ("id", *CONTACT_ATTRIBUTES, "custom", "score", "fit", "interest", "source"):
        assert getattr(contact, name) == row[name], name
    assert contact.last_interest_at == AT
    assert contact.consent == Consent(
        email=False, sms=True, email_basis="consent", sms_basis="consent"
    )
    assert contact.bant == Bant(budget="40k", need="onboarding")
    assert (contact.stage, contact.temperature, contact.deal_band) == (
        Stage.PROSPECT,
        Temperature.HOT,
        DealBand.LARGE,
    )
    assert contact == contact_from_row(row)


def test_the_columns_a_read_leaves_out_take_their_defaults() -> None:
    contact = contact_reader(("id", "email"))((7, "ines@durand.example"))
    assert contact == Contact(
        id=7,
        email="ines@durand.example",
        consent=Consent(email=True, sms=False),
        deal_band=DealBand.MEDIUM,
    )
    unset = {f.name for f in fields(Contact)} - {"id", "email", "consent", "deal_band"}
    assert all(getattr(contact, name) == getattr(Contact(), name) for name in unset)


def test_the_runs_columns_read_the_same_contact_as_a_whole_row() -> None:
    row = _row()
    run = contact_reader(RUN_COLUMNS)(tuple(row[name] for name in RUN_COLUMNS))
    whole = contact_from_row(row)
    # what the run does not read (when interest last moved) is left out
    assert run == Contact(
        **{f.name: getattr(whole, f.name) for f in fields(Contact)} | {"last_interest_at": None}
    )
