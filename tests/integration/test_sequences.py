from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from nurture.adapters.db.tables import enrollments, journal, sequence_versions
from nurture.bootstrap import App
from nurture.commands.enrollment import enroll
from nurture.commands.versions import migrate_enrollments
from nurture.errors import SpecError
from nurture.views.simulate import simulate
from tests.support.data import import_csv

CONTACTS = """\
external_id,email,first_name,role,sector,company_size,country,phone,consent_sms
c1,jean@acme.fr,Jean,DSI,industry,200,FR,06 12 34 56 78,yes
c2,alice@globex.com,Alice,CTO,software,80,US,+1 212 555 0100,no
c3,bob@tiny.fr,Bob,Stagiaire,retail,5,FR,,no
"""


@pytest.fixture
def base(app: App, tmp_path: Path) -> App:
    import_csv(app, tmp_path, CONTACTS)
    return app


def count(app: App, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    with app.engine.connect() as connection:
        query = sa.select(sa.func.count()).select_from(table).where(*where)
        return int(connection.execute(query).scalar_one())


def test_enroll_by_condition_records_each_enrollment(base: App) -> None:
    with base.uow() as uow:
        report = enroll(
            uow=uow,
            project=base.project,
            sequence_id="cold-outbound",
            now=base.now(),
            where="contact.sector in ['industry', 'software']",
        )
    assert len(report.enrolled) == 2
    assert count(base, enrollments, enrollments.c.status == "active") == 2
    assert count(base, journal, journal.c.kind == "enrolled") == 2
    assert count(base, sequence_versions) == 1  # the version the enrollments are pinned to


def test_a_contact_is_never_enrolled_twice_at_once(base: App) -> None:
    for _ in range(2):
        with base.uow() as uow:
            report = enroll(
                uow=uow,
                project=base.project,
                sequence_id="cold-outbound",
                now=base.now(),
                contact_ref="c1",
            )
    assert report.enrolled == []
    assert report.refused == [(1, "jean@acme.fr", "already enrolled in cold-outbound")]
    assert count(base, enrollments) == 1


def test_outside_the_audience_or_suppressed_is_refused_with_the_reason(base: App) -> None:
    with base.uow() as uow:
        uow.suppressions.suppress("email", "alice@globex.com", reason="unsubscribe", at=base.now())
        uow.commit()
    with base.uow() as uow:
        report = enroll(
            uow=uow, project=base.project, sequence_id="hot-prospect", now=base.now(), where="True"
        )
        reasons = {ref: reason for _, ref, reason in report.refused}
    assert reasons["alice@globex.com"] == "suppressed (unsubscribe)"
    assert reasons["jean@acme.fr"].startswith("stage contact is not in the audience (prospect)")
    assert report.enrolled == []


def test_editing_a_sequence_without_bumping_its_version_is_refused(
    base: App, tmp_path: Path
) -> None:
    with base.uow() as uow:
        enroll(
            uow=uow,
            project=base.project,
            sequence_id="cold-outbound",
            now=base.now(),
            contact_ref="c1",
        )
    sequence = base.project.sequence("cold-outbound")
    edited = sequence.model_copy(update={"name": "Renamed without a version bump"})
    with base.uow() as uow, pytest.raises(SpecError, match="changed but its version is still 1"):
        uow.sequences.register(edited, now=base.now())


def test_migrate_moves_running_enrollments_by_step_id(base: App) -> None:
    with base.uow() as uow:
        enroll(
            uow=uow, project=base.project, sequence_id="cold-outbound", now=base.now(), where="True"
        )
        # Jean is at call-2, Alice at content-1 (a step version 2 drops).
        uow.connection.execute(
            enrollments.update().where(enrollments.c.contact_id == 1).values(step_index=2)
        )
        uow.connection.execute(
            enrollments.update().where(enrollments.c.contact_id == 2).values(step_index=3)
        )
        uow.commit()
    v1 = base.project.sequence("cold-outbound")
    v2 = v1.model_copy(update={"version": 2, "steps": [s for s in v1.steps if s.id != "content-1"]})
    base.project.sequences["cold-outbound"] = v2
    with base.uow() as uow:
        dry = migrate_enrollments(
            uow=uow,
            project=base.project,
            sequence_id="cold-outbound",
            to_version=2,
            now=base.now(),
            dry_run=True,
        )
    assert [m["to"] for m in dry.moves] == ["v2 step 3 (call-2)", "v2 step 1 (call-1)"]
    assert [s["reason"] for s in dry.stuck] == ["next step 'content-1' does not exist in version 2"]
    assert count(base, enrollments, enrollments.c.version == 2) == 0  # a dry run changes nothing
    with base.uow() as uow:
        migrate_enrollments(
            uow=uow,
            project=base.project,
            sequence_id="cold-outbound",
            to_version=2,
            now=base.now(),
            dry_run=False,
        )
    assert count(base, enrollments, enrollments.c.version == 2) == 2
    assert count(base, journal, journal.c.kind == "migrated") == 2


def test_simulate_forecasts_without_writing(base: App) -> None:
    before = count(base, enrollments) + count(base, journal)
    with base.uow(read_only=True) as uow:
        result = simulate(
            uow=uow,
            project=base.project,
            sequence_id="cold-outbound",
            days=30,
            now=base.now(),
            defaults=base.row_defaults,
            holidays=base.holidays,
        )
    assert result["source"] == "contacts"
    assert result["contacts"] == 3
    assert result["totals"]["call"] == 9  # three calls each
    assert result["totals"]["sms"] == 1  # only Jean has a phone and SMS consent
    assert count(base, enrollments) + count(base, journal) == before
