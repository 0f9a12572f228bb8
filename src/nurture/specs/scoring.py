"""``scoring.yaml``: fit and interest rules, bands and stage rules."""

from __future__ import annotations

from pathlib import Path

from nurture.domain.scoring import ScoringModel
from nurture.specs.yamlfile import Loc, YamlDocument, format_loc, read_yaml, validate_document

__all__ = ["load_scoring"]


def load_scoring(path: Path | str, *, display: str | None = None) -> ScoringModel:
    """Read and check a scoring file; errors name file, line and field."""
    document = read_yaml(path, display=display)
    return validate_document(document, ScoringModel, describe=_describe)


def _describe(document: YamlDocument, loc: Loc) -> str:
    # Name rules by their id or event rather than by their index: "fit rule 'sector'".
    data = document.data
    if len(loc) >= 3 and loc[0] in {"fit", "interest"} and loc[1] == "rules":
        index = loc[2]
        rules = data.get(str(loc[0]), {}).get("rules") if isinstance(data, dict) else None
        if isinstance(index, int) and isinstance(rules, list) and index < len(rules):
            rule = rules[index]
            if isinstance(rule, dict):
                name = rule.get("id") or rule.get("event") or index
                rest = format_loc(loc[3:])
                return f"{loc[0]} rule {name!r}" + (f" {rest}" if rest else "")
    return format_loc(loc)
