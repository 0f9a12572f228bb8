"""A few contacts the channel and run tests share."""

from __future__ import annotations

from pathlib import Path

from nurture.bootstrap import App
from nurture.commands.enrollment import enroll
from tests.support.data import import_csv

__all__ = ["PEOPLE", "enroll_all", "import_people"]

PEOPLE = (
    "external_id,email,first_name,last_name,company,role,sector,company_size,country,language,"
    "phone,consent_sms,owner\n"
    "c1,jean@acme.fr,Jean,Dupont,Acme,DSI,industry,200,FR,fr,06 12 34 56 78,yes,"
    "camille.martin@vigie-cyber.example\n"
    "c2,alice@globex.com,Alice,Smith,Globex,CTO,software,80,US,en,+1 212 555 0100,no,"
    "tom.walker@vigie-cyber.example\n"
)


def import_people(app: App, tmp_path: Path, text: str = PEOPLE) -> None:
    import_csv(app, tmp_path, text, name="people.csv")


def enroll_all(app: App, sequence_id: str, where: str = "True") -> list[int]:
    with app.uow() as uow:
        report = enroll(
            uow=uow, project=app.project, sequence_id=sequence_id, now=app.now(), where=where
        )
    return report.enrolled
