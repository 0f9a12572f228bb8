"""Snapshots of sequence versions: running enrollments keep the version they started with."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import sqlalchemy as sa

from nurture.adapters.db.tables import sequence_versions
from nurture.domain.sequences import Sequence
from nurture.errors import SpecError

__all__ = ["SqlSequenceVersions", "checksum"]


def checksum(sequence: Sequence) -> str:
    """A fingerprint of a sequence definition."""
    payload = json.dumps(sequence.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


class SqlSequenceVersions:
    """Every version of every sequence ever used."""

    def __init__(self, connection: sa.Connection) -> None:
        self._db = connection
        self._cache: dict[tuple[str, int], Sequence] = {}

    def register(self, sequence: Sequence, *, now: datetime, file: str | None = None) -> None:
        """Keep a snapshot of ``sequence``; refuse an edit that did not bump the version."""
        digest = checksum(sequence)
        row = self._db.execute(
            sa.select(sequence_versions.c.checksum).where(
                sequence_versions.c.sequence_id == sequence.id,
                sequence_versions.c.version == sequence.version,
            )
        ).first()
        if row is None:
            self._db.execute(
                sequence_versions.insert().values(
                    sequence_id=sequence.id,
                    version=sequence.version,
                    definition=sequence.model_dump(mode="json"),
                    checksum=digest,
                    loaded_at=now,
                )
            )
        elif row.checksum != digest:
            where = file or f"sequence {sequence.id!r}"
            raise SpecError(
                f"{where} changed but its version is still {sequence.version}: bump `version` "
                "so that running enrollments keep the steps they started with"
            )
        self._cache[(sequence.id, sequence.version)] = sequence

    def get(self, sequence_id: str, version: int) -> Sequence | None:
        """The snapshot of ``sequence_id`` at ``version``."""
        key = (sequence_id, version)
        if key not in self._cache:
            definition = self._db.execute(
                sa.select(sequence_versions.c.definition).where(
                    sequence_versions.c.sequence_id == sequence_id,
                    sequence_versions.c.version == version,
                )
            ).scalar_one_or_none()
            if definition is None:
                return None
            self._cache[key] = Sequence.model_validate(definition)
        return self._cache[key]

    def versions(self, sequence_id: str) -> list[int]:
        """Every stored version of ``sequence_id``, oldest first."""
        rows = self._db.execute(
            sa.select(sequence_versions.c.version)
            .where(sequence_versions.c.sequence_id == sequence_id)
            .order_by(sequence_versions.c.version)
        )
        return [row.version for row in rows]
