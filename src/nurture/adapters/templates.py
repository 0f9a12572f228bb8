"""Jinja2 templates in a sandbox: emails, SMS and call scripts, per language.

Layout under ``templates/``: ``emails/<name>.subject.j2``, ``.html.j2``, ``.txt.j2``;
``sms/<name>.txt.j2``; ``calls/<name>.md.j2``. A language variant puts the language
before the part: ``emails/follow-up.en.subject.j2``. The contact's language is tried
first, then the project's default language, then the file without a language.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Mapping
from itertools import islice
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

from nurture.domain.messages import EMAIL_PARTS, RenderedCall, RenderedEmail, RenderedSms
from nurture.errors import Location, TemplateError
from nurture.limits import Limits
from nurture.limits import active as active_limits

__all__ = ["EMAIL_PARTS", "TemplateStore"]

_SUFFIX = {"subject": "subject.j2", "html": "html.j2", "txt": "txt.j2", "md": "md.j2"}


def _finalize(value: Any) -> Any:
    # A missing optional attribute (no first name) prints as nothing, not as "None".
    return "" if value is None else value


class _RenderTooBig(Exception):
    """A render crossed a limit (size, repetition, time)."""


class _LimitedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, plus limits: no repetition (``'a' * n``, ``[x] * n``,
    ``x ** n``) past ``repeat_items``, no render past its deadline (checked at every
    call, attribute access and operator, so loops cannot spin for ever), and bounded
    ``lipsum``, ``center`` and ``indent``."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args: Any, limits: Limits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._deadline = threading.local()
        self._loaded: dict[tuple[str, str | None], jinja2.Template] = {}
        self.globals["lipsum"] = self._lipsum
        self.filters["center"] = self._bounded_filter(self.filters["center"], "width")
        self.filters["indent"] = self._bounded_filter(self.filters["indent"], "width")
        plain_format = self.filters["format"]

        def bounded_format(value: Any, *args: Any, **kwargs: Any) -> Any:
            self.check_format(value)
            return plain_format(value, *args, **kwargs)

        self.filters["format"] = bounded_format

    # -- the deadline ------------------------------------------------------------------

    def start(self) -> None:
        self._deadline.at = time.monotonic() + self.limits.template_seconds

    def check_time(self) -> None:
        at = getattr(self._deadline, "at", None)
        if at is not None and time.monotonic() > at:
            raise _RenderTooBig(
                f"took longer than {self.limits.template_seconds:g} s "
                "(the limit NURTURE_MAX_TEMPLATE_SECONDS)"
            )

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        __self.check_time()
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        if getattr(value, "__name__", None) in {"format", "format_map"}:
            self.check_format(getattr(value, "__self__", None))
        return super().wrap_str_format(value)

    def check_format(self, pattern: Any) -> None:
        """Refuse a format string that pads or repeats past the limit (``{:>999999999}``,
        ``%999999999d``)."""
        if isinstance(pattern, str):
            widths = [int(run) for run in re.findall(r"\d{4,}", pattern)]
            if any(width > self.limits.repeat_items for width in widths):
                raise _RenderTooBig("formats a value wider than the limit allows")

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.check_time()
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            # What Jinja would return after failing getattr(dict, name), without raising
            # and catching an AttributeError on every ``contact.first_name``.
            found = obj.get(attribute, _MISSING)
            if found is not _MISSING:
                return found
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.check_time()
        return super().getitem(obj, argument)

    # -- loading ----------------------------------------------------------------------

    def get_template(
        self, name: Any, parent: str | None = None, globals: Any = None
    ) -> jinja2.Template:
        """Jinja's loading, remembered without its cache's lock (``{% extends %}`` and
        ``{% include %}`` load on every render), with the globals in a plain dict that each
        render copies faster than Jinja's chain of two maps."""
        if globals is not None or not isinstance(name, str):
            return super().get_template(name, parent, globals)
        key = (name, parent)
        template = self._loaded.get(key)
        if template is None:
            template = super().get_template(name, parent)
            template.globals = dict(template.globals)
            self._loaded[key] = template
        return template

    # -- sizes -------------------------------------------------------------------------

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        self.check_time()
        limit = self.limits.repeat_items
        if operator == "*":
            count = right if _sized(left) is not None else left
            size = _sized(left) if _sized(left) is not None else _sized(right)
            if size is not None and isinstance(count, int) and size * count > limit:
                raise _RenderTooBig(f"repeats {size * count:,} items, more than {limit:,}")
        elif operator == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise _RenderTooBig("raises to a power over 64")
        elif operator == "%":
            self.check_format(left)
        elif operator == "+" and (_sized(left) or 0) + (_sized(right) or 0) > limit * 10:
            raise _RenderTooBig(f"builds a value longer than {limit * 10:,}")
        return super().call_binop(context, operator, left, right)

    def _lipsum(self, n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
        if not all(isinstance(v, int) for v in (n, min, max)) or n * max > self.limits.repeat_items:
            raise _RenderTooBig("lipsum() asks for more text than the limit allows")
        return str(generate_lorem_ipsum(n=n, html=html, min=min, max=max))

    def _bounded_filter(self, inner: Any, name: str) -> Any:
        limit = self.limits.repeat_items

        def bounded(value: Any, *args: Any, **kwargs: Any) -> Any:
            width = kwargs.get(name, args[0] if args else 0)
            if isinstance(width, int) and width > limit:
                raise _RenderTooBig(f"{name} {width:,} is more than {limit:,}")
            return inner(value, *args, **kwargs)

        return bounded


_DICT_ATTRIBUTES = frozenset(dir(dict))
#: How many chunks a render yields between two checks of its size and deadline. A chunk
#: cannot be large by itself (repetition, padding and lipsum are bounded when they are
#: made), so a run overshoots the output limit by little before it is refused.
_CHUNKS_PER_CHECK = 64
_MISSING = object()


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


class TemplateStore:
    """Finds, checks and renders templates; one real loader (files) or a mapping (tests)."""

    def __init__(
        self,
        loader: jinja2.BaseLoader,
        *,
        default_language: str = "fr",
        limits: Limits | None = None,
    ) -> None:
        self.default_language = default_language
        self._env = _LimitedSandbox(
            limits=limits or active_limits(),
            loader=loader,
            undefined=jinja2.StrictUndefined,
            # Asked at every render: the answer per file name is remembered.
            autoescape=functools.lru_cache(maxsize=1024)(
                jinja2.select_autoescape(
                    enabled_extensions=("html.j2",), default_for_string=False, default=False
                )
            ),
            finalize=_finalize,
            keep_trailing_newline=False,
            auto_reload=False,
        )
        self._names: frozenset[str] | None = None
        self._resolved: dict[tuple[str, str, str | None], str | None] = {}

    @classmethod
    def from_directory(cls, root: Path, *, default_language: str = "fr") -> TemplateStore:
        """Templates read from ``root`` (the project's ``templates/`` folder)."""
        return cls(jinja2.FileSystemLoader(str(root)), default_language=default_language)

    @classmethod
    def from_mapping(
        cls,
        templates: Mapping[str, str],
        *,
        default_language: str = "fr",
        limits: Limits | None = None,
    ) -> TemplateStore:
        """Templates held in memory (tests, previews of unsaved drafts)."""
        return cls(
            jinja2.DictLoader(dict(templates)), default_language=default_language, limits=limits
        )

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
            return self._bounded_render(self._env.get_template(file), context).strip()
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(exc.message or "syntax error", Location(file, exc.lineno)) from exc
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"undefined variable: {exc.message}", Location(file)) from exc
        except SecurityError as exc:
            raise TemplateError(f"not allowed in the sandbox: {exc}", Location(file)) from exc
        except _RenderTooBig as exc:
            raise TemplateError(f"stopped: the template {exc}", Location(file)) from exc
        except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
            raise TemplateError(f"{type(exc).__name__}: {exc}", Location(file)) from exc
        except (RecursionError, MemoryError) as exc:
            raise TemplateError(
                "stopped: the template nests or grows too much", Location(file)
            ) from exc

    def _bounded_render(self, template: jinja2.Template, context: Mapping[str, Any]) -> str:
        """Render in runs of chunks, stopping at the output size or the deadline.

        Jinja yields every piece of text and every value as a chunk (fourteen for the
        demo's emails): the size and the deadline are checked once per run of
        :data:`_CHUNKS_PER_CHECK` chunks, pulled and measured in C, rather than chunk by
        chunk in Python, where the checks cost a third of a render."""
        limit = self._env.limits.template_output_chars
        self._env.start()
        # Template.generate, without copying the context twice more on the way (each
        # render merges it with the globals once) or rewriting tracebacks that _render
        # only reads the type and message of.
        chunks = template.root_render_func(
            template.new_context(context if isinstance(context, dict) else dict(context))
        )
        parts: list[str] = []
        size = 0
        while run := list(islice(chunks, _CHUNKS_PER_CHECK)):
            size += sum(map(len, run))
            if size > limit:
                raise _RenderTooBig(
                    f"writes more than {limit:,} characters "
                    "(the limit NURTURE_MAX_TEMPLATE_OUTPUT_CHARS)"
                )
            self._env.check_time()
            parts += run
        return "".join(parts)

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
