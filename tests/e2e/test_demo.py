"""`nurture demo`, shortened: it runs end to end and can run again from scratch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_the_demo_runs_and_runs_again_from_scratch(tmp_path: Path) -> None:
    nurture = str(Path(sys.executable).with_name("nurture"))
    folder = tmp_path / "demo"
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    for _ in range(2):
        result = subprocess.run(
            [nurture, "demo", "--dir", str(folder), "--contacts", "60", "--days", "4"],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            cwd=tmp_path,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert "funnel" in result.stdout
        assert "4 days in" in result.stdout
        assert (folder / "report.html").stat().st_size > 5_000
    assert len(list(folder.glob("nurture.db"))) == 1
