"""Emails that come back, through the running webhook server: realistic Inbound Parse
posts (parsed and raw forms) matched, classified and acted on."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from nurture.adapters.db.tables import (
    call_tasks,
    contacts,
    enrollments,
    events,
    journal,
    suppressions,
    touches,
)
from nurture.cli import app as cli
from tests.conftest import NOW
from tests.support.live import INBOUND_SECRET, REPLY_DOMAIN, Live, Providers, live_app
from tests.support.mail import parsed, raw
from tests.support.people import enroll_all, import_people
from tests.support.run import dispatch_once, run_once

AFTERNOON = """\
id: afternoon
name: One email, sent in the afternoon only
version: 1
audience: {stages: [contact, lead, prospect], temperatures: [cold, warm, hot]}
cadence:
  gaps: {cold: 0, warm: 0, hot: 0}
  deal_size: {small: 1, medium: 1, large: 1}
send_window: {days: [mon, tue, wed, thu, fri], hours: "15:00-16:00", holidays: none}
steps:
  - {id: afternoon, channel: email, template: emails/follow-up-resource}
exit_on: [replied, meeting_booked, unsubscribed, bounced, not_interested]
"""

ACCOUNTS = """\
id: accounts
name: One email a day, stops for the whole account
version: 1
audience: {stages: [contact, lead, prospect], temperatures: [cold, warm, hot]}
cadence:
  gaps: {cold: 1, warm: 1, hot: 1}
  deal_size: {small: 1, medium: 1, large: 1}
send_window: {days: [mon, tue, wed, thu, fri, sat, sun], hours: "00:00-24:00", holidays: none}
steps:
  - {id: email-1, channel: email, template: emails/follow-up-resource}
  - {id: email-2, channel: email, template: emails/follow-up-resource}
exit_on: [replied, account_replied, account_meeting_booked]
"""

COLLEAGUES = (
    "external_id,email,first_name,last_name,company,account_id,language,owner\n"
    "a1,jean@acme.fr,Jean,Dupont,Acme,,fr,camille.martin@vigie-cyber.example\n"
    "a2,marie@acme.fr,Marie,Leroy,Acme,,fr,camille.martin@vigie-cyber.example\n"
    "a3,paul.acme@gmail.com,Paul,Girard,Acme,,fr,camille.martin@vigie-cyber.example\n"
    "a4,sophie@acme-group.com,Sophie,Blanc,Acme Group,ACME-1,fr,tom.walker@vigie-cyber.example\n"
    "a5,luc@acme-industrie.fr,Luc,Noir,Acme Industrie,ACME-1,fr,tom.walker@vigie-cyber.example\n"
    "a6,zoe@gmail.com,Zoé,Martin,Indépendante,,fr,tom.walker@vigie-cyber.example\n"
)


@pytest.fixture
def live(database_url: str, project_dir: Path, providers: Providers) -> Iterator[Live]:
    (project_dir / "sequences" / "afternoon.yaml").write_text(AFTERNOON, encoding="utf-8")
    (project_dir / "sequences" / "accounts.yaml").write_text(ACCOUNTS, encoding="utf-8")
    with live_app(
        database_url=database_url,
        project_dir=project_dir,
        providers=providers,
        as_of=NOW,
        changes={
            "email": {"reply_domain": REPLY_DOMAIN},
            "run": {"max_touches_per_day": 3},  # two sequences on the same morning
        },
    ) as wired:
        yield wired


@pytest.fixture
def sent(live: Live, tmp_path: Path) -> Live:
    """Jean and Alice enrolled; the first email went out."""
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test")
    run_once(live.app)
    return live


def post(live: Live, fields: dict[str, str], **kwargs: object) -> httpx.Response:
    body, headers = live.sendgrid.inbound_request(fields, signed=False, **kwargs)  # type: ignore[arg-type]
    url = f"{live.webhook_url}/webhooks/sendgrid/inbound/{INBOUND_SECRET}"
    return httpx.post(url, content=body, headers=headers, timeout=30)


def email_to(live: Live, address: str):  # type: ignore[no-untyped-def]
    return next(m for m in live.sendgrid.delivered() if m.to == address)


def reply_address(live: Live, address: str) -> str:
    return str(email_to(live, address).payload["reply_to"]["email"])


def answer(
    live: Live,
    address: str,
    text: str,
    message_id: str,
    *,
    sender: str | None = None,
    subject: str = "Re: NIS2",
    **extra: object,
) -> dict[str, str]:
    """A reply to the email ``address`` was sent, through its reply address."""
    return parsed(
        sender=sender or address,
        to=reply_address(live, address),
        subject=subject,
        text=text,
        at=NOW,
        message_id=message_id,
        **extra,  # type: ignore[arg-type]
    )


def message_id(live: Live, address: str) -> str:
    return email_to(live, address).headers["Message-ID"].strip("<>")


def select(live: Live, table: sa.Table, *where: sa.ColumnElement[bool]) -> list[dict]:
    with live.app.engine.connect() as connection:
        return [dict(r) for r in connection.execute(sa.select(table).where(*where)).mappings()]


def enrollment_of(live: Live, email: str) -> dict:
    [row] = select(
        live,
        enrollments,
        enrollments.c.contact_id
        == sa.select(contacts.c.id).where(contacts.c.email == email).scalar_subquery(),
    )
    return row


QUOTED_FR = """\
Bonjour Camille,

Oui, le sujet nous intéresse. Pouvez-vous m'appeler jeudi après-midi ?

Cordialement,
Jean Dupont
DSI – Acme

Le lun. 2 mars 2026 à 09:00, Vigie Cyber <bonjour@vigie-cyber.example> a écrit :
> Bonjour Jean,
> Je me permets de revenir vers vous au sujet de NIS2.
"""


def test_every_email_carries_a_signed_reply_address_and_its_own_message_id(sent: Live) -> None:
    message = email_to(sent, "jean@acme.fr")
    reply_to = message.payload["reply_to"]
    assert re.fullmatch(
        rf"reply\+[0-9a-z]+-[a-z2-7]{{16}}@{re.escape(REPLY_DOMAIN)}", reply_to["email"]
    )
    assert reply_to["name"] == "camille.martin@vigie-cyber.example"  # the owner, shown
    stored = select(sent, touches, touches.c.address == "jean@acme.fr")[0]["message_id"]
    assert message_id(sent, "jean@acme.fr") == stored
    assert stored.endswith("@" + REPLY_DOMAIN)


def test_a_plain_reply_exits_the_sequence_and_gives_the_owner_a_call_task(sent: Live) -> None:
    fields = answer(
        sent,
        "jean@acme.fr",
        QUOTED_FR,
        "CAJ8n5x=reply-1@mail.gmail.com",
        sender="Jean Dupont <jean@acme.fr>",
        subject="Re: NIS2 : par où commencer ?",
    )
    response = post(sent, fields)
    assert response.status_code == 200, response.text
    assert response.json()["kind"] == "reply"
    assert response.json()["matched_by"] == "reply address"
    assert enrollment_of(sent, "jean@acme.fr")["exit_reason"] == "replied"
    [event] = select(sent, events, events.c.type == "replied")
    assert event["payload"]["text"].startswith("Bonjour Camille,\n\nOui, le sujet nous intéresse")
    assert "a écrit" not in event["payload"]["text"]  # the quoted history is gone
    assert "Cordialement" not in event["payload"]["text"]  # and the signature
    [task] = select(sent, call_tasks, call_tasks.c.kind == "reply")
    assert (task["owner"], task["title"]) == (
        "camille.martin@vigie-cyber.example",
        "replied — follow up",
    )
    assert "appeler jeudi" in task["script"]


def test_the_same_reply_delivered_twice_is_applied_once(sent: Live) -> None:
    fields = answer(
        sent,
        "jean@acme.fr",
        "Oui, appelez-moi.",
        "dup-1@acme.fr",
    )
    assert post(sent, fields).json()["duplicate"] is False
    assert post(sent, fields).json()["duplicate"] is True
    assert len(select(sent, events, events.c.type == "replied")) == 1
    assert len(select(sent, call_tasks, call_tasks.c.kind == "reply")) == 1


GMAIL_HTML = """\
<div dir="ltr">Merci pour le guide, très clair.<div>On peut caler 30 minutes la semaine
prochaine ?</div></div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">
Le lun. 2 mars 2026 à 09:00, Vigie Cyber &lt;bonjour@vigie-cyber.example&gt; a écrit&nbsp;:<br>
</div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex">Bonjour Alice,<br>
Voici notre guide NIS2.</blockquote></div>
"""


def test_an_html_reply_is_matched_by_its_thread_and_stored_without_the_quote(sent: Live) -> None:
    fields = parsed(
        sender="Alice Smith <alice@globex.com>",
        to="Tom Walker <tom.walker@vigie-cyber.example>",  # answered the owner, not the token
        subject="Re: NIS2",
        text="",
        html=GMAIL_HTML,
        at=NOW,
        message_id="CAF=html-1@mail.gmail.com",
        in_reply_to=message_id(sent, "alice@globex.com"),
    )
    fields.pop("text")
    body = post(sent, fields).json()
    assert (body["kind"], body["matched_by"]) == ("reply", "thread")
    [event] = select(sent, events, events.c.type == "replied")
    assert event["payload"]["text"].startswith("Merci pour le guide, très clair.")
    assert "Voici notre guide" not in event["payload"]["text"]
    assert enrollment_of(sent, "alice@globex.com")["exit_reason"] == "replied"


OOO_FR = """\
Bonjour,

Je suis absente du bureau jusqu'au vendredi 6 mars inclus, avec un accès limité à mes
e-mails. De retour le lundi 9 mars 2026.

Pour toute urgence, contactez Paul Martin au 01 23 45 67 89.

Jean
"""


def test_a_french_out_of_office_pauses_until_the_return_date_then_resumes(sent: Live) -> None:
    fields = answer(
        sent,
        "jean@acme.fr",
        OOO_FR,
        "ooo-fr-1@acme.fr",
        subject="Réponse automatique : NIS2 : par où commencer ?",
        extra_headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
    )
    body = post(sent, fields).json()
    assert (body["kind"], body["paused_until"]) == ("auto_reply", "2026-03-09")
    paused = enrollment_of(sent, "jean@acme.fr")
    assert (paused["status"], paused["exit_reason"]) == ("paused", None)
    assert select(sent, events, events.c.type == "replied") == []  # not a reply
    assert [r["type"] for r in select(sent, events)] == ["auto_reply"]
    run_once(sent.at(NOW + timedelta(days=3)))
    assert enrollment_of(sent, "jean@acme.fr")["status"] == "paused"  # still away on Thursday
    assert len([m for m in sent.sendgrid.delivered() if m.to == "jean@acme.fr"]) == 1
    run_once(sent.at(datetime(2026, 3, 9, 8, 0, tzinfo=UTC)))
    back = enrollment_of(sent, "jean@acme.fr")
    assert back["status"] == "active"
    kinds = [r["kind"] for r in select(sent, journal, journal.c.contact_id == paused["contact_id"])]
    assert kinds.count("paused") == 1
    assert kinds.count("resumed") == 1


OOO_EN = """\
Thank you for your email. I am out of the office until Friday, March 13th with limited
access to email. For urgent matters, please contact support@globex.com.

Best regards,
Alice
"""


def test_an_english_out_of_office_pauses_until_the_day_after_its_last_day(sent: Live) -> None:
    fields = answer(
        sent,
        "alice@globex.com",
        OOO_EN,
        "ooo-en-1@globex.com",
        subject="Automatic reply: NIS2",
        extra_headers={"X-Auto-Response-Suppress": "All", "Precedence": "auto_reply"},
    )
    body = post(sent, fields).json()
    assert (body["kind"], body["paused_until"]) == ("auto_reply", "2026-03-14")
    assert enrollment_of(sent, "alice@globex.com")["status"] == "paused"


def test_an_out_of_office_without_a_date_pauses_five_business_days(sent: Live) -> None:
    fields = answer(
        sent,
        "alice@globex.com",
        "I am currently out of the office with limited access to email.",
        "ooo-en-2@globex.com",
        subject="Out of Office: NIS2",
    )
    assert post(sent, fields).json()["paused_until"] == "2026-03-09"


FORWARDED = """\
Camille, je transfère à Paul qui gère ce sujet chez nous. Il vous rappellera.

Jean

---------- Forwarded message ---------
De : Vigie Cyber <bonjour@vigie-cyber.example>
Date: lun. 2 mars 2026 à 09:00
Subject: NIS2 : par où commencer ?
To: Jean Dupont <jean@acme.fr>

Bonjour Jean,
Je me permets de revenir vers vous.
"""


def test_a_forwarded_message_keeps_only_the_note_above_the_forward(sent: Live) -> None:
    fields = parsed(
        sender="jean@acme.fr",
        to=f"reply@{REPLY_DOMAIN}",  # no token: matched by the sender's address
        subject="Fwd: NIS2 : par où commencer ?",
        text=FORWARDED,
        at=NOW,
        message_id="fwd-1@acme.fr",
    )
    body = post(sent, fields).json()
    assert (body["kind"], body["matched_by"]) == ("reply", "sender address")
    [event] = select(sent, events, events.c.type == "replied")
    assert event["payload"]["text"] == (
        "Camille, je transfère à Paul qui gère ce sujet chez nous. Il vous rappellera.\n\nJean"
    )


def test_a_reply_to_a_touch_whose_contact_was_removed_is_kept_unmatched(
    sent: Live, database_url: str, repo_dir: Path
) -> None:
    address = reply_address(sent, "jean@acme.fr")
    with sent.app.engine.begin() as connection:
        connection.execute(sa.delete(contacts).where(contacts.c.email == "jean@acme.fr"))
    fields = parsed(
        sender="jean@acme.fr",
        to=address,
        subject="Re: NIS2",
        text="Oui",
        at=NOW,
        message_id="late-1@acme.fr",
    )
    body = post(sent, fields).json()
    assert body["contact_id"] is None
    assert "which no longer exists" in body["unmatched"]
    [event] = select(sent, events)
    assert event["status"] == "unmatched"
    assert "which no longer exists" in event["error"]
    env = {"NURTURE_DATABASE_URL": database_url, "NURTURE_PROJECT_DIR": str(repo_dir)}
    shown = CliRunner().invoke(cli, ["events", "list", "--unmatched", "--json"], env=env)
    [item] = json.loads(shown.stdout)
    assert (item["type"], item["origin"]) == ("replied", "jean@acme.fr")
    assert "which no longer exists" in item["error"]


DSN = """\
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {reply_to}
Subject: Delivery Status Notification (Failure)
Message-ID: <dsn-1@mx.google.com>
Date: Mon, 02 Mar 2026 09:05:00 +0000
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset="UTF-8"

Address not found: your message wasn't delivered to jean@acme.fr because the address
couldn't be found.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Arrival-Date: Mon, 02 Mar 2026 09:04:58 +0000

Final-Recipient: rfc822; jean@acme.fr
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.

--b1
Content-Type: text/rfc822-headers

Message-ID: <{message_id}>
From: Vigie Cyber <bonjour@vigie-cyber.example>
To: jean@acme.fr
Subject: NIS2

--b1--
"""


def test_a_dsn_hard_bounce_in_raw_form_suppresses_the_address(sent: Live) -> None:
    mime = DSN.format(
        reply_to=reply_address(sent, "jean@acme.fr"), message_id=message_id(sent, "jean@acme.fr")
    )
    fields = raw(mime, envelope_to=reply_address(sent, "jean@acme.fr"), envelope_from="")
    body = post(sent, fields).json()
    assert body["kind"] == "bounce"
    [row] = select(sent, suppressions)
    assert (row["channel"], row["address"], row["reason"]) == (
        "email",
        "jean@acme.fr",
        "hard bounce",
    )
    assert enrollment_of(sent, "jean@acme.fr")["exit_reason"] == "bounced"


def test_an_unsubscribe_request_opts_out_with_their_words_as_the_reason(sent: Live) -> None:
    fields = answer(
        sent,
        "alice@globex.com",
        "Merci de me désinscrire de vos envois.\n\nAlice",
        "unsub-1@globex.com",
    )
    assert post(sent, fields).json()["kind"] == "unsubscribe"
    [row] = select(sent, suppressions)
    assert row["address"] == "alice@globex.com"
    assert row["reason"] == "unsubscribe: Merci de me désinscrire de vos envois. Alice"
    assert enrollment_of(sent, "alice@globex.com")["exit_reason"] == "unsubscribed"


def test_a_forged_token_from_a_stranger_matches_nothing(sent: Live) -> None:
    genuine = reply_address(sent, "jean@acme.fr")
    forged = re.sub(r"-[a-z2-7]{16}@", "-aaaaaaaaaaaaaaaa@", genuine)
    fields = parsed(
        sender="attacker@evil.example",
        to=forged,
        subject="Re: NIS2",
        text="unsubscribe",
        at=NOW,
        message_id="forged-1@evil.example",
    )
    body = post(sent, fields).json()
    assert body["contact_id"] is None
    assert "reply token refused" in body["unmatched"]
    # Their own address may stop receiving mail; nobody else's.
    assert [r["address"] for r in select(sent, suppressions)] == ["attacker@evil.example"]
    assert enrollment_of(sent, "jean@acme.fr")["status"] == "active"


@pytest.mark.parametrize(
    ("where", "status"),
    [("no secret", 401), ("wrong secret", 403), ("basic auth", 200)],
)
def test_a_post_needs_the_shared_secret(sent: Live, where: str, status: int) -> None:
    fields = parsed(
        sender="alice@globex.com",
        to="x@" + REPLY_DOMAIN,
        subject="hello",
        text="hello",
        at=NOW,
        message_id=f"auth-{status}@globex.com",
    )
    body, headers = sent.sendgrid.inbound_request(fields, signed=False)
    url = f"{sent.webhook_url}/webhooks/sendgrid/inbound"
    if where == "wrong secret":
        url += "/not-the-secret-at-all"
    auth = ("nurture", INBOUND_SECRET) if where == "basic auth" else None
    response = httpx.post(url, content=body, headers=headers, auth=auth, timeout=30)
    assert response.status_code == status
    assert len(select(sent, events)) == (1 if status == 200 else 0)


def test_signed_posts_are_verified_when_the_security_policy_key_is_set(
    database_url: str, project_dir: Path, providers: Providers
) -> None:
    changes = {"webhooks": {"sendgrid_inbound_public_key": providers.sendgrid.public_key}}
    with live_app(
        database_url=database_url,
        project_dir=project_dir,
        providers=providers,
        as_of=NOW,
        changes=changes,
    ) as signed:
        fields = parsed(
            sender="x@example.com",
            to="a@" + REPLY_DOMAIN,
            subject="s",
            text="t",
            at=NOW,
            message_id="signed-1@example.com",
        )
        url = f"{signed.webhook_url}/webhooks/sendgrid/inbound"
        stamp = int(NOW.timestamp())
        good, headers = providers.sendgrid.inbound_request(fields, timestamp=stamp)
        unsigned, plain = providers.sendgrid.inbound_request(fields, signed=False)
        tampered = good.replace(b"signed-1", b"signed-2")
        assert httpx.post(url, content=unsigned, headers=plain).status_code == 403
        assert httpx.post(url, content=tampered, headers=headers).status_code == 403
        assert httpx.post(url, content=good, headers=headers).status_code == 200


def test_malformed_posts_get_400_and_nothing_is_stored(sent: Live) -> None:
    url = f"{sent.webhook_url}/webhooks/sendgrid/inbound/{INBOUND_SECRET}"
    assert httpx.post(url, content=b'{"from": "x"}').status_code == 400
    no_sender = parsed(
        sender="", to="a@" + REPLY_DOMAIN, subject="s", text="t", at=NOW, message_id="m@x"
    )
    response = post(sent, no_sender)
    assert (response.status_code, "field 'from'" in response.text) == (400, True)
    assert select(sent, events) == []


def test_a_body_over_the_inbound_limit_gets_413(
    database_url: str, project_dir: Path, providers: Providers
) -> None:
    with live_app(
        database_url=database_url,
        project_dir=project_dir,
        providers=providers,
        as_of=NOW,
        changes={"limits": {"max_inbound_body_bytes": 50_000}},
    ) as small:
        fields = parsed(
            sender="a@b.example",
            to="c@d.example",
            subject="s",
            text="x" * 60_000,
            at=NOW,
            message_id="big@b.example",
        )
        assert post(small, fields).status_code == 413


def test_a_reply_at_ten_cancels_what_was_planned_for_three(live: Live, tmp_path: Path) -> None:
    import_people(live.app, tmp_path)
    enroll_all(live.app, "channels-test", where="contact.email == 'jean@acme.fr'")
    enroll_all(live.app, "afternoon", where="contact.email == 'jean@acme.fr'")
    run_once(live.app)  # 09:00 Paris: the first email leaves, the other waits for 15:00
    [later] = select(live, touches, touches.c.status == "scheduled")
    assert later["deliver_at"].astimezone(UTC).hour == 14  # 15:00 Paris
    ten = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 Paris
    fields = parsed(
        sender="jean@acme.fr",
        to=reply_address(live, "jean@acme.fr"),
        subject="Re: NIS2",
        text="Merci, je vous rappelle demain.",
        at=ten,
        message_id="ten-1@acme.fr",
    )
    live.at(ten)
    assert post(live, fields).json()["kind"] == "reply"
    dispatch_once(live.at(datetime(2026, 3, 2, 14, 5, tzinfo=UTC)))
    assert len([m for m in live.sendgrid.delivered() if m.to == "jean@acme.fr"]) == 1
    [cancelled] = select(live, touches, touches.c.id == later["id"])
    assert cancelled["status"] == "cancelled"


def test_a_colleague_answering_stops_the_whole_account(live: Live, tmp_path: Path) -> None:
    import_people(live.app, tmp_path, COLLEAGUES)
    enroll_all(live.app, "accounts")
    run_once(live.app)
    fields = parsed(
        sender="Marie Leroy <marie@acme.fr>",  # answers the email Jean was sent
        to=reply_address(live, "jean@acme.fr"),
        subject="Re: NIS2",
        text="Bonjour, je reprends le sujet pour Jean. On en parle mardi ?",
        at=NOW,
        message_id="colleague-1@acme.fr",
    )
    assert post(live, fields).json()["matched_by"] == "reply address"
    states = {
        email: (row["status"], row["exit_reason"])
        for email in ("jean@acme.fr", "marie@acme.fr", "paul.acme@gmail.com", "zoe@gmail.com")
        for row in [enrollment_of(live, email)]
    }
    assert states == {
        "jean@acme.fr": ("exited", "replied"),
        "marie@acme.fr": ("exited", "account_replied"),
        "paul.acme@gmail.com": ("active", None),  # a free-mail address is no account
        "zoe@gmail.com": ("active", None),
    }
    [why] = [
        r["reason"]
        for r in select(live, journal, journal.c.kind == "exited")
        if "account_replied" in r["reason"]
    ]
    [jean] = [r["id"] for r in select(live, contacts, contacts.c.email == "jean@acme.fr")]
    # The colleague by id: the journal outlives an erasure, so it holds no names.
    assert f"contact {jean} of the same account replied" in why


def test_an_account_id_joins_colleagues_across_domains(live: Live, tmp_path: Path) -> None:
    import_people(live.app, tmp_path, COLLEAGUES)
    enroll_all(live.app, "accounts")
    run_once(live.app)
    fields = answer(
        live,
        "sophie@acme-group.com",
        "Intéressant, appelez-moi.",
        "group-1@acme-group.com",
    )
    post(live, fields)
    assert enrollment_of(live, "luc@acme-industrie.fr")["exit_reason"] == "account_replied"
    assert enrollment_of(live, "jean@acme.fr")["status"] == "active"  # another account


def test_replies_are_forwarded_to_the_owner_when_asked(
    database_url: str, project_dir: Path, providers: Providers, tmp_path: Path
) -> None:
    changes = {"email": {"reply_domain": REPLY_DOMAIN, "forward_replies": True}}
    with live_app(
        database_url=database_url,
        project_dir=project_dir,
        providers=providers,
        as_of=NOW,
        changes=changes,
    ) as forwarding:
        import_people(forwarding.app, tmp_path)
        enroll_all(forwarding.app, "channels-test")
        run_once(forwarding.app)
        fields = answer(
            forwarding,
            "jean@acme.fr",
            QUOTED_FR,
            "fwd-owner-1@acme.fr",
            sender="Jean Dupont <jean@acme.fr>",
            subject="Re: NIS2 : par où commencer ?",
        )
        assert post(forwarding, fields).status_code == 200
        [copy] = [
            m
            for m in forwarding.sendgrid.delivered()
            if m.to == "camille.martin@vigie-cyber.example"
        ]
        assert copy.payload["subject"] == "Fwd: Re: NIS2 : par où commencer ?"
        assert copy.payload["reply_to"]["email"] == "jean@acme.fr"  # answering reaches Jean
        text = copy.payload["content"][0]["value"]
        assert "Oui, le sujet nous intéresse" in text
        assert "a écrit" not in text
