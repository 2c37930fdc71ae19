"""Reading workflow YAML while remembering where every key and item sits in the file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .problems import KeyPath

__all__ = ["YamlSource", "read_yaml"]


@dataclass
class YamlSource:
    """Plain data (dicts, lists, scalars) plus the round-trip tree that knows positions."""

    data: Any
    tree: Any

    def position(self, parts: KeyPath) -> tuple[int, int]:
        """1-based (line, column) of the deepest node of ``parts`` found in the file."""
        node = self.tree
        line, column = 1, 1
        for part in parts:
            if isinstance(node, CommentedMap) and part in node:
                key_line, key_col = node.lc.key(part)
                line, column = key_line + 1, key_col + 1
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                item_line, item_col = node.lc.item(part)
                line, column = item_line + 1, item_col + 1
                node = node[part]
            # else: a part that is not in the file (a union tag, a missing key): stay put
        return line, column


_MAX_VALUES = 200_000
"""Aliases of aliases can make a small file expand exponentially ("billion laughs"); stop early."""


def _plain(node: Any, _open: frozenset[int] = frozenset(), _count: list[int] | None = None) -> Any:
    count = _count if _count is not None else [0]
    count[0] += 1
    if count[0] > _MAX_VALUES:
        raise YamlSyntaxError(
            f"expands to more than {_MAX_VALUES} values (aliases repeating aliases?)", 0, 0
        )
    if isinstance(node, (dict, list)):
        if id(node) in _open:
            raise YamlSyntaxError("an alias refers to a node that contains it", 0, 0)
        _open = _open | {id(node)}
    if isinstance(node, dict):
        return {
            str(k) if not isinstance(k, str) else k: _plain(v, _open, count)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_plain(v, _open, count) for v in node]
    if hasattr(node, "value") and type(node).__module__.startswith("ruamel"):
        return node.value  # pragma: no cover - scalar wrappers are rare in safe round-trip
    return node


def read_yaml(text: str) -> YamlSource:
    """Parse YAML text; raises ``YamlSyntaxError`` with a 1-based line and column."""
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        tree = yaml.load(text)
        data = _plain(tree)
    except RecursionError:
        raise YamlSyntaxError(
            "nested too deeply, or an alias refers to a node that contains it", 0, 0
        ) from None
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = (err.problem or err.context or "invalid YAML").strip()
        raise YamlSyntaxError(message, line, column) from None
    except YAMLError as err:
        raise YamlSyntaxError(str(err).splitlines()[0], 0, 0) from None
    except YamlSyntaxError:
        raise
    except (AssertionError, ValueError, TypeError) as err:
        # the parser's own consistency checks, e.g. an unsupported "%YAML 1.0" directive
        raise YamlSyntaxError(
            f"unsupported YAML: {str(err).splitlines()[0] if str(err) else type(err).__name__}",
            1,
            1,
        ) from None
    return YamlSource(data, tree)


class YamlSyntaxError(ValueError):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column
