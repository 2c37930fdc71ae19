"""Bounds on what one expression or template may cost: output size and steps.

Workflow files are written by people who may not run the service, and a short template can
ask for gigabytes (``'%0999999999d' % 1``, ``'x'.ljust(10**9)``, ``'x' | center(10**9)``,
``s.replace('', s)``) or minutes (nested loops over ``range(100000)``). Three layers keep every
evaluation small and short:

* before an operation that can grow text runs, its requested size is checked (widths of ``%``
  and ``str.format`` specs, arguments of ``ljust``/``center``/``zfill``/``replace``/``indent``/
  ``batch``/...): nothing large is ever allocated;
* every step (loop iteration, call, filter, attribute read, operator) draws on a budget of
  :data:`MAX_STEPS` per evaluation, counted, not timed, so the same workflow behaves the same
  on a slow machine and in a replay;
* :func:`static_problems` finds the same requests with constant arguments in the text, so
  ``aims validate`` refuses them before any run starts.
"""

from __future__ import annotations

import contextvars
import re
import string
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.visitor import NodeTransformer

__all__ = [
    "MAX_SEQUENCE",
    "MAX_OUTPUT",
    "MAX_WIDTH",
    "MAX_STEPS",
    "MAX_EXPONENT",
    "Budget",
    "budget",
    "step",
    "check_printf",
    "check_format_string",
    "check_method_call",
    "bounded_filters",
    "bounded_iter",
    "bounded_text",
    "transform",
    "static_problems",
]

MAX_SEQUENCE = 100_000
"""The longest string or list one operation may build."""
MAX_OUTPUT = 100_000
"""The longest text a template may render (a Jira description is at most 32,767)."""
MAX_WIDTH = 10_000
"""The widest padding, fill or count an operation may ask for (``ljust``, ``%10000d``)."""
MAX_STEPS = 200_000
"""Steps (loop iterations, calls, filters, attribute reads, operators) per evaluation; about
a fifth of a second of work."""
MAX_EXPONENT = 64
MACRO_CALL_STEPS = 10
"""A macro call costs this many steps (it sets up a frame, a context and a buffer)."""

_N = TypeVar("_N", bound=nodes.Node)


class Budget:
    """The steps left to one evaluation."""

    __slots__ = ("left",)

    def __init__(self, steps: int = MAX_STEPS) -> None:
        self.left = steps


_CURRENT: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "aims_expression_budget", default=None
)


class budget:  # noqa: N801 - used as a context manager, like contextlib's
    """A fresh budget for one evaluation (nested evaluations share the outer one)."""

    def __init__(self, steps: int = MAX_STEPS) -> None:
        self._steps = steps
        self._token: contextvars.Token[Budget | None] | None = None

    def __enter__(self) -> Budget:
        current = _CURRENT.get()
        if current is not None:
            return current
        fresh = Budget(self._steps)
        self._token = _CURRENT.set(fresh)
        return fresh

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)


def step(cost: int = 1) -> None:
    """Spend ``cost`` steps of the current evaluation; refuse when none are left."""
    current = _CURRENT.get()
    if current is None:
        return
    current.left -= cost
    if current.left < 0:
        raise SecurityError(
            f"it takes more than {MAX_STEPS:,} steps (loops over loops?); "
            "keep templates and conditions simple"
        )


def _size(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple, dict)) else 0


def _check_length(length: int, what: str) -> None:
    if length > MAX_SEQUENCE:
        raise SecurityError(f"{what} would be longer than {MAX_SEQUENCE:,}")


def _check_width(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_WIDTH:
        raise SecurityError(f"{what} {value} is larger than {MAX_WIDTH:,}")


# -- printf-style ``%`` and str.format ---------------------------------------------------------
_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")


def check_printf(template: str) -> None:
    """Refuse a ``%`` format whose width or precision is large, or taken from the arguments."""
    for match in _PRINTF.finditer(template):
        for part in match.group(1, 2):
            if part == "*":
                raise SecurityError("a '%' format may not take its width from the arguments")
            if part is not None and int(part) > MAX_WIDTH:
                raise SecurityError(f"a '%' format width of {part} is larger than {MAX_WIDTH:,}")


def check_format_string(template: str) -> None:
    """Refuse a ``str.format`` template with a large width or precision, or a nested field."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return  # str.format raises its own error for it
    for _literal, _field, spec, _conversion in parsed:
        if not spec:
            continue
        if "{" in spec:
            raise SecurityError("a format spec may not take its width from the arguments")
        for number in re.findall(r"\d+", spec):
            if int(number) > MAX_WIDTH:
                raise SecurityError(f"a format width of {number} is larger than {MAX_WIDTH:,}")


# -- methods of str called from a template -----------------------------------------------------
_WIDTH_METHODS = {"ljust", "rjust", "center", "zfill"}
_REFUSED_METHODS = {"translate", "maketrans"}


def check_method_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse a call of a ``str`` method that would build a large text."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if not isinstance(owner, str):
        return
    if name in _REFUSED_METHODS:
        raise SecurityError(f"str.{name} is not available in templates")
    if name in _WIDTH_METHODS:
        for value in (*args, *kwargs.values()):
            _check_width(value, f"str.{name} width")
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        _check_width(size, "tab size")
        if isinstance(size, int):
            _check_length(owner.count("\t") * size + len(owner), "the text")
    elif name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        if isinstance(old, str) and isinstance(new, str):
            count = owner.count(old) if old else len(owner) + 1
            if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
                count = min(count, args[2])
            _check_length(len(owner) + count * max(0, len(new) - len(old)), "the replaced text")
    elif name == "join" and args:
        step(_size(args[0]))


# -- filters -------------------------------------------------------------------------------------
def _bounded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def checked(*args: Any, **kwargs: Any) -> Any:
        step()
        # a filter that asks for the context, eval context or environment gets it first
        skip = 1 if getattr(original, "jinja_pass_arg", None) is not None else 0
        value = args[skip] if len(args) > skip else None
        rest = list(args[skip + 1 :])
        if name in ("center", "indent", "wordwrap", "truncate", "batch", "slice", "tojson"):
            for extra in (*rest, *kwargs.values()):
                _check_width(extra, f"the '{name}' argument")
        if name == "format" and isinstance(value, str):
            check_printf(value)
        if name == "replace" and len(rest) >= 2:
            check_method_call(str(value).replace, tuple(rest), {})
        if name == "indent" and isinstance(value, str):
            width = rest[0] if rest else kwargs.get("width", 4)
            if isinstance(width, int):
                _check_length(len(value) + value.count("\n") * width, "the indented text")
        result = original(*args, **kwargs)
        if isinstance(result, (str, list, tuple)):
            _check_length(len(result), f"the result of '{name}'")
        return result

    checked.__name__ = getattr(original, "__name__", name)
    if hasattr(original, "jinja_pass_arg"):
        checked.jinja_pass_arg = original.jinja_pass_arg  # type: ignore[attr-defined]
    return checked


def bounded_filters(filters: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Every filter counted as a step, and those that can grow text checked first."""
    return {name: _bounded_filter(name, f) for name, f in filters.items()}


# -- loops and ``~`` ------------------------------------------------------------------------------
def bounded_iter(iterable: Iterable[Any]) -> Iterator[Any]:
    """A ``{% for %}`` loop's items, each a step of the budget."""
    for item in iterable:
        step()
        yield item


def bounded_text(value: Any) -> Any:
    """The result of ``a ~ b``, refused when it grew too long (each part is bounded, so it
    can grow only so much per step)."""
    step()
    if isinstance(value, str):
        _check_length(len(value), "the joined text")
    return value


class _Transformer(NodeTransformer):
    """Routes every loop's iterable and every ``~`` through the budget."""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802 - Jinja's visitor naming
        self.generic_visit(node)
        node.iter = _call("aims_bounded_iter", node.iter)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        return _call("aims_bounded_text", node)


def _call(name: str, arg: nodes.Node) -> nodes.Call:
    call = nodes.Call(nodes.EnvironmentAttribute(name), [arg], [], None, None)
    call.set_lineno(arg.lineno)
    return call


def transform(tree: nodes.Template) -> nodes.Template:
    """``tree`` with its loops and joins bounded (see :class:`_Transformer`)."""
    result = _Transformer().visit(tree)
    assert isinstance(result, nodes.Template)
    return result


# -- what `aims validate` can see in the text ------------------------------------------------
def _const(node: nodes.Node | None) -> Any:
    """The value of a constant written in the text (``10**9`` included), or None. Computed
    only while small: a validator must not do what it refuses."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.Neg):
        value = _const(node.node)
        return -value if isinstance(value, (int, float)) else None
    if isinstance(node, (nodes.Pow, nodes.Mul)):
        left, right = _const(node.left), _const(node.right)
        if not (isinstance(left, int) and isinstance(right, int)):
            return None
        if isinstance(node, nodes.Mul):
            return left * right if abs(left) < 2**62 and abs(right) < 2**62 else None
        if 0 <= right <= MAX_EXPONENT and left.bit_length() * right <= 4096:
            return left**right
    return None


def _all(tree: nodes.Node, kind: type[_N]) -> Iterator[_N]:
    """Every node of ``kind`` in ``tree``, the root included (``find_all`` skips it)."""
    if isinstance(tree, kind):
        yield tree
    yield from tree.find_all(kind)


def _range_size(node: nodes.Node) -> int | None:
    """The number of items of ``range(<constants>)``, or None when it is not one."""
    if not (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Name)
        and node.node.name == "range"
    ):
        return None
    values = [_const(a) for a in node.args]
    if not values or not all(isinstance(v, int) for v in values):
        return None
    return len(range(*values)) if len(values) <= 3 and values[-1] != 0 else None


def _loop_problems(node: nodes.Node, outer: int) -> Iterator[str]:
    for loop in node.iter_child_nodes():
        if isinstance(loop, nodes.For):
            size = _range_size(loop.iter)
            total = outer * (size or 1)
            if size is not None and total > MAX_STEPS:
                yield (
                    f"its loops run {total:,} times (more than {MAX_STEPS:,}); "
                    "loop over the data, not over large ranges"
                )
                continue
            yield from _loop_problems(loop, total)
        else:
            yield from _loop_problems(loop, outer)


def static_problems(tree: nodes.Node) -> list[str]:
    """Requests for large output or endless work visible in the text itself."""
    found: list[str] = []

    def refuse(check: Callable[..., None], *args: Any) -> None:
        try:
            check(*args)
        except SecurityError as err:
            found.append(str(err))

    for mod in _all(tree, nodes.Mod):
        left = _const(mod.left)
        if isinstance(left, str):
            refuse(check_printf, left)
    for mul in _all(tree, nodes.Mul):
        a, b = _const(mul.left), _const(mul.right)
        for seq, times in ((a, b), (b, a)):
            if isinstance(seq, str) and isinstance(times, int) and len(seq) * times > MAX_SEQUENCE:
                found.append(f"the result would be longer than {MAX_SEQUENCE:,}")
    for power in _all(tree, nodes.Pow):
        exponent = _const(power.right)
        if isinstance(exponent, (int, float)) and abs(exponent) > MAX_EXPONENT:
            found.append(f"exponent {exponent} is larger than {MAX_EXPONENT}")
    for call in _all(tree, nodes.Call):
        if isinstance(call.node, nodes.Getattr):
            owner = _const(call.node.node)
            method = call.node.attr
            args = tuple(_const(a) for a in call.args)
            if method in _REFUSED_METHODS:
                found.append(f"str.{method} is not available in templates")
            elif method in _WIDTH_METHODS or method == "expandtabs":
                for value in args:
                    refuse(_check_width, value, method)
            elif method == "format" and isinstance(owner, str):
                refuse(check_format_string, owner)
    for flt in _all(tree, nodes.Filter):
        flt_args = [_const(a) for a in flt.args] + [_const(k.value) for k in flt.kwargs]
        if flt.name in ("center", "indent", "wordwrap", "truncate", "batch", "slice", "tojson"):
            for value in flt_args:
                refuse(_check_width, value, f"'{flt.name}'")
        spec = _const(flt.node)
        if flt.name == "format" and isinstance(spec, str):
            refuse(check_printf, spec)
    for macro in _all(tree, nodes.Macro):
        if any(
            isinstance(c.node, nodes.Name) and c.node.name == macro.name
            for c in macro.find_all(nodes.Call)
        ):
            found.append(f"macro '{macro.name}' calls itself; a template may not recurse")
    found += list(_loop_problems(tree, 1))
    return list(dict.fromkeys(found))
