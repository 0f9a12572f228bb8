"""nurture as a user installs it: a wheel built from this tree, used outside the repo
(the project template must travel inside the package)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip


def test_init_and_validate_work_from_the_wheel(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    built = _run(
        ["-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(REPO)],
        tmp_path,
        env,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = (tmp_path / "dist").glob("nurture-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        assert "nurture/project_template/scoring.yaml" in archive.namelist()
        archive.extractall(site)
    env["PYTHONPATH"] = str(site)  # before the checkout's editable path
    where = _run(["-c", "import nurture; print(nurture.__file__)"], tmp_path, env)
    assert where.stdout.startswith(str(site)), where.stdout
    init = _run(["-m", "nurture", "init", "acme"], tmp_path, env)
    assert init.returncode == 0, init.stderr[-2000:]
    checked = _run(["-m", "nurture", "validate"], tmp_path / "acme", env)
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert "sequences/cold-outbound.yaml: ok" in checked.stdout
