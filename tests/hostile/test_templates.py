"""Hostile templates: whatever a marketer (or an attacker with write access to the
templates folder) writes, a render ends in text or in a TemplateError naming the file,
within the limits of size and time."""

from __future__ import annotations

import pytest

from nurture.adapters.templates import TemplateStore
from nurture.errors import TemplateError
from nurture.limits import Limits

LIMITS = Limits(template_seconds=0.5)

# (case, template source, what the error must say)
TEMPLATE_CASES: list[tuple[str, str, str]] = [
    ("repeat-string", "{{ 'a' * 10**9 }}", "repeats"),
    ("repeat-list", "{{ [1] * 10**7 }}", "repeats"),
    ("power", "{{ 2 ** 100000 }}", "power"),
    ("lipsum", "{{ lipsum(n=100000) }}", "lipsum"),
    ("center", "{{ 'x'|center(1000000000) }}", "width"),
    ("indent", "{{ 'x\ny'|indent(1000000000) }}", "width"),
    ("format-width", '{{ "{:>1000000000}".format(1) }}', "wider"),
    ("percent-width", '{{ "%1000000000d" % 1 }}', "wider"),
    ("format-filter-width", '{{ "%1000000000d"|format(1) }}', "wider"),
    ("output-size", "{% for i in range(99999) %}{{ 'abcdefghijklmnop' }}{% endfor %}", "more than"),
    (
        "endless-loops",
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
        "longer than",
    ),
    ("recursion", "{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}", "nests"),
    ("class-escape", "{{ ''.__class__.__mro__[1].__subclasses__() }}", "sandbox"),
    ("globals-escape", "{{ self._TemplateReference__context }}", "sandbox"),
    ("format-escape", "{{ '{0.__class__}'.format(1) }}", "sandbox"),
    ("undefined", "{{ contact.salary }}", "undefined"),
    ("division", "{{ 1 / 0 }}", "ZeroDivisionError"),
    ("mutation", "{% set x = [] %}{{ x.append(1) }}", "sandbox"),
    ("syntax", "{% for %}", "sms/t.txt.j2"),
    ("unknown-filter", "{{ 'a'|evil }}", "sms/t.txt.j2"),
]


@pytest.mark.parametrize(
    ("source", "reason"), [pytest.param(s, r, id=case) for case, s, r in TEMPLATE_CASES]
)
def test_a_hostile_template_ends_in_a_template_error_naming_the_file(
    source: str, reason: str
) -> None:
    store = TemplateStore.from_mapping({"sms/t.txt.j2": source}, limits=LIMITS)
    with pytest.raises(TemplateError) as caught:
        store.render_sms("sms/t", language=None, context={"contact": {"first_name": "A"}})
    assert "sms/t.txt.j2" in str(caught.value)
    assert reason in str(caught.value), caught.value


def test_markup_in_contact_data_is_escaped_in_html_and_kept_in_text() -> None:
    store = TemplateStore.from_mapping(
        {
            "emails/t.subject.j2": "Bonjour {{ contact.first_name }}",
            "emails/t.html.j2": "<p>Bonjour {{ contact.first_name }}</p>",
            "emails/t.txt.j2": "Bonjour {{ contact.first_name }}",
        },
        limits=LIMITS,
    )
    name = "<script>alert(1)</script> [/b]"
    email = store.render_email("emails/t", language=None, context={"contact": {"first_name": name}})
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html
    assert email.text == f"Bonjour {name}"


@pytest.mark.parametrize(("pieces", "refused"), [(100, False), (101, True), (150, True)])
def test_the_output_limit_counts_every_piece_of_a_render(pieces: int, refused: bool) -> None:
    """Size and deadline are checked once per run of pieces, not piece by piece: the
    limit must still hold exactly, whether a render ends inside a run or after many."""
    limits = Limits(template_seconds=0.5, template_output_chars=1000)
    source = "{% for i in range(" + str(pieces) + ") %}{{ 'abcdefghij' }}{% endfor %}"
    store = TemplateStore.from_mapping({"sms/t.txt.j2": source}, limits=limits)
    if refused:
        with pytest.raises(TemplateError, match="more than 1,000 characters"):
            store.render_sms("sms/t", language=None, context={})
    else:
        assert store.render_sms("sms/t", language=None, context={}).text == "abcdefghij" * 100
