"""The ports: Protocols the use cases talk to, each with one real adapter and one
in-memory fake for tests. ``messages`` holds the clock, the senders and what crosses them;
``repositories`` the unit of work and its repositories."""

from nurture.ports.messages import (
    Clock,
    Dialer,
    EmailSender,
    OutgoingEmail,
    OutgoingSms,
    SendReceipt,
    SmsSender,
    StoredContact,
    TemplateCatalog,
    Templates,
)
from nurture.ports.privacy import Erased, Privacy
from nurture.ports.records import (
    CallTasks,
    Events,
    Journal,
    QueuedCall,
    Runs,
    ScorePoint,
    SequenceVersions,
    Suppression,
    Suppressions,
)
from nurture.ports.reports import ReportData
from nurture.ports.repositories import Contacts, Enrollments, Fading, Touches, UnitOfWork

__all__ = [
    "CallTasks",
    "Clock",
    "Contacts",
    "Dialer",
    "EmailSender",
    "Enrollments",
    "Erased",
    "Events",
    "Fading",
    "Journal",
    "OutgoingEmail",
    "OutgoingSms",
    "Privacy",
    "QueuedCall",
    "ReportData",
    "Runs",
    "ScorePoint",
    "SendReceipt",
    "SequenceVersions",
    "SmsSender",
    "StoredContact",
    "Suppression",
    "Suppressions",
    "TemplateCatalog",
    "Templates",
    "Touches",
    "UnitOfWork",
]
