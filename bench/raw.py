"""The raw limit: a minimal sqlite3 loop over the same due rows, rendering the same
templates and writing the same outbox rows, with nothing else (no budget, no windows, no
claims, no re-scoring, no Prefect)."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from nurture.adapters.templates import TemplateStore
from nurture.bootstrap import project_tools
from nurture.domain.contacts import Contact
from nurture.specs.project import load_project

__all__ = ["raw_loop"]


def raw_loop(database: Path, project_dir: Path, as_of: datetime) -> tuple[int, float]:
    """(touches written, seconds)."""
    project = load_project(project_dir, tools=project_tools())
    store: TemplateStore = project.templates
    started = time.perf_counter()
    connection = sqlite3.connect(database)
    stamp = as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = connection.execute(
        "SELECT e.id, e.contact_id, e.sequence_id, e.step_index, c.first_name, c.last_name, "
        "c.company, c.role, c.email, c.phone, c.language, c.owner FROM enrollments e "
        "JOIN contacts c ON c.id = e.contact_id "
        "WHERE e.status = 'active' AND e.next_due_at <= ?",
        (stamp,),
    ).fetchall()
    connection.execute(
        "CREATE TABLE IF NOT EXISTS raw_outbox (touch_key TEXT PRIMARY KEY, contact_id INTEGER,"
        " channel TEXT, address TEXT, subject TEXT, status TEXT)"
    )
    out = []
    for (
        enrollment_id,
        contact_id,
        sequence_id,
        index,
        first,
        last,
        company,
        role,
        email,
        phone,
        language,
        owner,
    ) in rows:
        step = project.sequences[sequence_id].steps[index]
        contact = Contact(
            id=contact_id,
            first_name=first,
            last_name=last,
            company=company,
            role=role,
            email=email,
            phone=phone,
            language=language,
            owner=owner,
        )
        context = {
            "contact": {
                "first_name": first,
                "last_name": last,
                "full_name": contact.full_name,
                "company": company,
                "role": role,
                "bant": {},
                "score": 0,
                "temperature": "cold",
                "stage": "contact",
                "phone": phone,
                "company_size": None,
                "sector": None,
                "language": language,
            },
            "owner": {"name": "", "first_name": "", "email": owner or ""},
            "sender": {"name": "Vigie Cyber", "email": "bonjour@vigie-cyber.example"},
            "unsubscribe_url": "https://x/u/token",
            "content": {
                "title": "t",
                "url": "https://x/c/token",
                "summary": "",
                "topic": "t",
                "kind": "guide",
            },
            "sequence": None,
            "step": None,
        }
        subject = None
        medium = step.sends_on
        if medium == "email":
            rendered = store.render_email(step.carrier_template, language=language, context=context)
            subject = rendered.subject
        elif medium == "sms":
            store.render_sms(step.carrier_template, language=language, context=context)
        else:
            store.render_call(step.carrier_template, language=language, context=context)
        out.append(
            (
                f"{enrollment_id}:{step.id}",
                contact_id,
                step.channel.value,
                email if medium == "email" else phone,
                subject,
                "sent",
            )
        )
    connection.executemany("INSERT OR IGNORE INTO raw_outbox VALUES (?, ?, ?, ?, ?, ?)", out)
    connection.commit()
    connection.close()
    return len(out), time.perf_counter() - started
