"""The slice of JQL that an adapter sends, parsed and evaluated against the sandbox's issues.

Supported: clauses joined by ``AND``; fields ``project``, ``key``/``issuekey``, ``labels``,
``issuetype``/``type``, ``status``, ``statusCategory``, ``assignee``, ``updated``/``created``;
operators ``=``, ``!=``, ``in``, ``not in``, ``>``, ``>=``, ``<``, ``<=``; values quoted or
bare, dates as ``"yyyy/MM/dd HH:mm"``, ``"yyyy-MM-dd"`` or relative (``-15m``, ``-2h``,
``-1d``, ``-1w``); ``ORDER BY`` ``updated``/``created``/``key`` ``ASC|DESC``. Anything else
is refused with a 400 in Jira's shape, so an adapter that drifts beyond this slice notices in
its tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ._errors import JiraApiError
from ._model import Issue
from ._state import JiraState
from ._workflow import STATUSES

__all__ = ["JqlQuery", "parse_jql"]

_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>>=|<=|!=|=|>|<|~|\(|\)|,)"""
    r"""|(?P<word>[^\s"'(),=!<>~]+))"""
)
_KEYWORDS = {"and", "or", "not", "in", "order", "by", "asc", "desc", "is", "was", "changed"}
_RELATIVE = re.compile(r"^([+-]?)(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_ORDERABLE = {"updated", "created", "key", "issuekey"}


@dataclass(frozen=True)
class _Token:
    kind: str  # "str", "op", "word"
    text: str
    pos: int

    @property
    def value(self) -> str:
        if self.kind == "str":
            return re.sub(r"\\(.)", r"\1", self.text[1:-1])
        return self.text


@dataclass
class JqlQuery:
    """A parsed query: a predicate over issues and the sort order."""

    jql: str
    predicate: Callable[[Issue], bool]
    order: list[tuple[str, bool]]  # (field, descending)

    def run(self, state: JiraState) -> list[Issue]:
        """Matching issues of live projects, sorted; callers hold ``state.lock``."""
        found = [
            i
            for i in state.issues.values()
            if not state.projects[i.project_id].deleted and self.predicate(i)
        ]
        found.sort(key=lambda i: int(i.id))
        for field_name, descending in reversed(self.order or [("key", True)]):
            found.sort(key=_sort_key(field_name), reverse=descending)
        return found


def _sort_key(field_name: str) -> Callable[[Issue], Any]:
    if field_name in ("key", "issuekey"):
        return lambda i: int(i.id)
    return lambda i: getattr(i, field_name)


def _tokenize(jql: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(jql):
        if jql[pos:].strip() == "":
            break
        match = _TOKEN.match(jql, pos)
        if not match or match.end() == pos:
            raise _error(f"unexpected character at position {pos}")
        kind = match.lastgroup or "word"
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return tokens


def _error(detail: str) -> JiraApiError:
    return JiraApiError(400, [f"Error in the JQL Query: {detail}."])


class _Parser:
    def __init__(self, jql: str, state: JiraState, now: datetime) -> None:
        self.tokens = _tokenize(jql)
        self.index = 0
        self.state = state
        self.now = now

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise _error("the query ended too early")
        self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text.lower() in words

    def expect_keyword(self, word: str) -> None:
        token = self.take()
        if token.kind != "word" or token.text.lower() != word:
            raise _error(
                f"expecting '{word.upper()}' but got '{token.text}' at position {token.pos}"
            )

    def parse(self) -> tuple[list[Callable[[Issue], bool]], list[tuple[str, bool]]]:
        clauses: list[Callable[[Issue], bool]] = []
        if self.peek() is not None and not self.at_keyword("order"):
            clauses.append(self.clause())
            while self.at_keyword("and"):
                self.take()
                clauses.append(self.clause())
        order: list[tuple[str, bool]] = []
        if self.at_keyword("order"):
            self.take()
            self.expect_keyword("by")
            while True:
                token = self.take()
                name = token.value.lower()
                if name not in _ORDERABLE:
                    raise _error(f"the sandbox cannot order by '{token.value}'")
                descending = False
                if self.at_keyword("asc", "desc"):
                    descending = self.take().text.lower() == "desc"
                order.append((name, descending))
                token_next = self.peek()
                if token_next is None or token_next.text != ",":
                    break
                self.take()
        leftover = self.peek()
        if leftover is not None:
            raise _error(
                f"the sandbox does not support '{leftover.text}' at position {leftover.pos}"
            )
        return clauses, order

    def clause(self) -> Callable[[Issue], bool]:
        token = self.take()
        if token.kind == "op" or token.text.lower() in _KEYWORDS:
            raise _error(f"the sandbox does not support '{token.text}' at position {token.pos}")
        field_name = token.value.lower()
        op_token = self.take()
        op = op_token.text.lower()
        if op == "not":
            self.expect_keyword("in")
            op = "not in"
        if op in ("in", "not in"):
            values = self.value_list()
        elif op in ("=", "!=", ">", ">=", "<", "<="):
            values = [self.value()]
        else:
            raise _error(
                f"the sandbox does not support operator '{op_token.text}' "
                f"at position {op_token.pos}"
            )
        return self.compile(field_name, op, values, token)

    def value(self) -> str:
        token = self.take()
        if token.kind == "op":
            raise _error(f"expecting a value but got '{token.text}' at position {token.pos}")
        return token.value

    def value_list(self) -> list[str]:
        opening = self.take()
        if opening.text != "(":
            raise _error(f"expecting '(' but got '{opening.text}' at position {opening.pos}")
        values = [self.value()]
        while (token := self.take()).text == ",":
            values.append(self.value())
        if token.text != ")":
            raise _error(f"expecting ')' but got '{token.text}' at position {token.pos}")
        return values

    def moment(self, text: str) -> datetime:
        relative = _RELATIVE.match(text.strip())
        if relative:
            sign = -1 if relative.group(1) == "-" else 1
            delta = timedelta(**{_UNITS[relative.group(3)]: int(relative.group(2))})
            return self.now + sign * delta
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
        raise _error(
            f"date value '{text}' for field 'updated' is invalid. Valid formats include: "
            "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or "
            "a period format e.g. '-5d', '4w 2d'"
        )

    def compile(
        self, field_name: str, op: str, values: list[str], token: _Token
    ) -> Callable[[Issue], bool]:
        if field_name in ("updated", "created"):
            if op in ("in", "not in"):
                raise _error(f"operator '{op}' is not supported for field '{field_name}'")
            moment = self.moment(values[0])
            compare = {
                "=": lambda a: a == moment,
                "!=": lambda a: a != moment,
                ">": lambda a: a > moment,
                ">=": lambda a: a >= moment,
                "<": lambda a: a < moment,
                "<=": lambda a: a <= moment,
            }[op]
            # Jira compares at minute precision.
            return lambda i: compare(getattr(i, field_name).replace(second=0, microsecond=0))
        if op in (">", ">=", "<", "<="):
            raise _error(f"operator '{op}' is not supported for field '{field_name}'")
        extract = self.extractor(field_name, values, token)
        wanted = {v.lower() for v in values}
        positive = op in ("=", "in")
        return lambda i: (bool(extract(i) & wanted)) == positive

    def extractor(
        self, field_name: str, values: list[str], token: _Token
    ) -> Callable[[Issue], set[str]]:
        state = self.state
        if field_name == "project":
            for value in values:
                if not any(
                    value.lower() in (p.key.lower(), p.id, p.name.lower())
                    for p in state.projects.values()
                    if not p.deleted
                ):
                    raise JiraApiError(
                        400, [f"The value '{value}' does not exist for the field 'project'."]
                    )

            def project_names(i: Issue) -> set[str]:
                p = state.projects[i.project_id]
                return {p.key.lower(), p.id, p.name.lower()}

            return project_names
        if field_name in ("key", "issuekey", "id"):
            return lambda i: {i.key.lower(), i.id}
        if field_name == "labels":
            return lambda i: {label.lower() for label in i.fields.get("labels") or []}
        if field_name in ("issuetype", "type"):
            for value in values:
                if not any(
                    value.lower() in (name.lower(), tid) for tid, name in state.issue_types.items()
                ):
                    raise JiraApiError(
                        400, [f"The value '{value}' does not exist for the field 'issuetype'."]
                    )
            return lambda i: {state.issue_types[i.issuetype].lower(), i.issuetype}
        if field_name == "status":
            return lambda i: {STATUSES[i.status_id].name.lower(), i.status_id}
        if field_name == "statuscategory":
            return lambda i: {
                STATUSES[i.status_id].category_key,
                STATUSES[i.status_id].category_name.lower(),
            }
        if field_name == "assignee":

            def assignee(i: Issue) -> set[str]:
                user = state.users.get(i.fields.get("assignee") or "")
                return {user.account_id.lower(), user.email.lower()} if user else set()

            return assignee
        raise _error(f"the sandbox does not support field '{token.value}' at position {token.pos}")


def parse_jql(jql: str, state: JiraState, now: datetime) -> JqlQuery:
    """Parse ``jql`` relative to ``now``; raise a 400 ``JiraApiError`` for anything else."""
    clauses, order = _Parser(jql, state, now).parse()
    return JqlQuery(jql, lambda issue: all(c(issue) for c in clauses), order)
