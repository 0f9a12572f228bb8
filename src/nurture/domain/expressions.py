"""A small, safe expression language for ``when`` conditions and fit rules.

Expressions read like Python (``contact.phone and contact.consent.sms``,
``contact.company_size >= 50``, ``contact.sector in ['industrie', 'logiciel']``) but are
parsed with :mod:`ast` and interpreted from a whitelist of node types: no ``eval``, no
calls except a few pure helpers, no access to names that start with an underscore.

Comparisons with a missing value are false (``None >= 50`` is false, not an error), as a
marketer would expect of a contact whose company size is unknown.
"""

from __future__ import annotations

import ast
import contextlib
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nurture.errors import ExpressionError
from nurture.limits import Limits
from nurture.limits import active as active_limits

__all__ = ["Expression", "compile_expression"]

_Env = Mapping[str, Any]
_Fn = Callable[[_Env], Any]

#: Arguments each helper takes (checked when the expression is compiled).
_ARITY = {"contains_any": 2, "len": 1, "lower": 1, "upper": 1}
_METHOD_ARITY = {
    "lower": (0, 0),
    "upper": (0, 0),
    "strip": (0, 1),
    "startswith": (1, 1),
    "endswith": (1, 1),
}

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: b is not None and a in b,
    ast.NotIn: lambda a, b: b is None or a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)

_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _length(value: Any) -> int:
    return 0 if value is None else len(value)


def _contains_any(text: Any, words: Any) -> bool:
    """Case-insensitive: does ``text`` contain any of ``words``? (job titles, company names)"""
    if not isinstance(text, str) or words is None:
        return False
    folded = text.casefold()
    return any(str(word).casefold() in folded for word in words)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains_any": _contains_any,
    "len": _length,
    "lower": _lower,
    "upper": _upper,
}
_STRING_METHODS = frozenset({"lower", "upper", "startswith", "endswith", "strip"})


@dataclass(frozen=True)
class Expression:
    """A compiled, side-effect-free condition; call it with the names it reads."""

    source: str
    paths: frozenset[str] = field(default_factory=frozenset)
    _fn: _Fn = field(default=lambda _env: True, repr=False, compare=False)

    def __call__(self, env: _Env) -> bool:
        return bool(self.value(env))

    def value(self, env: _Env) -> Any:
        """The raw value of the expression (not coerced to a boolean)."""
        try:
            return self._fn(env)
        except ExpressionError:
            raise
        except (TypeError, ValueError, ArithmeticError, AttributeError, LookupError) as exc:
            raise ExpressionError(f"cannot evaluate '{_short(self.source)}': {exc}") from exc


def compile_expression(
    source: str,
    *,
    roots: Mapping[str, Iterable[str] | None],
    limits: Limits | None = None,
) -> Expression:
    """Parse ``source`` into an :class:`Expression`.

    ``roots`` lists the names an expression may start from and, for each, the attributes
    allowed directly below it (``None`` allows any). Anything else is an ``ExpressionError``
    that names the offending piece. ``limits`` (the ones in force by default) bound the
    length, the nesting depth and the size of any string or list the expression builds.
    """
    limits = limits or active_limits()
    text = source.strip()
    if not text:
        raise ExpressionError("empty expression")
    if len(text) > limits.expression_chars:
        raise ExpressionError(
            f"expression longer than {limits.expression_chars} characters "
            "(the limit NURTURE_MAX_EXPRESSION_CHARS)"
        )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(
            f"cannot parse '{_short(text)}': {exc.msg} at column {exc.offset}"
        ) from exc
    except (RecursionError, MemoryError):
        raise ExpressionError("expression nested too deeply") from None
    depth = _depth(tree.body)
    if depth > limits.expression_depth:
        raise ExpressionError(
            f"expression nested {depth} levels deep, more than {limits.expression_depth} "
            "(the limit NURTURE_MAX_EXPRESSION_DEPTH)"
        )
    allowed = {name: (None if attrs is None else frozenset(attrs)) for name, attrs in roots.items()}
    compiler = _Compiler(text, allowed, max_items=limits.repeat_items)
    fn = compiler.compile(tree.body)
    return Expression(source=text, paths=frozenset(compiler.paths), _fn=fn)


class _NotConstant(Exception):
    pass


def _constant_value(node: ast.expr) -> Any:
    """The value of a constant operand (a literal, or a list of literals), for checks."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple) and all(
        isinstance(item, ast.Constant) for item in node.elts
    ):
        return [item.value for item in node.elts if isinstance(item, ast.Constant)]
    raise _NotConstant


def _short(source: str) -> str:
    return source if len(source) <= 80 else source[:77] + "..."


def _depth(root: ast.AST) -> int:
    """How deeply ``root`` nests (without recursion: the tree may be very deep)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | list | tuple | frozenset | set) else 0


class _Compiler:
    def __init__(
        self, source: str, roots: Mapping[str, frozenset[str] | None], *, max_items: int
    ) -> None:
        self._source = source
        self._roots = roots
        self._max_items = max_items
        self.paths: set[str] = set()

    def _fail(self, what: str) -> ExpressionError:
        return ExpressionError(f"{what} in '{_short(self._source)}'")

    def _bounded(self, op: type[ast.operator], a: Any, b: Any) -> None:
        """Refuse a string or list the expression would build past the limit."""
        if op is ast.Mult:
            count = b if _size(a) else a
            size = _size(a) or _size(b)
            if size and isinstance(count, int) and size * count > self._max_items:
                raise self._fail(
                    f"a repetition of {size * count:,} items, more than {self._max_items:,} "
                    "(the limit NURTURE_MAX_REPEAT_ITEMS)"
                )
        elif op is ast.Add and _size(a) + _size(b) > self._max_items:
            raise self._fail(f"a value longer than {self._max_items:,} items")
        elif op is ast.Mod and isinstance(a, str):
            raise self._fail("string formatting with % is not allowed")

    def compile(self, node: ast.expr) -> _Fn:  # noqa: PLR0911 - one branch per node type
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name | ast.Attribute):
            return self._path(node)
        if isinstance(node, ast.BoolOp):
            return self._boolean(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return self._collection(node)
        if isinstance(node, ast.BinOp):
            return self._arithmetic(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise self._fail(f"'{type(node).__name__}' is not allowed")

    def _constant(self, node: ast.Constant) -> _Fn:
        value = node.value
        if not isinstance(value, str | int | float | bool) and value is not None:
            raise self._fail(f"a {type(value).__name__} constant is not allowed")
        return lambda _env: value

    def _path(self, node: ast.Name | ast.Attribute) -> _Fn:
        parts: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        if not isinstance(current, ast.Name):
            raise self._fail("attributes may only follow a name")
        parts.append(current.id)
        parts.reverse()
        if any(part.startswith("_") for part in parts):
            raise self._fail(f"name {'.'.join(parts)!r} is private")
        root, rest = parts[0], tuple(parts[1:])
        if root not in self._roots:
            known = ", ".join(sorted(self._roots))
            raise self._fail(f"unknown name {root!r} (known: {known})")
        allowed = self._roots[root]
        if allowed is not None:
            if not rest:
                raise self._fail(f"{root!r} needs a field, such as {root}.{min(allowed)}")
            if rest[0] not in allowed:
                raise self._fail(f"unknown field '{root}.{rest[0]}'")
        self.paths.add(".".join(parts))

        def read(env: _Env) -> Any:
            value: Any = env.get(root)
            for part in rest:
                if value is None:
                    return None
                value = (
                    value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
                )
            return value

        return read

    def _boolean(self, node: ast.BoolOp) -> _Fn:
        parts = [self.compile(value) for value in node.values]
        if isinstance(node.op, ast.And):
            return lambda env: all(part(env) for part in parts)
        return lambda env: any(part(env) for part in parts)

    def _unary(self, node: ast.UnaryOp) -> _Fn:
        inner = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda env: not inner(env)
        if isinstance(node.op, ast.USub):
            return lambda env: -inner(env)
        raise self._fail(f"operator '{type(node.op).__name__}' is not allowed")

    def _compare(self, node: ast.Compare) -> _Fn:
        left = self.compile(node.left)
        steps = []
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            fn = _COMPARE.get(type(op))
            if fn is None:
                raise self._fail(f"comparison '{type(op).__name__}' is not allowed")
            steps.append((fn, isinstance(op, _ORDERING), self.compile(right_node)))

        def compare(env: _Env) -> bool:
            a = left(env)
            for fn, ordering, right in steps:
                b = right(env)
                if ordering and (a is None or b is None):
                    return False
                if not fn(a, b):
                    return False
                a = b
            return True

        return compare

    def _collection(self, node: ast.List | ast.Tuple | ast.Set) -> _Fn:
        items = [self.compile(item) for item in node.elts]
        if all(isinstance(item, ast.Constant) for item in node.elts):
            frozen = frozenset(item({}) for item in items)
            return lambda _env: frozen
        return lambda env: [item(env) for item in items]

    def _arithmetic(self, node: ast.BinOp) -> _Fn:
        fn = _ARITHMETIC.get(type(node.op))
        if fn is None:
            raise self._fail(f"operator '{type(node.op).__name__}' is not allowed")
        left, right = self.compile(node.left), self.compile(node.right)
        op = type(node.op)
        if not any(isinstance(n, ast.Name) for n in ast.walk(node)):
            # Constant operands: refuse what could never evaluate when the file is
            # checked, not when the first contact reaches the step.
            with contextlib.suppress(_NotConstant):
                self._bounded(op, _constant_value(node.left), _constant_value(node.right))

        def arithmetic(env: _Env) -> Any:
            a, b = left(env), right(env)
            if a is None or b is None:
                return None
            self._bounded(op, a, b)
            return fn(a, b)

        return arithmetic

    def _call(self, node: ast.Call) -> _Fn:
        if node.keywords:
            raise self._fail("keyword arguments are not allowed")
        args = [self.compile(arg) for arg in node.args]
        func = node.func
        if isinstance(func, ast.Name) and func.id in _FUNCTIONS:
            helper = _FUNCTIONS[func.id]
            if len(args) != _ARITY[func.id]:
                raise self._fail(f"{func.id}() takes {_ARITY[func.id]} argument(s)")
            return lambda env: helper(*(arg(env) for arg in args))
        if isinstance(func, ast.Attribute) and func.attr in _STRING_METHODS:
            target = self.compile(func.value)
            method = func.attr
            low, high = _METHOD_ARITY[method]
            if not low <= len(args) <= high:
                raise self._fail(f".{method}() takes {low} to {high} argument(s)")

            def call_method(env: _Env) -> Any:
                value = target(env)
                if not isinstance(value, str):
                    return None if method in {"lower", "upper", "strip"} else False
                return getattr(value, method)(*(arg(env) for arg in args))

            return call_method
        allowed = ", ".join(sorted(_FUNCTIONS)) + ", str." + ", str.".join(sorted(_STRING_METHODS))
        raise self._fail(f"only these calls are allowed: {allowed}")
