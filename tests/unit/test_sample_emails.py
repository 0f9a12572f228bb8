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


@pytest.mark.parametrize(
    ("language", "title"),
    [
        ("en", "NIS2: the practical guide for SMEs"),
        ("fr", "NIS2 : le guide pratique pour les PME"),
        ("de", "NIS2 : le guide pratique pour les PME"),  # no German: the default, French
    ],
)
def test_content_titles_follow_the_contact_language(
    repo_dir: Path, language: str, title: str
) -> None:
    project = load_project(repo_dir, tools=project_tools())
    sender = Sender("Vigie Cyber", "bonjour@vigie-cyber.example", "https://n.example", "k" * 32)
    contact = Contact(id=1, email="a@b.example", first_name="A", language=language)
    steps = preview(
        project=project, sender=sender, contact=contact, sequence_id="nurture-12-months"
    )
    [drop] = [s for s in steps["steps"] if s["step"] == "guide-nis2"]
    assert drop["content"]["title"] == title
    assert title in drop["html"]


def test_a_catalog_text_in_an_unknown_language_is_refused_with_its_line(tmp_path: Path) -> None:
    from nurture.errors import SpecErrors
    from nurture.specs.catalog import load_catalog

    path = tmp_path / "catalog.yaml"
    path.write_text(
        "assets:\n  - id: a\n    title: {fr: Titre, english: Title}\n"
        "    url: https://x.example/a\n    topic: t\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecErrors) as caught:
        load_catalog(path, display="content/catalog.yaml")
    assert "content/catalog.yaml:3" in str(caught.value)
    assert "'english' is not a language code" in str(caught.value)
