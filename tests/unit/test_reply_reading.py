"""Reading emails that come back: classification, return dates, the person's own words,
both Inbound Parse forms, and the reply token."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from nurture.domain.accounts import account_key
from nurture.domain.replies import MailKind, classify, return_date
from nurture.errors import PayloadError
from nurture.inbound_mail import html_text, parse_inbound, reply_tokens, strip_quotes
from nurture.tokens import LinkKeys, reply_token
from tests.support.mail import parsed, raw

MONDAY = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _kind(subject: str = "Re: NIS2", text: str = "Oui, merci.", **headers: str) -> MailKind:
    return classify(
        headers={k.lower().replace("_", "-"): v for k, v in headers.items()},
        sender="jean@acme.fr",
        subject=subject,
        reply_text=text,
        report=None,
    ).kind


@pytest.mark.parametrize(
    ("headers", "subject"),
    [
        ({"Auto_Submitted": "auto-replied"}, "Re: NIS2"),
        ({"X_Autoreply": "yes"}, "Re: NIS2"),
        ({"X_Autorespond": "1"}, "Re: NIS2"),
        ({"Precedence": "auto_reply"}, "Re: NIS2"),
        ({"Precedence": "bulk"}, "Re: NIS2"),
        ({}, "Out of Office: NIS2"),
        ({}, "Automatic reply: NIS2 – where to start"),
        ({}, "Absence du bureau"),
        ({}, "Réponse automatique : NIS2 : par où commencer ?"),
        ({}, "RE: Message d'absence"),
    ],
)
def test_automatic_answers_are_not_replies(headers: dict[str, str], subject: str) -> None:
    assert _kind(subject, **headers) == MailKind.AUTO_REPLY


def test_auto_submitted_no_is_a_person() -> None:
    assert _kind(Auto_Submitted="no") == MailKind.REPLY


@pytest.mark.parametrize(
    "text",
    [
        "Please unsubscribe me from this list.",
        "Remove me from your mailing list, thanks",
        "Merci de me désinscrire.",
        "Je ne souhaite plus recevoir vos messages.",
        "STOP",
        "  stop.  ",
    ],
)
def test_requests_to_stop_are_opt_outs(text: str) -> None:
    assert _kind(text=text) == MailKind.UNSUBSCRIBE


@pytest.mark.parametrize(
    "text",
    [
        "Oui, appelez-moi jeudi.",
        "Can we stop by your booth at FIC next week?",  # "stop" inside a sentence
        "Thanks, interesting. What does the audit cost?",
    ],
)
def test_everything_else_a_person_writes_is_a_reply(text: str) -> None:
    assert _kind(text=text) == MailKind.REPLY


def test_a_delivery_report_is_a_bounce_hard_on_a_5xx_status() -> None:
    report = "Final-Recipient: rfc822; jean@acme.fr\nAction: failed\nStatus: 5.1.1\n"
    verdict = classify(
        headers={"auto-submitted": "auto-replied"},
        sender="mailer-daemon@googlemail.com",
        subject="Delivery Status Notification (Failure)",
        reply_text="",
        report=report,
    )
    assert (verdict.kind, verdict.hard) == (MailKind.BOUNCE, True)
    soft = classify(
        headers={},
        sender="postmaster@acme.fr",
        subject="Délai de remise dépassé",
        reply_text="",
        report=report.replace("failed", "delayed").replace("5.1.1", "4.4.7"),
    )
    assert (soft.kind, soft.hard) == (MailKind.BOUNCE, False)


@pytest.mark.parametrize(
    ("text", "back"),
    [
        ("Je suis absente jusqu'au vendredi 6 mars inclus. De retour le lundi 9 mars 2026.", 9),
        ("Je serai de retour le 10/03. Pour toute urgence, contactez Paul.", 10),
        ("Absent du 2 au 11 mars.", 12),  # away until the 11th: back the day after
        ("I am out of the office until Friday, March 13th with limited access to email.", 14),
        ("Thank you for your message. I am on leave and will return on 16 March 2026.", 16),
    ],
)
def test_return_dates_are_read_in_french_and_english(text: str, back: int) -> None:
    found = return_date(text, received=MONDAY, default_days=5)
    assert (found.day, found.stated) == (date(2026, 3, back), True)


def test_without_a_date_the_pause_lasts_the_default_business_days() -> None:
    found = return_date("I am currently out of the office.", received=MONDAY, default_days=5)
    assert (found.day, found.stated) == (date(2026, 3, 9), False)
    friday = datetime(2026, 3, 6, 17, 0, tzinfo=UTC)
    assert return_date("Absent.", received=friday, default_days=1).day == date(2026, 3, 9)


def test_a_date_in_the_past_or_a_year_away_is_not_a_return_date() -> None:
    old = "De retour le 2 janvier 2026."
    assert return_date(old, received=MONDAY, default_days=5).stated is False


@pytest.mark.parametrize(
    ("text", "own"),
    [
        (
            "Oui, jeudi 14h.\n\nLe lun. 2 mars 2026 à 09:00, Vigie <b@v.example> a écrit :\n> x",
            "Oui, jeudi 14h.",
        ),
        (
            "Works for me.\n\nOn Mon, Mar 2, 2026 at 9:00 AM Vigie <b@v.example> wrote:\n> x",
            "Works for me.",
        ),
        ("Ok pour moi.\n\n-----Message d'origine-----\nDe : Vigie\nObjet : NIS2", "Ok pour moi."),
        ("Vu.\n\n-------- Message transféré --------\nSujet : NIS2", "Vu."),
    ],
)
def test_own_words_leave_quotes_and_forwards_behind(text: str, own: str) -> None:
    assert strip_quotes(text) == own


def test_html_becomes_text_with_quotes_marked() -> None:
    html = "<p>Merci&nbsp;!</p><blockquote>old<br>text</blockquote><script>x()</script>"
    assert html_text(html) == "Merci !\n\n> old\n> text"


def test_the_parsed_form_gives_sender_recipients_and_thread() -> None:
    fields = parsed(
        sender="Jean Dupont <Jean@Acme.fr>",
        to="reply+ab-aaaaaaaaaaaaaaaa@reply.example",
        cc="Paul <paul@acme.fr>",
        subject="Re: NIS2",
        text="Oui",
        at=MONDAY,
        message_id="m1@acme.fr",
        in_reply_to="nurture.ab-xyz@reply.example",
    )
    mail = parse_inbound(fields)
    assert (mail.sender, mail.sender_name, mail.message_id) == (
        "jean@acme.fr",
        "Jean Dupont",
        "m1@acme.fr",
    )
    assert mail.recipients == ("reply+ab-aaaaaaaaaaaaaaaa@reply.example", "paul@acme.fr")
    assert mail.answers == ("nurture.ab-xyz@reply.example",)
    assert reply_tokens(mail) == ["ab-aaaaaaaaaaaaaaaa"]


def test_the_raw_form_reads_the_mime_message_and_the_envelope() -> None:
    mime = (
        "From: Alice <alice@globex.com>\nTo: tom@vigie.example\nSubject: Re: NIS2\n"
        "Message-ID: <r1@globex.com>\nIn-Reply-To: <nurture.x-1@reply.example>\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
        "Tr=C3=A8s bien, merci.\n"
    )
    mail = parse_inbound(
        raw(
            mime,
            envelope_to="reply+cd-bbbbbbbbbbbbbbbb@reply.example",
            envelope_from="alice@globex.com",
        )
    )
    assert mail.text.strip() == "Très bien, merci."
    assert reply_tokens(mail) == ["cd-bbbbbbbbbbbbbbbb"]  # only the envelope names it
    assert mail.answers == ("nurture.x-1@reply.example",)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"from": "", "text": "x", "headers": "Subject: x\n"}, "'from'"),
        ({"email": "not a message at all"}, "'email'"),
        ({"from": "a@b.example", "envelope": "{not json"}, "'envelope'"),
        ({"from": "a@b.example", "envelope": '{"to": "a@b"}'}, "'envelope'"),
    ],
)
def test_unreadable_posts_name_the_field(fields: dict[str, str], field: str) -> None:
    with pytest.raises(PayloadError, match=field):
        parse_inbound(fields)


def test_reply_tokens_survive_case_changes_and_key_rotation() -> None:
    old, new = "old-secret-0123456789", "new-secret-0123456789"
    token = reply_token(old, 4242)
    rotated = LinkKeys(new, previous=old, previous_until=date(2026, 3, 31))
    assert rotated.read_reply(token.upper(), today=date(2026, 3, 2)) == 4242
    with pytest.raises(PayloadError, match="does not match"):
        rotated.read_reply(token, today=date(2026, 4, 1))  # the grace period is over
    with pytest.raises(PayloadError, match="does not match"):
        LinkKeys(new).read_reply(
            token[:-1] + ("a" if token[-1] != "a" else "b"), today=date(2026, 3, 2)
        )
    with pytest.raises(PayloadError, match="malformed"):
        LinkKeys(new).read_reply("-" * 50, today=date(2026, 3, 2))


@pytest.mark.parametrize(
    ("account_id", "email", "key"),
    [
        ("ACME-1 ", "sophie@acme-group.com", "id:acme-1"),
        (None, "Jean@Acme.fr", "domain:acme.fr"),
        ("", "paul@gmail.com", None),
        (None, "claire@orange.fr", None),
        (None, None, None),
    ],
)
def test_the_account_is_the_crm_id_else_a_company_domain(
    account_id: str | None, email: str | None, key: str | None
) -> None:
    assert account_key(account_id, email) == key
