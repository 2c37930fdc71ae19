"""The sandboxed expression and template language of workflow files.

Conditions (``assess.score >= 15 and subject.risk_tier == "high"``), computed fields
(``assess.likelihood * assess.impact``) and message templates
(``Risk review of {{ subject.name }}``) use Jinja2's immutable sandbox: a well-kept, widely
deployed language with no access to Python internals, no assignment and no I/O. Nothing here
calls ``eval``.

Names resolve against the run's data: ``subject``, ``inputs``, ``item`` (inside ``for_each``) and
one name per step id holding that step's answers or computed fields. :func:`references` lists the
names an expression reads so the spec checker can report unknown fields before a run ever starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.parser import Parser
from jinja2.runtime import Context, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import _bounds
from ._bounds import MAX_EXPONENT, MAX_OUTPUT, MAX_SEQUENCE

__all__ = [
    "ExpressionError",
    "Reference",
    "check_syntax",
    "references",
    "guarded_names",
    "evaluate",
    "render",
    "bound_problems",
    "MAX_SEQUENCE",
    "MAX_OUTPUT",
]


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus bounds on size and steps (see ``_bounds``): operators that
    can exhaust memory or CPU from a short expression (``'x' * 10**9``, ``10 ** 10 ** 10``,
    ``'%0999999999d' % 1``), str methods and filters that pad or repeat, and a step budget
    every loop, call, filter, attribute read and operator draws on."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = _bounds.bounded_filters(self.filters)
        # lipsum(n=10**9) builds any amount of text; nothing in a workflow needs filler text
        self.globals.pop("lipsum", None)
        self.aims_bounded_iter = _bounds.bounded_iter
        self.aims_bounded_text = _bounds.bounded_text

    def compile(
        self,
        source: str | nodes.Template,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        # every template and expression passes here: bound its loops and joins
        tree = self._parse(source, name, filename) if isinstance(source, str) else source
        bounded = _bounds.transform(tree)
        if raw:
            return super().compile(bounded, name, filename, True, defer_init)
        return super().compile(bounded, name, filename, False, defer_init)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _bounds.step()
        if operator == "**":
            if isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponent {right} is larger than {MAX_EXPONENT}")
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and left.bit_length() * abs(right) > 8 * MAX_SEQUENCE
            ):
                raise SecurityError("the result would be an unreasonably large number")
        elif operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, (str, list, tuple))
                    and isinstance(times, int)
                    and len(seq) * times > MAX_SEQUENCE
                ):
                    raise SecurityError(f"the result would be longer than {MAX_SEQUENCE:,}")
        elif operator == "%" and isinstance(left, str):
            _bounds.check_printf(left)
        elif (
            operator == "+"
            and isinstance(left, (str, list, tuple))
            and isinstance(right, (str, list, tuple))
            and len(left) + len(right) > MAX_SEQUENCE
        ):
            raise SecurityError(f"the result would be longer than {MAX_SEQUENCE:,}")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _bounds.step(_bounds.MACRO_CALL_STEPS if isinstance(__obj, Macro) else 1)
        _bounds.check_method_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _bounds.step()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _bounds.step()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _bounds.check_format_string(value.__self__)
        return wrapped


_ENV = _BoundedSandbox(undefined=StrictUndefined, autoescape=False)


class ExpressionError(ValueError):
    """An expression that does not parse, or fails when evaluated (unknown name, bad operand)."""


@dataclass(frozen=True)
class Reference:
    """One name an expression reads: ``assess.score`` is ``Reference("assess", "score")``."""

    name: str
    attr: str | None


@lru_cache(maxsize=4096)
def _parse(text: str, template: bool) -> nodes.Node:
    try:
        if template:
            return _ENV.parse(text)
        parser = Parser(_ENV, text, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError("unexpected text after the expression", 1)
        return expr
    except TemplateSyntaxError as err:
        raise ExpressionError(f"cannot parse {text!r}: {err.message}") from None


def check_syntax(text: str, *, template: bool = False) -> None:
    """Raise :class:`ExpressionError` if ``text`` is not a valid expression (or template)."""
    _parse(text, template)


_N = TypeVar("_N", bound=nodes.Node)


def _find_all(tree: nodes.Node, types: type[_N] | tuple[type[_N], ...]) -> Iterator[_N]:
    """Like ``Node.find_all``, which skips the node
    itself: a bare ``name`` or ``a.b`` is the root."""
    if isinstance(tree, types):
        yield tree
    yield from tree.find_all(types)


def references(text: str, *, template: bool = False) -> list[Reference]:
    """Every ``name`` and ``name.attr`` / ``name["attr"]`` read by the expression, in order.

    >>> references("assess.likelihood * assess.impact")
    [Reference(name='assess', attr='likelihood'), Reference(name='assess', attr='impact')]
    """
    tree = _parse(text, template)
    binders: Iterator[nodes.Assign | nodes.AssignBlock | nodes.For] = tree.find_all(
        (nodes.Assign, nodes.AssignBlock, nodes.For)
    )
    bound = {t.name for node in binders for t in _find_all(node.target, nodes.Name)}
    found: list[Reference] = []
    seen_names: set[int] = set()
    accesses: Iterator[nodes.Getattr | nodes.Getitem] = _find_all(
        tree, (nodes.Getattr, nodes.Getitem)
    )
    for node in accesses:
        inner = node.node
        if isinstance(inner, nodes.Name) and inner.name not in bound:
            if isinstance(node, nodes.Getattr):
                found.append(Reference(inner.name, node.attr))
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                found.append(Reference(inner.name, node.arg.value))
            else:
                found.append(Reference(inner.name, None))
            seen_names.add(id(inner))
    for name in _find_all(tree, nodes.Name):
        if id(name) not in seen_names and name.ctx == "load" and name.name not in bound:
            found.append(Reference(name.name, None))
    return found


_GUARD_TESTS = {"defined", "undefined", "none"}
_GUARD_FILTERS = {"default", "d"}


def guarded_names(text: str, *, template: bool = False) -> set[str]:
    """Names the expression checks before use (``x is defined``, ``x | default(...)``): reading
    them is fine even where they may not have a value yet.

    >>> sorted(guarded_names('a.outcome if a is defined else b | default("none")'))
    ['a', 'b']
    """
    tree = _parse(text, template)
    found: set[str] = set()
    for test in _find_all(tree, nodes.Test):
        if test.name in _GUARD_TESTS:
            found.update(n.name for n in _find_all(test.node, nodes.Name))
    for flt in _find_all(tree, nodes.Filter):
        if flt.name in _GUARD_FILTERS and flt.node is not None:
            found.update(n.name for n in _find_all(flt.node, nodes.Name))
    return found


@lru_cache(maxsize=4096)
def _compiled(text: str) -> Callable[..., Any]:
    _parse(text, False)
    return _ENV.compile_expression(text, undefined_to_none=False)


@lru_cache(maxsize=1024)
def _template(text: str) -> Template:
    _parse(text, True)
    return _ENV.from_string(text)


def evaluate(text: str, context: Mapping[str, Any]) -> Any:
    """Evaluate an expression against ``context``; errors become :class:`ExpressionError`."""
    try:
        with _bounds.budget():
            value = _compiled(text)(**context)
        if isinstance(value, (str, list, tuple)) and len(value) > MAX_SEQUENCE:
            raise SecurityError(f"the result is longer than {MAX_SEQUENCE:,}")
    except ExpressionError:
        raise
    except (
        UndefinedError,
        SecurityError,
        TypeError,
        ValueError,
        ArithmeticError,
        LookupError,
        RecursionError,
    ) as err:
        raise ExpressionError(f"{text!r} failed: {err}") from None
    if isinstance(value, StrictUndefined):  # pragma: no cover - StrictUndefined raises first
        raise ExpressionError(f"{text!r} is undefined")
    return value


def render(text: str, context: Mapping[str, Any]) -> str:
    """Render a message template such as ``"Risk review: {{ subject.name }}"``."""
    try:
        with _bounds.budget():
            return _bounded_render(_template(text), context)
    except ExpressionError:
        raise
    except (
        UndefinedError,
        SecurityError,
        TypeError,
        ValueError,
        ArithmeticError,
        LookupError,
        RecursionError,
    ) as err:
        raise ExpressionError(f"template {text!r} failed: {err}") from None


def _bounded_render(template: Template, context: Mapping[str, Any]) -> str:
    """Render chunk by chunk, stopping as soon as the text grows past :data:`MAX_OUTPUT`."""
    parts: list[str] = []
    size = 0
    for chunk in template.generate(**context):
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise SecurityError(f"the text would be longer than {MAX_OUTPUT:,} characters")
        parts.append(chunk)
    return "".join(parts)


def bound_problems(text: str, *, template: bool = False) -> list[str]:
    """What in ``text`` asks for more output or work than an evaluation may take (a width of
    a billion, loops over loops over large ranges); ``aims validate`` reports each."""
    return _bounds.static_problems(_parse(text, template))
