"""Jinja2 templates in a sandbox: emails, SMS and call scripts, per language.

Layout under ``templates/``: ``emails/<name>.subject.j2``, ``.html.j2``, ``.txt.j2``;
``sms/<name>.txt.j2``; ``calls/<name>.md.j2``. A language variant puts the language
before the part: ``emails/follow-up.en.subject.j2``. The contact's language is tried
first, then the project's default language, then the file without a language.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from nurture.domain.messages import RenderedCall, RenderedEmail, RenderedSms
from nurture.errors import Location, TemplateError

__all__ = ["EMAIL_PARTS", "TemplateStore"]

EMAIL_PARTS = ("subject", "html", "txt")
_SUFFIX = {"subject": "subject.j2", "html": "html.j2", "txt": "txt.j2", "md": "md.j2"}


def _finalize(value: Any) -> Any:
    # A missing optional attribute (no first name) prints as nothing, not as "None".
    return "" if value is None else value


class TemplateStore:
    """Finds, checks and renders templates; one real loader (files) or a mapping (tests)."""

    def __init__(self, loader: jinja2.BaseLoader, *, default_language: str = "fr") -> None:
        self.default_language = default_language
        self._env = ImmutableSandboxedEnvironment(
            loader=loader,
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html.j2",), default_for_string=False, default=False
            ),
            finalize=_finalize,
            keep_trailing_newline=False,
            auto_reload=False,
        )
        self._names: frozenset[str] | None = None
        self._resolved: dict[tuple[str, str, str | None], str | None] = {}
        self._compiled: dict[str, jinja2.Template] = {}

    @classmethod
    def from_directory(cls, root: Path, *, default_language: str = "fr") -> TemplateStore:
        """Templates read from ``root`` (the project's ``templates/`` folder)."""
        return cls(jinja2.FileSystemLoader(str(root)), default_language=default_language)

    @classmethod
    def from_mapping(
        cls, templates: Mapping[str, str], *, default_language: str = "fr"
    ) -> TemplateStore:
        """Templates held in memory (tests, previews of unsaved drafts)."""
        return cls(jinja2.DictLoader(dict(templates)), default_language=default_language)

    # -- finding ----------------------------------------------------------------------

    def names(self) -> frozenset[str]:
        """Every template file the store holds."""
        if self._names is None:
            self._names = frozenset(self._env.list_templates())
        return self._names

    def resolve(self, name: str, part: str, language: str | None) -> str | None:
        """The file that renders ``part`` of ``name`` for ``language``, if any."""
        key = (name, part, language)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(name, part, language)
        return self._resolved[key]

    def _resolve(self, name: str, part: str, language: str | None) -> str | None:
        names = self.names()
        suffix = _SUFFIX[part]
        for lang in dict.fromkeys(filter(None, (language, self.default_language))):
            candidate = f"{name}.{lang}.{suffix}"
            if candidate in names:
                return candidate
        plain = f"{name}.{suffix}"
        if plain in names:
            return plain
        variants = sorted(n for n in names if n.startswith(f"{name}.") and n.endswith(suffix))
        return variants[0] if variants else None

    def languages(self, name: str, part: str) -> list[str]:
        """Languages ``name`` has a ``part`` in (``""`` for the file without a language)."""
        suffix = "." + _SUFFIX[part]
        out = []
        for candidate in self.names():
            if candidate.startswith(f"{name}.") and candidate.endswith(suffix):
                middle = candidate[len(name) + 1 : -len(suffix)]
                out.append(middle)
            elif candidate == f"{name}{suffix}":
                out.append("")
        return sorted(out)

    # -- checking ---------------------------------------------------------------------

    def problems(self, name: str, parts: tuple[str, ...]) -> list[str]:
        """What is wrong with template ``name``: missing parts, syntax errors."""
        found: list[str] = []
        for part in parts:
            files = [
                f"{name}.{lang}.{_SUFFIX[part]}" if lang else f"{name}.{_SUFFIX[part]}"
                for lang in self.languages(name, part)
            ]
            if not files:
                found.append(f"missing {name}.{_SUFFIX[part]}")
            for file in files:
                try:
                    self._env.get_template(file)
                except jinja2.TemplateSyntaxError as exc:
                    found.append(f"{file}:{exc.lineno}: {exc.message}")
        return found

    def syntax_error(self, file: str) -> tuple[int | None, str] | None:
        """(line, message) if template file ``file`` does not parse."""
        try:
            self._env.get_template(file)
        except jinja2.TemplateSyntaxError as exc:
            return exc.lineno, exc.message or "syntax error"
        return None

    # -- rendering --------------------------------------------------------------------

    def _render(
        self, name: str, part: str, language: str | None, context: Mapping[str, Any]
    ) -> str:
        file = self.resolve(name, part, language)
        if file is None:
            raise TemplateError(f"no template {name}.{_SUFFIX[part]}", Location(name))
        try:
            template = self._compiled.get(file)
            if template is None:  # Jinja's own cache costs a lock per lookup: keep ours
                template = self._compiled[file] = self._env.get_template(file)
            return template.render(**context).strip()
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(exc.message or "syntax error", Location(file, exc.lineno)) from exc
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"undefined variable: {exc.message}", Location(file)) from exc
        except SecurityError as exc:
            raise TemplateError(f"not allowed in the sandbox: {exc}", Location(file)) from exc
        except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
            raise TemplateError(f"{type(exc).__name__}: {exc}", Location(file)) from exc

    def _language_of(self, name: str, part: str, language: str | None) -> str:
        file = self.resolve(name, part, language) or ""
        middle = file[len(name) + 1 : -len(_SUFFIX[part]) - 1]
        return middle or (language or self.default_language)

    def render_email(
        self, name: str, *, language: str | None, context: Mapping[str, Any]
    ) -> RenderedEmail:
        """Subject, HTML (autoescaped) and text of email template ``name``."""
        subject = " ".join(self._render(name, "subject", language, context).split())
        return RenderedEmail(
            subject=subject,
            html=self._render(name, "html", language, context),
            text=self._render(name, "txt", language, context),
            language=self._language_of(name, "subject", language),
        )

    def render_sms(
        self, name: str, *, language: str | None, context: Mapping[str, Any]
    ) -> RenderedSms:
        """The text of SMS template ``name``."""
        text = self._render(name, "txt", language, context)
        return RenderedSms(text=text, language=self._language_of(name, "txt", language))

    def render_call(
        self, name: str, *, language: str | None, context: Mapping[str, Any]
    ) -> RenderedCall:
        """The call script ``name`` (Markdown)."""
        script = self._render(name, "md", language, context)
        return RenderedCall(script=script, language=self._language_of(name, "md", language))
