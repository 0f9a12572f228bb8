"""Fuzzing the readers at the edge: whatever the input, the outcome is a success or a
clean, located error of nurture's own, never another exception."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nurture.domain.contacts import CONTACT_FIELDS, Contact
from nurture.domain.expressions import compile_expression
from nurture.domain.sequences import Sequence
from nurture.errors import ExpressionError, InputError, PayloadError, SpecError
from nurture.inbound import read_event_file, sendgrid_events
from nurture.specs.contact_rows import ContactRow, RowDefaults, read_contact_rows
from nurture.specs.yamlfile import parse_yaml, validate_document

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

# -- CSV ---------------------------------------------------------------------------------

_CELLS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "a@b.fr",
            "+33612345678",
            "FR",
            "Europe/Paris",
            "fr",
            "yes",
            "12",
            "1e400",
            "²",
            "\x00",
            '"',
            '""',
            "[/b]",
            "<b>",
            "\udcff",
            "9" * 40,
            "-1",
            "inf",
            "nan",
            "  ",
        ]
    ),
)
_COLUMNS = st.lists(
    st.sampled_from(
        [
            "email",
            "external_id",
            "first_name",
            "company_size",
            "deal_value",
            "country",
            "phone",
            "timezone",
            "language",
            "consent_sms",
            "bant.need",
            "custom.x",
            "unknown",
            "",
        ]
    ),
    min_size=1,
    max_size=6,
)


@st.composite
def _csv(draw: st.DrawFn) -> str:
    columns = draw(_COLUMNS)
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    rows = draw(st.lists(st.lists(_CELLS, min_size=0, max_size=len(columns) + 1), max_size=6))
    lines = [delimiter.join(columns)] + [delimiter.join(row) for row in rows]
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n", '"']))


@FUZZ
@given(st.one_of(_csv(), st.text(max_size=300)))
def test_the_csv_reader_yields_rows_or_row_errors(text: str) -> None:
    try:
        items = list(read_contact_rows(io.StringIO(text), file="f.csv", defaults=RowDefaults()))
    except InputError as exc:
        refusal = str(exc)
        assert refusal.startswith("f.csv"), refusal
        return
    for item in items:
        assert isinstance(item, ContactRow | InputError)


# -- YAML --------------------------------------------------------------------------------

_YAML_PIECES = st.sampled_from(
    [
        "id: x\n",
        "name: n\n",
        "version: 1\n",
        "steps:\n",
        "  - {id: a, channel: email, template: emails/x}\n",
        "cadence: {gaps: {cold: 1e999, warm: 1, hot: 1}}\n",
        "&a [*a]\n",
        "a: &b [1]\nb: [*b, *b]\n",
        "\t",
        ": : :\n",
        "- - -\n",
        "!!python/object:os.system\n",
        "{",
        "[",
        "'",
        '"',
        "#\n",
        "version: 99999999999999999999999\n",
        'audience: {when: "not not 1"}\n',
        "\x00",
        "\ufeff",
    ]
)


@FUZZ
@given(st.one_of(st.lists(_YAML_PIECES, max_size=12).map("".join), st.text(max_size=200)))
def test_the_yaml_loader_reads_or_says_where(text: str) -> None:
    refusal = "f.yaml"
    try:
        document = parse_yaml(text, "f.yaml")
        validate_document(document, Sequence)
    except SpecError as exc:
        refusal = str(exc)
    assert "f.yaml" in refusal


# -- expressions -------------------------------------------------------------------------

_TOKENS = st.sampled_from(
    [
        "contact.company_size",
        "contact.sector",
        "contact.phone",
        "contact.consent.sms",
        "1",
        "0",
        "-",
        "not ",
        " and ",
        " or ",
        " in ",
        " >= ",
        " == ",
        " * ",
        " + ",
        " % ",
        "(",
        ")",
        "[",
        "]",
        ",",
        "'x'",
        "len(",
        "upper(",
        "lower(",
        "contains_any(",
        ".startswith(",
        "10000000",
        "None",
        "True",
        "1.5",
        "__class__",
        ".",
    ]
)


@FUZZ
@given(
    st.one_of(st.lists(_TOKENS, min_size=1, max_size=25).map("".join), st.text(max_size=80)),
    st.builds(
        Contact,
        company_size=st.one_of(st.none(), st.integers(-5, 10**6)),
        sector=st.one_of(st.none(), st.text(max_size=10)),
        phone=st.one_of(st.none(), st.just("+33612345678")),
    ),
)
def test_an_expression_compiles_and_evaluates_or_says_why(source: str, contact: Contact) -> None:
    try:
        expression = compile_expression(source, roots={"contact": CONTACT_FIELDS})
        result = expression({"contact": contact})
    except ExpressionError:
        return
    assert isinstance(result, bool)


# -- events ------------------------------------------------------------------------------

_JSON = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_EVENT_KEYS = st.fixed_dictionaries(
    {},
    optional={
        "id": _JSON,
        "type": st.one_of(st.sampled_from(["form_fill", "unsubscribe", "x"]), _JSON),
        "contact": _JSON,
        "occurred_at": st.one_of(st.sampled_from(["2026-03-02", "9999-01-01", "x"]), _JSON),
        "data": _JSON,
        "touch_id": _JSON,
        "source": _JSON,
        "MessageStatus": _JSON,
        "MessageSid": _JSON,
        "Body": _JSON,
        "From": _JSON,
    },
)


@FUZZ
@given(st.one_of(st.lists(_EVENT_KEYS, max_size=5), st.text(max_size=200)))
def test_event_lines_are_read_or_refused_one_by_one(lines: Any) -> None:
    text = lines if isinstance(lines, str) else "\n".join(json.dumps(line) for line in lines)
    try:
        _, errors = read_event_file(text, source="e.jsonl", now=NOW)
    except PayloadError as exc:  # a file that starts as a JSON array but is not one
        errors = [exc]
    for error in errors:
        assert isinstance(error, PayloadError)
        assert str(error).startswith("e.jsonl")


_SENDGRID = st.fixed_dictionaries(
    {},
    optional={
        "event": st.one_of(
            st.sampled_from(["open", "click", "bounce", "dropped", "unsubscribe"]), _JSON
        ),
        "sg_event_id": _JSON,
        "timestamp": st.one_of(st.integers(), st.floats(), _JSON),
        "email": _JSON,
        "touch_id": _JSON,
        "contact_id": _JSON,
        "type": _JSON,
        "reason": _JSON,
        "sg_message_id": _JSON,
    },
)


@FUZZ
@given(st.lists(st.one_of(_SENDGRID, _JSON), max_size=6))
def test_a_sendgrid_batch_is_read_event_by_event(items: list[Any]) -> None:
    try:
        events, errors = sendgrid_events(json.dumps(items))
    except PayloadError:
        return
    assert len(events) + len(errors) <= len(items)
    for event in events:
        assert event.touch_id is None or 1 <= event.touch_id < 2**63
        assert event.contact_id is None or 1 <= event.contact_id < 2**63
