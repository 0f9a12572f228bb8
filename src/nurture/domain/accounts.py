"""Accounts: the company a contact belongs to, so that an answer from one person can stop
the sequences of their colleagues (``exit_on: [account_replied]``)."""

from __future__ import annotations

__all__ = ["FREE_MAIL_DOMAINS", "account_key"]

#: Mailbox providers and ISPs: two people on gmail.com are not one company.
FREE_MAIL_DOMAINS = frozenset(
    {
        # worldwide
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "gmx.com",
        "gmx.net", "mail.com", "protonmail.com", "proton.me", "pm.me", "zoho.com",
        "yandex.com", "yandex.ru", "mail.ru", "tutanota.com", "fastmail.com", "hey.com",
        # France
        "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "neuf.fr", "laposte.net", "bbox.fr",
        "numericable.fr", "aliceadsl.fr", "club-internet.fr", "hotmail.fr", "outlook.fr",
        "live.fr", "yahoo.fr", "gmx.fr", "libertysurf.fr", "cegetel.net", "noos.fr",
        # neighbours
        "web.de", "t-online.de", "gmx.de", "yahoo.de", "hotmail.de", "libero.it", "virgilio.it",
        "tiscali.it", "yahoo.it", "hotmail.it", "skynet.be", "telenet.be", "bluewin.ch",
        "hotmail.co.uk", "yahoo.co.uk", "btinternet.com", "sky.com", "yahoo.es", "hotmail.es",
        "telefonica.net",
    }
)  # fmt: skip


def account_key(account_id: str | None, email: str | None) -> str | None:
    """The account a contact belongs to: its ``account_id`` when it has one, else the
    domain of its email unless that is a free-mail or ISP domain, else none."""
    if account_id and account_id.strip():
        return "id:" + account_id.strip().lower()
    domain = (email or "").rpartition("@")[2].strip().lower()
    if not domain or domain in FREE_MAIL_DOMAINS:
        return None
    return "domain:" + domain
