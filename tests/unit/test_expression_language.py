"""The expression language, exactly: every operator and helper, every refusal with its
exact message, and every limit at its boundary."""

from __future__ import annotations

from typing import Any

import pytest

from nurture.domain.contacts import CONTACT_FIELDS, Consent, Contact
from nurture.domain.expressions import compile_expression
from nurture.errors import ExpressionError
from nurture.limits import Limits

ROOTS = {"contact": CONTACT_FIELDS}
SMALL = Limits(expression_chars=100, expression_depth=5, repeat_items=10)


def value(source: str, contact: Contact | None = None, **limits: Any) -> Any:
    expression = compile_expression(
        source, roots=ROOTS, limits=Limits(**limits) if limits else None
    )
    return expression.value({"contact": contact or Contact()})


def refusal(source: str, *, limits: Limits | None = None, roots: Any = None) -> str:
    def attempt() -> None:
        expression = compile_expression(source, roots=roots or ROOTS, limits=limits)
        expression({"contact": Contact(company_size=3, sector="it")})

    with pytest.raises(ExpressionError) as caught:
        attempt()
    return str(caught.value)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("contact.company_size + 2", 12),
        ("contact.company_size - 2", 8),
        ("contact.company_size * 3", 30),
        ("contact.company_size / 4", 2.5),
        ("contact.company_size % 4", 2),
        ("-contact.company_size", -10),
        ("- -contact.company_size", 10),
        ("not contact.company_size", False),
        ("contact.sector + '-x'", "it-x"),
        ("contact.sector * 2", "itit"),
        ("[contact.sector, 'b']", ["it", "b"]),
        ("len(contact.sector)", 2),
        ("len(contact.role)", 0),
        ("upper(contact.sector)", "IT"),
        ("upper(contact.company_size)", 10),
        ("lower('AB')", "ab"),
        ("lower(contact.company_size)", 10),
        ("contact.sector.upper()", "IT"),
        ("contact.sector.strip('i')", "t"),
        ("contact.role.upper()", None),
        ("contact.role.lower()", None),
        ("contact.role.strip()", None),
        ("contact.role.startswith('x')", False),
        ("contact.role.endswith('x')", False),
        ("contact.sector.startswith('i')", True),
        ("contact.role + 'x'", None),
        ("contact.company_size * contact.role", None),
        ("contact.company_size >= 10 >= 9", True),
        ("1 < contact.company_size < 5", False),
        ("contact.role < 5", False),
        ("contact.company_size in [10, 11]", True),
        ("contact.role in ['x']", False),
        ("'x' in contact.role", False),
        ("'x' not in contact.role", True),
        ("contact.role is None", True),
        ("contact.sector is not None", True),
        ("contact.sector != 'it'", False),
        ("contact.consent.email and contact.consent.sms", False),
        ("contact.consent.email or contact.consent.sms", True),
        ("contact.custom.tier", "gold"),
        ("contact.custom.missing.deeper", None),
        ("contact.bant.need", "soc"),
        ("contains_any(contact.sector, ['IT'])", True),
        ("contains_any(contact.company_size, ['1'])", False),
        ("contains_any(contact.sector, None)", False),
        ("1.5", 1.5),
        ("None", None),
    ],
)
def test_each_operator_and_helper_gives_its_value(source: str, expected: Any) -> None:
    from nurture.domain.contacts import Bant

    contact = Contact(
        company_size=10,
        sector="it",
        custom={"tier": "gold"},
        bant=Bant(need="soc"),
        consent=Consent(email=True, sms=False),
    )
    assert value(source, contact) == expected


def test_attributes_of_a_plain_object_are_read_and_a_missing_one_is_none() -> None:
    expression = compile_expression("thing.colour", roots={"thing": None})
    assert expression.value({"thing": Consent()}) is None
    assert expression.value({"thing": {"colour": "red"}}) == "red"
    assert compile_expression("thing", roots={"thing": None}).value({"thing": 4}) == 4


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "empty expression"),
        ("   ", "empty expression"),
        ("contact.phone and", "cannot parse 'contact.phone and': invalid syntax at column 0"),
        ("contact.custom['x']", "'Subscript' is not allowed in 'contact.custom['x']'"),
        ("contact.sector ** 2", "operator 'Pow' is not allowed in 'contact.sector ** 2'"),
        ("~contact.company_size", "operator 'Invert' is not allowed in '~contact.company_size'"),
        ("len(x=1)", "keyword arguments are not allowed in 'len(x=1)'"),
        ("len()", "len() takes 1 argument(s) in 'len()'"),
        ("contains_any('a')", "contains_any() takes 2 argument(s) in 'contains_any('a')'"),
        ("'a'.upper(1)", ".upper() takes 0 to 0 argument(s) in ''a'.upper(1)'"),
        ("'a'.startswith()", ".startswith() takes 1 to 1 argument(s) in ''a'.startswith()'"),
        (
            "print(1)",
            "only these calls are allowed: contains_any, len, lower, upper, str.endswith, "
            "str.lower, str.startswith, str.strip, str.upper in 'print(1)'",
        ),
        ("b'x' == contact.email", "a bytes constant is not allowed in 'b'x' == contact.email'"),
        ("(1).real", "attributes may only follow a name in '(1).real'"),
        ("contact._hidden", "name 'contact._hidden' is private in 'contact._hidden'"),
        ("other.x", "unknown name 'other' (known: contact) in 'other.x'"),
        ("contact", "'contact' needs a field, such as contact.account_id in 'contact'"),
        ("contact.salary", "unknown field 'contact.salary' in 'contact.salary'"),
        (
            "'%s' % contact.sector",
            "string formatting with % is not allowed in ''%s' % contact.sector'",
        ),
    ],
)
def test_a_refusal_says_exactly_what_and_where(source: str, message: str) -> None:
    assert refusal(source) == message


def test_a_refusal_shortens_a_long_expression_to_80_characters() -> None:
    source = "contact.salary == '" + "x" * 100 + "'"
    shown = refusal(source).removeprefix("unknown field 'contact.salary' in '").removesuffix("'")
    assert shown == source[:77] + "..."
    exactly = "contact.salary == '" + "x" * 60 + "'"
    assert len(exactly) == 80
    assert refusal(exactly).endswith(f"'{exactly}'")


def test_an_expression_that_cannot_evaluate_says_so_with_its_source() -> None:
    expression = compile_expression("contact.sector / 2", roots=ROOTS)
    with pytest.raises(ExpressionError) as caught:
        expression({"contact": Contact(sector="it")})
    assert str(caught.value) == (
        "cannot evaluate 'contact.sector / 2': unsupported operand type(s) for /: 'str' and 'int'"
    )
    assert isinstance(caught.value.__cause__, TypeError)


def test_comparing_more_comparators_than_operators_never_happens_silently() -> None:
    # Chained comparisons pair each operator with its right operand.
    assert value("1 < 2 < 3 < 4") is True
    assert value("1 < 3 < 2 < 4") is False


def test_the_length_limit_counts_characters_exactly() -> None:
    at_limit = "1 == " + "1" * 95
    assert len(at_limit) == 100
    compile_expression(at_limit, roots=ROOTS, limits=SMALL)
    assert refusal(at_limit + "1", limits=SMALL) == (
        "expression longer than 100 characters (the limit NURTURE_MAX_EXPRESSION_CHARS)"
    )


def test_the_depth_limit_counts_levels_exactly() -> None:
    # not not not not True: four UnaryOps, then the constant = 5 levels, at the limit.
    compile_expression("not not not not True", roots=ROOTS, limits=SMALL)
    assert refusal("not not not not not True", limits=SMALL) == (
        "expression nested 6 levels deep, more than 5 (the limit NURTURE_MAX_EXPRESSION_DEPTH)"
    )
    assert refusal("- - - - - - 1", limits=SMALL) == (
        "expression nested 7 levels deep, more than 5 (the limit NURTURE_MAX_EXPRESSION_DEPTH)"
    )


def test_a_parser_recursion_is_a_clean_refusal() -> None:
    deep = "-" * 100_000 + "1"
    assert refusal(deep, limits=Limits(expression_chars=200_000)) == "expression nested too deeply"


@pytest.mark.parametrize(
    ("source", "allowed"),
    [
        ("contact.sector * 5", True),  # 'it' * 5 = 10 items: at the limit
        ("contact.sector * 6", False),
        ("5 * contact.sector", True),
        ("6 * contact.sector", False),
        ("contact.sector + '12345678'", True),
        ("contact.sector + '123456789'", False),
    ],
)
def test_the_repetition_limit_holds_at_its_boundary(source: str, allowed: bool) -> None:
    expression = compile_expression(source, roots=ROOTS, limits=SMALL)
    if allowed:
        assert len(expression.value({"contact": Contact(sector="it")})) <= 10
        return
    with pytest.raises(ExpressionError, match=r"NURTURE_MAX_REPEAT_ITEMS|longer than 10 items"):
        expression.value({"contact": Contact(sector="it")})


def test_constant_repetitions_are_refused_when_compiled() -> None:
    assert refusal("'ab' * 6", limits=SMALL) == (
        "a repetition of 12 items, more than 10 (the limit NURTURE_MAX_REPEAT_ITEMS) in ''ab' * 6'"
    )
    assert refusal("6 * [1, 2]", limits=SMALL).startswith("a repetition of 12 items")
    assert refusal("'123456' + '12345'", limits=SMALL) == (
        "a value longer than 10 items in ''123456' + '12345''"
    )
    compile_expression("'ab' * 5", roots=ROOTS, limits=SMALL)
    compile_expression("3 * 4 * 1000", roots=ROOTS, limits=SMALL)


def test_constant_lists_are_sets_and_other_lists_are_built_per_contact() -> None:
    assert value("[1, 2, 2]") == frozenset({1, 2})
    assert value("[contact.sector]", Contact(sector="a")) == ["a"]


def test_roots_without_a_field_list_allow_any_field() -> None:
    expression = compile_expression("event.anything", roots={"event": None})
    assert expression.paths == {"event.anything"}
