"""The outbox writes messages any mail tool reads back, headers and bodies intact."""

from __future__ import annotations

import email
import os
from email import policy

import pytest

from nurture.adapters.email import LINE_LIMIT, eml, unique
from nurture.ports import OutgoingEmail


def message(**changes: object) -> OutgoingEmail:
    base = {
        "touch_id": 7,
        "contact_id": 3,
        "to": "zoe@exemple.fr",
        "to_name": "Zoé Étienne",
        "from_email": "bonjour@vigie-cyber.example",
        "from_name": "Vigie Cyber",
        "subject": "Étude de cas : une clinique de 180 lits supervisée 24/7 " * 3 + "😀",
        "html": "<p>Bonjour Zoé,</p><p>" + "é" * 300 + "</p>",
        "text": "Bonjour Zoé,\n\n" + "Ligne très longue " * 30,
        "unsubscribe_url": "https://hooks.example/u/abc",
        "unsubscribe_mailto": "unsub@vigie-cyber.example",
        "reply_to": "camille@vigie-cyber.example",
        "categories": ("cold-outbound", "cold-outbound/email-1"),
    }
    return OutgoingEmail(**{**base, **changes})  # type: ignore[arg-type]


def test_an_outbox_file_reads_back_as_the_message_it_was() -> None:
    sent = message()
    parsed = email.message_from_bytes(eml(sent, "m1@nurture.local"), policy=policy.default)
    assert parsed["Subject"] == sent.subject
    assert parsed["To"] == "Zoé Étienne <zoe@exemple.fr>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["List-Unsubscribe"] == (
        "<https://hooks.example/u/abc>, <mailto:unsub@vigie-cyber.example?subject=unsubscribe%207>"
    )
    assert parsed["X-Nurture-Touch"] == "7"
    assert parsed.get_body(("plain",)).get_content().rstrip() == sent.text.rstrip()
    assert parsed.get_body(("html",)).get_content().rstrip() == sent.html
    assert parsed.defects == []
    assert all(part.defects == [] for part in parsed.walk())


def _parts(raw: bytes) -> dict[str, tuple[str, str]]:
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed.defects == []
    return {
        part.get_content_subtype(): (part["Content-Transfer-Encoding"], part.get_content())
        for part in parsed.walk()
        if part.get_content_maintype() == "text"
    }


def test_parts_travel_as_written_utf8_when_their_lines_fit() -> None:
    sent = message()
    parts = _parts(eml(sent, "m"))
    assert parts["plain"] == ("8bit", sent.text)  # exactly as rendered
    assert parts["html"] == ("8bit", sent.html)


@pytest.mark.parametrize(
    "html",
    [
        "<p>" + "é" * (LINE_LIMIT // 2) + "</p>",  # 998 characters, 1,003 bytes in UTF-8
        "<p>a\rb</p>",  # a bare carriage return
    ],
)
def test_a_part_with_a_line_too_long_or_a_bare_cr_is_quoted_printable(html: str) -> None:
    raw = eml(message(html=html), "m")
    assert max(len(line) for line in raw.split(b"\n")) <= LINE_LIMIT
    encoding, content = _parts(raw)["html"]
    assert encoding == "quoted-printable"
    assert content == html


def test_internationalised_addresses_travel_as_utf8() -> None:
    parsed = email.message_from_bytes(eml(message(to="zoé@exemple.fr"), "m"), policy=policy.default)
    assert parsed["To"] == "Zoé Étienne <zoé@exemple.fr>"


def test_outbox_files_are_written_once_and_partial_ones_do_not_count(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from nurture.adapters.email import OutboxEmail

    outbox = OutboxEmail(tmp_path)
    first = outbox.send(message(touch_id=1234))
    [path] = outbox.find(1234) or []
    assert path.endswith("email/00001/1234.eml")
    original = (tmp_path / "email" / "00001" / "1234.eml").read_bytes()
    outbox.send(message(touch_id=1234))  # a retry after a crash: the complete copy stays
    assert (tmp_path / "email" / "00001" / "1234.eml").read_bytes() == original
    assert first.message_id
    partial = tmp_path / "email" / "00002" / "2000.eml"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(original[:100])  # a crash cut this one short
    assert outbox.find(2000) == []  # not sent: reconciliation will send it
    assert not partial.exists()


def test_the_boundary_never_occurs_in_a_part(monkeypatch: pytest.MonkeyPatch) -> None:
    """A body that happens to hold the next boundary gets the one after it (RFC 2046)."""
    tokens = iter(["clash", "clear"])
    monkeypatch.setattr(unique, "token", lambda: next(tokens))
    sent = message(text="Bonjour,\n\n--=_nurture_clash\nSuite.\n")
    raw = eml(sent, "m1@nurture.local")
    assert b'boundary="=_nurture_clear"' in raw
    assert _parts(raw)["plain"][1].rstrip() == sent.text.rstrip()


def test_a_forked_worker_draws_tokens_of_its_own() -> None:
    """Worker processes fork from one server: the outbox's message ids and boundaries
    must not repeat the parent's, nor another worker's."""
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child process
        os.write(writer, unique.token().encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    theirs = os.read(reader, 100).decode()
    os.close(reader)
    mine = unique.token()
    assert theirs
    assert theirs[:12] != mine[:12]
