"""What an email that comes back is: a reply, an out-of-office, a bounce or a request to
stop, and when an absent person is back.

Pure functions over what the edge read of the message (``nurture.mail`` parses it). The
order matters: a bounce is a machine's report, an auto-reply a machine's answer, and only
a person's answer can ask to stop or be a reply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

__all__ = [
    "MailKind",
    "ReturnDate",
    "Verdict",
    "classify",
    "is_daemon",
    "return_date",
]


class MailKind(StrEnum):
    """What an email that came back is."""

    REPLY = "reply"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    UNSUBSCRIBE = "unsubscribe"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The kind of a message and why it was read so (shown to ops)."""

    kind: MailKind
    why: str
    #: For a bounce: whether the address is dead for good (a 5.x.x status).
    hard: bool = False


#: Subjects of automatic answers, English and French (the header checks come first).
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:(?:re|tr|fwd?)\s*:\s*)?(?:"
    r"out of (?:the )?office|automatic reply|auto(?:matic)?[- ]?(?:reply|response)|"
    r"away from (?:the )?office|on vacation|on leave|autoreply|"
    r"absen(?:ce|t)|r[ée]ponse automatique|message d'absence|"
    r"(?:je suis )?en cong[ée]s?|hors du bureau"
    r")",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver(?:able|ed)|delivery status notification|mail delivery (?:failed|failure)|"
    r"returned mail|delivery has failed|non remis|[ée]chec de (?:la )?(?:remise|distribution)|"
    r"message non distribu[ée]",
    re.IGNORECASE,
)
_DAEMON = re.compile(r"^(?:mailer-daemon|postmaster)@", re.IGNORECASE)
_AUTO_PRECEDENCE = {"auto_reply", "bulk", "junk"}
#: A person asking to be left alone, in the first lines of their answer.
_STOP_WORDS = re.compile(
    r"\b(?:unsubscribe|remove me|take me off|opt[- ]?out|stop (?:emailing|sending|contacting)|"
    r"d[ée]sinscri(?:re|vez|ption)|d[ée]sabonne|"
    r"ne (?:\w+\s+){0,2}plus (?:recevoir|[êe]tre contact)|retirez[- ]moi|"
    r"supprimez[- ]moi|ne me contactez plus|arr[êe]tez de m'[ée]crire)\b",
    re.IGNORECASE,
)
_STOP_ALONE = re.compile(r"^\W*(?:stop|arr[êe]t|unsubscribe)\W*$", re.IGNORECASE)
_STATUS = re.compile(r"^\s*Status:\s*([245])\.\d{1,3}\.\d{1,3}", re.IGNORECASE | re.MULTILINE)


def classify(
    *,
    headers: Mapping[str, str],
    sender: str,
    subject: str,
    reply_text: str,
    report: str | None,
) -> Verdict:
    """The kind of a message. ``headers`` has lower-case names; ``reply_text`` is the
    person's own words (quotes and signature removed); ``report`` is the delivery-status
    part of a ``multipart/report`` (``None`` when the message has none)."""
    if report is not None or is_daemon(sender) or _BOUNCE_SUBJECT.search(subject):
        status = _STATUS.search(report or reply_text)
        code = status.group(1) if status else None
        hard = code == "5" or (code is None and report is not None and "failed" in report.lower())
        why = f"delivery status {code}.x.x" if code else "a delivery status notification"
        return Verdict(MailKind.BOUNCE, why, hard=hard)
    automatic = _automatic(headers, subject)
    if automatic is not None:
        return Verdict(MailKind.AUTO_REPLY, automatic)
    first_lines = "\n".join(reply_text.strip().splitlines()[:5])
    if _STOP_ALONE.match(reply_text.strip()) or _STOP_WORDS.search(first_lines):
        return Verdict(MailKind.UNSUBSCRIBE, "asks to stop receiving emails")
    return Verdict(MailKind.REPLY, "a person's answer")


def is_daemon(sender: str) -> bool:
    """Whether ``sender`` is a mail server's own address (a bounce comes from there)."""
    return _DAEMON.match(sender) is not None


def _automatic(headers: Mapping[str, str], subject: str) -> str | None:
    submitted = headers.get("auto-submitted", "").strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    for name in ("x-autoreply", "x-autorespond"):
        if headers.get(name, "").strip():
            return f"{name} header"
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    if _AUTO_SUBJECT.search(subject):
        return "an automatic-reply subject"
    return None


@dataclass(frozen=True, slots=True)
class ReturnDate:
    """When an absent person is back, and whether their message said so."""

    day: date
    stated: bool


#: Words before the day a person is back (the date itself), or the last day away.
_BACK = re.compile(
    r"\b(?:back|return|returning|retour|reviens|reprise|reprends|de nouveau)\b", re.IGNORECASE
)
_UNTIL = re.compile(r"\b(?:until|till|through|jusqu'?(?:au|à|a)|au)\s*$", re.IGNORECASE)
_HORIZON = timedelta(days=180)
_SEARCH_SETTINGS = {"PREFER_DATES_FROM": "future", "DATE_ORDER": "DMY"}


def return_date(text: str, *, received: datetime, default_days: int) -> ReturnDate:
    """The day an out-of-office says its writer is back (English or French dates, read
    by ``dateparser``), else ``default_days`` business days after ``received``."""
    found = _dates_in(text, received)
    if found:
        return ReturnDate(max(found), stated=True)
    day, left = received.date(), default_days
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return ReturnDate(day, stated=False)


def _dates_in(text: str, received: datetime) -> list[date]:
    from dateparser.search import search_dates

    base = received.replace(tzinfo=None)
    settings = {**_SEARCH_SETTINGS, "RELATIVE_BASE": base}
    out: list[date] = []
    preferred: list[date] = []
    for sentence in re.split(r"(?<=[.!?\n])\s+", text[:4000]):
        hits = search_dates(sentence, languages=["fr", "en"], settings=settings) or []
        for phrase, moment in hits:
            if not any(ch.isdigit() for ch in phrase):
                continue  # "Je" read as a weekday: only dates with a number count
            day = moment.date()
            before = sentence[: sentence.find(phrase)]
            if _UNTIL.search(before):
                day += timedelta(days=1)  # "until the 27th": back the day after
            if not base.date() < day <= (base + _HORIZON).date():
                continue
            out.append(day)
            if _BACK.search(sentence):
                preferred.append(day)
    return preferred or out
