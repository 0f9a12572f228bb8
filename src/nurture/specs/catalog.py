"""``content/catalog.yaml``: the assets content drops link to."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nurture.specs.yamlfile import Loc, YamlDocument, format_loc, read_yaml, validate_document

__all__ = ["Asset", "Catalog", "load_catalog"]


class Asset(BaseModel):
    """One piece of content: a guide, a case study, a webinar, an article."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=100)
    #: One text, or one per language (``{fr: …, en: …}``).
    title: str | dict[str, str]
    url: str = Field(pattern=r"^https?://\S+$")
    topic: str = Field(min_length=1)
    kind: Literal[
        "guide", "case-study", "webinar", "article", "newsletter", "checklist", "video"
    ] = "article"
    language: str | None = None
    summary: str | dict[str, str] | None = None

    @field_validator("title", "summary")
    @classmethod
    def _texts(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        if isinstance(value, dict):
            if not value:
                raise ValueError("give at least one language, e.g. {fr: …, en: …}")
            for language, text in value.items():
                if not re.fullmatch(r"[a-z]{2}", language):
                    raise ValueError(f"{language!r} is not a language code (fr, en, de…)")
                if not text.strip():
                    raise ValueError(f"the {language} text is empty")
        elif isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value

    def title_in(self, language: str | None, default: str = "fr") -> str:
        """The title in ``language``, else in ``default``, else the first one given."""
        return _in(self.title, language, default) or self.id

    def summary_in(self, language: str | None, default: str = "fr") -> str:
        """The summary in ``language``, else in ``default``, else the first one given."""
        return _in(self.summary, language, default)


def _in(text: str | dict[str, str] | None, language: str | None, default: str) -> str:
    if text is None or isinstance(text, str):
        return text or ""
    for choice in (language, default):
        if choice and choice in text:
            return text[choice]
    return next(iter(text.values()))


class Catalog(BaseModel):
    """Every asset, by id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    assets: list[Asset] = Field(default_factory=list)

    @field_validator("assets")
    @classmethod
    def _unique(cls, assets: list[Asset]) -> list[Asset]:
        seen: set[str] = set()
        for asset in assets:
            if asset.id in seen:
                raise ValueError(f"duplicate asset id {asset.id!r}")
            seen.add(asset.id)
        return assets

    def get(self, asset_id: str) -> Asset | None:
        """The asset ``asset_id``, if listed."""
        return next((a for a in self.assets if a.id == asset_id), None)


def load_catalog(path: Path, *, display: str | None = None) -> Catalog:
    """Read and check a catalog file; errors name file, line and field."""
    return validate_document(read_yaml(path, display=display), Catalog, describe=_describe)


def _describe(document: YamlDocument, loc: Loc) -> str:
    if len(loc) >= 2 and loc[0] == "assets" and isinstance(loc[1], int):
        assets = document.data.get("assets") if isinstance(document.data, dict) else None
        if isinstance(assets, list) and loc[1] < len(assets) and isinstance(assets[loc[1]], dict):
            name = assets[loc[1]].get("id", loc[1])
            rest = format_loc(loc[2:])
            return f"asset {name!r}" + (f" {rest}" if rest else "")
    return format_loc(loc)
