from __future__ import annotations

import pytest

from nurture.domain.contacts import CONTACT_FIELDS, Consent, Contact
from nurture.domain.expressions import compile_expression
from nurture.errors import ExpressionError

ROOTS = {"contact": CONTACT_FIELDS}


def check(source: str, contact: Contact) -> bool:
    return compile_expression(source, roots=ROOTS)({"contact": contact})


def test_reads_contact_fields_and_nested_consent() -> None:
    contact = Contact(phone="+33612345678", consent=Consent(sms=True))
    assert check("contact.phone and contact.consent.sms", contact)
    assert not check("contact.phone and contact.consent.sms", Contact(phone="+33612345678"))


def test_membership_comparison_and_boolean_operators() -> None:
    contact = Contact(sector="industry", company_size=250, country="FR")
    assert check(
        "contact.sector in ['industry', 'finance'] and contact.company_size >= 50", contact
    )
    assert check("not contact.country == 'BE' or contact.company_size < 10", contact)
    assert not check("contact.sector not in ('industry',)", contact)
    assert check("20 <= contact.company_size < 1000", contact)


def test_missing_values_compare_false_instead_of_failing() -> None:
    assert not check("contact.company_size >= 50", Contact())
    assert not check("contact.company_size < 50", Contact())
    assert check("contact.company_size is None", Contact())


def test_custom_attributes_are_open_ended() -> None:
    contact = Contact(custom={"source": "salon-2026"})
    assert check("contact.custom.source == 'salon-2026'", contact)
    assert not check("contact.custom.unknown == 'x'", contact)


def test_helpers_fold_case() -> None:
    contact = Contact(role="Directrice des Systèmes d'Information", email="A@Example.FR")
    assert check("contains_any(contact.role, ['directeur', 'directrice'])", contact)
    assert check("lower(contact.email).endswith('.fr')", contact)
    assert not check("contains_any(contact.company, ['acme'])", contact)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("__import__('os').system('true')", "only these calls are allowed"),
        ("contact.__class__", "private"),
        ("contact.sectr == 'x'", "unknown field 'contact.sectr'"),
        ("user.name == 'x'", "unknown name 'user'"),
        ("(lambda: 1)()", "only these calls"),
        ("contact.custom['x']", "'Subscript' is not allowed"),
        ("contact.phone and", "cannot parse"),
        ("[x for x in contact.custom]", "'ListComp' is not allowed"),
        ("contact", "needs a field"),
        ("", "empty expression"),
    ],
)
def test_rejects_what_is_not_in_the_language(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        compile_expression(source, roots=ROOTS)


def test_paths_lists_what_an_expression_reads() -> None:
    expression = compile_expression("contact.phone and contact.consent.sms", roots=ROOTS)
    assert expression.paths == {"contact.phone", "contact.consent.sms"}
