"""Read YAML into pydantic models, keeping the line of every value for error messages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from nurture import limits
from nurture.errors import ExpressionError, Location, SpecError, SpecErrors
from nurture.specs.text import decode_utf8

__all__ = ["Loc", "YamlDocument", "format_loc", "read_yaml", "validate_document"]

Loc = tuple[str | int, ...]


@dataclass
class YamlDocument:
    """Plain data read from a YAML file, with the line (1-based) of each path in it."""

    file: str
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The line of ``loc``, or of the nearest enclosing value that has one."""
        path = tuple(loc)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def location(self, loc: Sequence[str | int], field_name: str | None = None) -> Location:
        """A :class:`Location` for ``loc``."""
        return Location(self.file, self.line_of(loc), field_name or format_loc(loc))


def format_loc(loc: Sequence[str | int]) -> str:
    """``steps[2].template`` for ``("steps", 2, "template")``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def read_yaml(path: Path | str, *, display: str | None = None) -> YamlDocument:
    """Parse ``path``; a syntax error or duplicate key is a :class:`SpecError` with its line."""
    name = display or str(path)
    limit = limits.active().yaml_bytes
    try:
        with Path(path).open("rb") as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise SpecError(f"cannot read file: {exc.strerror}", Location(name)) from exc
    if len(data) > limit:
        raise SpecError(
            f"file is larger than {limit:,} bytes (the limit NURTURE_MAX_YAML_BYTES)",
            Location(name),
        )
    return parse_yaml(decode_utf8(data, name, error=SpecError), name)


def parse_yaml(text: str, name: str) -> YamlDocument:
    """Parse YAML ``text`` read from ``name``."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        raw = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(f"invalid YAML: {problem}", Location(name, line)) from exc
    except RecursionError:
        raise SpecError("invalid YAML: nested too deeply", Location(name)) from None
    except Exception as exc:  # ruamel raises a few unmarked errors too
        raise SpecError(f"invalid YAML: {exc}", Location(name)) from exc
    document = YamlDocument(name, None)
    walk = _Walk(document.lines, name, limits.active().yaml_aliases)
    document.data = walk.plain(raw, ())
    return document


_MAX_DEPTH = 40


@dataclass
class _Walk:
    """Turns ruamel's nodes into plain data, recording lines. An alias is the same node
    met again: more than ``aliases`` of them is refused (an alias bomb expands
    exponentially), and so is nesting deeper than ``_MAX_DEPTH``."""

    lines: dict[Loc, int]
    file: str
    aliases: int
    _seen: set[int] = field(default_factory=set)

    def plain(self, node: Any, loc: Loc) -> Any:
        if isinstance(node, CommentedMap | CommentedSeq):
            if len(loc) > _MAX_DEPTH:
                raise SpecError(
                    f"nested deeper than {_MAX_DEPTH} levels", Location(self.file, self._line(loc))
                )
            if id(node) in self._seen:
                self.aliases -= 1
                if self.aliases < 0:
                    raise SpecError(
                        "too many aliases (*name) in one file (the limit NURTURE_MAX_YAML_ALIASES)",
                        Location(self.file, self._line(loc)),
                    )
            self._seen.add(id(node))
        return _plain(node, loc, self.lines, self.plain)

    def _line(self, loc: Loc) -> int | None:
        while loc and loc not in self.lines:
            loc = loc[:-1]
        return self.lines.get(loc)


def _plain(node: Any, loc: Loc, lines: dict[Loc, int], recurse: Callable[[Any, Loc], Any]) -> Any:
    if isinstance(node, CommentedMap):
        lines.setdefault(loc, node.lc.line + 1)
        out: dict[str, Any] = {}
        for key, value in node.items():
            child = (*loc, str(key))
            try:
                lines[child] = node.lc.key(key)[0] + 1
            except (KeyError, TypeError):
                lines[child] = lines[loc]
            out[str(key)] = recurse(value, child)
        return out
    if isinstance(node, CommentedSeq):
        lines.setdefault(loc, node.lc.line + 1)
        items = []
        for index, value in enumerate(node):
            child = (*loc, index)
            try:
                lines[child] = node.lc.item(index)[0] + 1
            except (KeyError, TypeError):
                lines[child] = lines[loc]
            items.append(recurse(value, child))
        return items
    if isinstance(node, str):
        return str(node)
    return node


_M = TypeVar("_M", bound=BaseModel)


def validate_document(
    document: YamlDocument,
    model: type[_M],
    *,
    describe: Callable[[YamlDocument, Loc], str] | None = None,
) -> _M:
    """Validate ``document`` against ``model``.

    Every problem is reported at once: the raised :class:`SpecError` carries one message
    per line, each naming file, line and field.
    """
    if not isinstance(document.data, dict):
        kind = "empty" if document.data is None else type(document.data).__name__
        raise SpecError(f"expected a mapping at the top, found {kind}", Location(document.file, 1))
    try:
        return model.model_validate(document.data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
            where = describe(document, loc) if describe else format_loc(loc)
            problems.append(
                SpecError(_message(error), Location(document.file, document.line_of(loc), where))
            )
        raise SpecErrors(problems) from exc


def _is_union_tag(part: Any) -> bool:
    # pydantic inserts the chosen union member's tag in locations: not a field.
    return isinstance(part, str) and (part.startswith("function-") or part in {"list[...]"})


def _message(error: Any) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    cause = ctx.get("error")
    if isinstance(cause, ExpressionError):
        return cause.reason
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")
