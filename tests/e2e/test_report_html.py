"""The HTML report in headless Chromium: every chart drawn, no console error."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from nurture.views.report_html import render_html
from tests.integration.test_reports import build
from tests.support.live import Live

pytestmark = pytest.mark.browser

CHARTS = ("chart-funnel", "chart-touches", "chart-scores", "chart-steps")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nurture.db'}"


def test_the_html_report_draws_every_chart_without_errors(
    live: Live, tmp_path: Path, chromium: str
) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(build(live, tmp_path)), encoding="utf-8")
    assert "http://" not in page.read_text(encoding="utf-8").split("<body>")[0]  # offline
    flags = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        f"--user-data-dir={tmp_path / 'chrome'}",
        "--virtual-time-budget=5000",
    ]
    screenshot = tmp_path / "report.png"
    shot = subprocess.run(
        [*flags, "--window-size=1200,2000", f"--screenshot={screenshot}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    console = [line for line in (shot.stderr + dom.stderr).splitlines() if ":CONSOLE" in line]
    assert console == []
    assert screenshot.stat().st_size > 20_000
    assert 'data-charts="4"' in dom.stdout  # the page's script ran and found four charts
    for chart in CHARTS:
        svg = re.search(rf'<svg id="{chart}".*?</svg>', dom.stdout, re.S)
        assert svg is not None, chart
        assert "<rect" in svg.group(0), chart
