"""The sample emails, rendered in French and English: every link in the HTML part is an
<a> element (so that it can be tracked), never a bare address in the text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nurture.bootstrap import project_tools
from nurture.domain.contacts import Contact
from nurture.pipeline.rendering import Sender
from nurture.specs.project import load_project
from nurture.views.preview import preview

_HREF = re.compile(r"""href\s*=\s*("[^"]*"|'[^']*')""")
_BARE = re.compile(r"https?://")


@pytest.mark.parametrize("language", ["fr", "en"])
def test_sample_html_emails_link_with_anchors(repo_dir: Path, language: str) -> None:
    project = load_project(repo_dir, tools=project_tools())
    sender = Sender("Vigie Cyber", "bonjour@vigie-cyber.example", "https://n.example", "k" * 32)
    contact = Contact(
        id=1, email="jean@acme.fr", first_name="Jean", company="Acme", language=language
    )
    checked = 0
    for sequence_id in project.sequences:
        for step in preview(
            project=project, sender=sender, contact=contact, sequence_id=sequence_id
        )["steps"]:
            html = step.get("html")
            if not html:
                continue
            checked += 1
            outside = _HREF.sub("href", html)
            assert not _BARE.search(outside), f"{sequence_id}/{step['step']}: a bare link"
            assert "<a href=" in html, f"{sequence_id}/{step['step']}: no link at all"
    assert checked >= 8
