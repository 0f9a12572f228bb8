from __future__ import annotations

import pytest

from nurture.adapters.templates import TemplateStore
from nurture.domain.messages import sms_segments
from nurture.errors import TemplateError

BASE = {
    "emails/hello.fr.subject.j2": "Bonjour {{ contact.first_name }}",
    "emails/hello.fr.html.j2": "<p>{{ contact.company }}</p>",
    "emails/hello.fr.txt.j2": "{{ contact.company }}",
    "emails/hello.en.subject.j2": "Hello {{ contact.first_name }}",
    "emails/hello.en.html.j2": "<p>{{ contact.company }}</p>",
    "emails/hello.en.txt.j2": "{{ contact.company }}",
    "sms/ping.txt.j2": "{{ contact.first_name }}, ça va ? STOP au 36180",
    "calls/intro.md.j2": "# {{ contact.first_name }}\n{{ contact.missing }}",
}
CONTACT = {"contact": {"first_name": "Zoé", "company": "<b>Durand & Fils</b>"}}


def store(**extra: str) -> TemplateStore:
    return TemplateStore.from_mapping({**BASE, **extra}, default_language="fr")


def test_the_contacts_language_is_chosen_with_a_fallback() -> None:
    assert (
        store().render_email("emails/hello", language="en", context=CONTACT).subject == "Hello Zoé"
    )
    assert store().render_email("emails/hello", language="fr", context=CONTACT).subject == (
        "Bonjour Zoé"
    )
    # German is not written: the project's default language is used.
    rendered = store().render_email("emails/hello", language="de", context=CONTACT)
    assert rendered.subject == "Bonjour Zoé"
    assert rendered.language == "fr"


def test_html_is_autoescaped_text_and_sms_are_not() -> None:
    rendered = store().render_email("emails/hello", language="fr", context=CONTACT)
    assert rendered.html == "<p>&lt;b&gt;Durand &amp; Fils&lt;/b&gt;</p>"
    assert rendered.text == "<b>Durand & Fils</b>"


def test_an_undefined_variable_is_an_error_naming_the_template() -> None:
    with pytest.raises(TemplateError, match=r"calls/intro.md.j2: undefined variable"):
        store().render_call("calls/intro", language="fr", context=CONTACT)


def test_missing_optional_values_print_as_nothing() -> None:
    rendered = store().render_email(
        "emails/hello", language="en", context={"contact": {"first_name": None, "company": ""}}
    )
    assert rendered.subject == "Hello"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_templates_cannot_escape_the_sandbox(source: str) -> None:
    with pytest.raises(TemplateError, match=r"sandbox|undefined"):
        store(**{"sms/evil.txt.j2": source}).render_sms("sms/evil", language="fr", context=CONTACT)


def test_the_sandbox_is_immutable() -> None:
    evil = "{% set x = contact.update({'first_name': 'pwned'}) %}{{ contact.first_name }}"
    with pytest.raises(TemplateError, match="sandbox"):
        store(**{"sms/evil.txt.j2": evil}).render_sms("sms/evil", language="fr", context=CONTACT)


def test_syntax_errors_name_the_file_and_line() -> None:
    broken = store(**{"sms/broken.txt.j2": "line one\n{{ contact.first_name "})
    assert broken.problems("sms/broken", ("txt",)) == [
        "sms/broken.txt.j2:2: unexpected end of template, expected 'end of print statement'."
    ]
    assert broken.problems("sms/nothing", ("txt",)) == ["missing sms/nothing.txt.j2"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("GSM-7", 0, 0)),
        ("a" * 160, ("GSM-7", 160, 1)),
        ("a" * 161, ("GSM-7", 161, 2)),
        ("€" * 80, ("GSM-7", 160, 1)),  # extension characters cost two units
        ("é è à ù", ("GSM-7", 7, 1)),
        ("ça va ? " + "a" * 63, ("UCS-2", 71, 2)),  # lower-case ç is not GSM: UCS-2
        ("Ça va ? " + "a" * 63, ("GSM-7", 71, 1)),  # upper-case Ç is
        ("ê" * 70, ("UCS-2", 70, 1)),
        ("😀", ("UCS-2", 2, 1)),
        ("a" * 307, ("GSM-7", 307, 3)),
    ],
)
def test_sms_length_and_segments(text: str, expected: tuple[str, int, int]) -> None:
    assert sms_segments(text) == expected


def test_rendered_sms_reports_segments() -> None:
    sms = store().render_sms("sms/ping", language="fr", context=CONTACT)
    assert sms.text == "Zoé, ça va ? STOP au 36180"
    assert (sms.encoding, sms.segments) == ("UCS-2", 1)


def test_dict_fields_read_as_jinja_reads_them() -> None:
    # A custom field may be named like a dict method: Jinja gives the method, not the key,
    # and the fast path for dicts must not change that; a field a dict does not have is
    # still an undefined variable.
    source = (
        "{{ contact.custom.plan }}|{{ contact.custom['items'] }}"
        "|{{ contact.custom.items is callable }}"
    )
    context = {"contact": {"custom": {"plan": "pro", "items": "three seats"}}}
    rendered = store(**{"sms/fields.txt.j2": source}).render_sms(
        "sms/fields", language="fr", context=context
    )
    assert rendered.text == "pro|three seats|True"
    with pytest.raises(TemplateError, match="undefined variable"):
        store(**{"sms/gone.txt.j2": "{{ contact.custom.seats }}"}).render_sms(
            "sms/gone", language="fr", context=context
        )


def test_a_layout_is_loaded_once_and_serves_every_render() -> None:
    layouts = {
        "emails/_layout.txt.j2": "{% block body %}{% endblock %} -- {{ sender }}",
        "sms/a.txt.j2": '{% extends "emails/_layout.txt.j2" %}{% block body %}A{% endblock %}',
        "sms/b.txt.j2": '{% extends "emails/_layout.txt.j2" %}{% block body %}B{% endblock %}',
    }
    templates = store(**layouts)
    first = templates.render_sms("sms/a", language="fr", context={"sender": "Zoé"})
    second = templates.render_sms("sms/b", language="fr", context={"sender": "Léa"})
    assert (first.text, second.text) == ("A -- Zoé", "B -- Léa")
