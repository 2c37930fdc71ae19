"""Prepared statements for the hot path: one SQLAlchemy Core statement, compiled once per dialect,
executed on the DBAPI connection of the caller's SQLAlchemy transaction.

Executing a statement through ``Connection.execute`` costs far more than SQLite takes to run it
(cache key, parameter processing, execution context, result set). The handful of fixed statements
every event runs are compiled here once instead, and their parameters are converted by the very
bind processors the column types give the dialect (UTC datetimes naive on SQLite and aware on
PostgreSQL, JSON as the JSON type serialises it, booleans), so what reaches the database is exactly
what ``Connection.execute`` would send. The Core definitions stay the only source of the SQL.

The statements run inside the caller's transaction (same DBAPI connection), driver errors are
raised as SQLAlchemy's exceptions, and the engine's ``before_cursor_execute`` /
``after_cursor_execute`` listeners still see every statement.

This reaches into SQLAlchemy's compiled statements (``positiontup``, ``bind_names``, ``binds``,
the prefetch lists), which are not public API, so pyproject.toml bounds SQLAlchemy to the
releases it was checked on (2.0 and 2.1). :func:`plain_sqlalchemy` runs the same calls through
``Connection.execute``: ``tests/unit/test_store_fast_path.py`` runs one workload both ways and
compares every table row by row, and ``bench/storage_path.py`` measures what the fast path is
worth (plain Core managed about 0.6x the events per second of the fast path on SQLAlchemy 2.1).
Before raising the bound, run both on the new release.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, cast

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["Prepared", "execute_driver_sql", "plain_sqlalchemy", "savepoint"]


class _Compiled:
    """A statement compiled for one dialect: SQL text and how to build its parameters."""

    __slots__ = ("sql", "plan", "named", "results", "_dialect", "_types")

    def __init__(self, statement: ClauseElement, keys: Sequence[str], dialect: Dialect) -> None:
        # compiled as for executemany: an INSERT then gets no implicit RETURNING of its primary key
        # (which SQLAlchemy would fetch itself); the SQL is otherwise the same
        # a DML statement compiles to an SQLCompiler; only that class has the attributes read here
        compiled = cast(
            SQLCompiler,
            statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=True),
        )
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError(
                "statements with expanding or literal-execute parameters are not supported"
            )
        if compiled.insert_prefetch or compiled.update_prefetch:
            # Python-side column defaults: SQLAlchemy computes them per execution; callers pass
            # every value
            raise ValueError(
                f"statement needs column defaults computed: pass {self._names(compiled)}"
            )
        if compiled.effective_returning:
            # SQLAlchemy would fetch an (implicit) RETURNING itself; callers here never need it
            raise ValueError("statements with RETURNING are not supported")
        self.sql = compiled.string
        self.named = not compiled.positional
        supplied = set(keys)
        escaped: Mapping[str, str] = compiled.escaped_bind_names or {}
        names = (
            list(compiled.positiontup or ())
            if compiled.positional
            else list(compiled.bind_names.values())
        )
        binds = compiled.binds
        # (name in the SQL, key of the supplied value or None, bind processor, fixed value)
        plan: list[tuple[str, str | None, Any, Any]] = []
        for name in names:
            bind = binds[name]
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if name in supplied:
                plan.append((escaped.get(name, name), name, processor, None))
            else:  # a value fixed in the statement (``id == 1``, ``status == 'open'``)
                if bind.callable is not None or bind.value is None and bind.required:
                    raise ValueError(f"parameter {name!r} of {self.sql!r} is not supplied")
                value = bind.effective_value
                plan.append(
                    (escaped.get(name, name), None, None, processor(value) if processor else value)
                )
        self.plan = tuple(plan)
        self._dialect = dialect
        self._types = tuple(column.type for column in getattr(statement, "selected_columns", ()))
        self.results: tuple[Any, ...] | None | Literal[False] = (
            False  # built from the first result's description
        )

    def result_processors(self, description) -> tuple | None:
        """The column types' result processors, as SQLAlchemy picks them: with the DBAPI's type
        code of each column (PostgreSQL numerics depend on it)."""
        results = self.results
        if results is False:
            dialect = self._dialect
            found = tuple(
                t.dialect_impl(dialect).result_processor(dialect, d[1])
                for t, d in zip(self._types, description, strict=True)
            )
            results = self.results = found if any(found) else None
        return results

    @staticmethod
    def _names(compiled) -> str:
        return ", ".join(c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch))

    def parameters(self, values: Mapping[str, Any]):
        if self.named:
            return {
                out: (
                    value if key is None else (processor(values[key]) if processor else values[key])
                )
                for out, key, processor, value in self.plan
            }
        return [
            value if key is None else (processor(values[key]) if processor else values[key])
            for _out, key, processor, value in self.plan
        ]


class Prepared:
    """One fixed statement; ``keys`` names every parameter callers pass (columns and ``b_*``
    binds)."""

    __slots__ = ("statement", "keys", "_by_dialect", "_last")

    def __init__(self, statement: ClauseElement, keys: Iterable[str]) -> None:
        self.statement = statement
        self.keys = tuple(keys)
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, _Compiled] = (
            weakref.WeakKeyDictionary()
        )
        self._last: tuple[Dialect, _Compiled] | None = None

    def compiled(self, dialect: Dialect) -> _Compiled:
        last = self._last
        if last is not None and last[0] is dialect:
            return last[1]
        compiled = self._by_dialect.get(dialect)
        if compiled is None:
            compiled = self._by_dialect[dialect] = _Compiled(self.statement, self.keys, dialect)
        self._last = (dialect, compiled)
        return compiled

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> int:
        """Run with one set of parameters; returns the number of rows it changed."""
        compiled = self.compiled(conn.dialect)
        cursor = _run(conn, compiled.sql, compiled.parameters(values), False)
        count = cursor.rowcount
        cursor.close()
        return count

    def executemany(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        compiled = self.compiled(conn.dialect)
        make = compiled.parameters
        _run(conn, compiled.sql, [make(row) for row in rows], True).close()

    def all(self, conn: Connection, values: Mapping[str, Any]) -> list[tuple]:
        """Every row of a SELECT, converted by the column types' result processors."""
        compiled = self.compiled(conn.dialect)
        cursor = _run(conn, compiled.sql, compiled.parameters(values), False)
        try:
            rows = cursor.fetchall()
            results = compiled.result_processors(cursor.description)
        finally:
            cursor.close()
        if results is None:
            return rows
        return [
            tuple(value if p is None else p(value) for p, value in zip(results, row, strict=True))
            for row in rows
        ]

    def first(self, conn: Connection, values: Mapping[str, Any]) -> tuple | None:
        """The first row of a SELECT, converted by the column types' result processors."""
        compiled = self.compiled(conn.dialect)
        cursor = _run(conn, compiled.sql, compiled.parameters(values), False)
        try:
            row = cursor.fetchone()
            results = compiled.result_processors(cursor.description)
        finally:
            cursor.close()
        if row is None or results is None:
            return row
        return tuple(
            value if p is None else p(value) for p, value in zip(results, row, strict=True)
        )


def execute_driver_sql(conn: Connection, sql: str) -> None:
    """A fixed SQL text without parameters (``BEGIN IMMEDIATE``), as ``exec_driver_sql`` would
    run it."""
    _run(conn, sql, (), False).close()


@contextlib.contextmanager
def savepoint(conn: Connection, name: str = "aims_unit") -> Iterator[None]:
    """The block in a savepoint of the caller's transaction: released when it ends, rolled back
    to (and released) when it raises, as ``Connection.begin_nested()`` does, without the cost
    of SQLAlchemy's nested-transaction bookkeeping (a group commit takes one per event).
    Nesting another savepoint inside is fine; the name only has to differ from an enclosing
    one of this kind."""
    execute_driver_sql(conn, f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        execute_driver_sql(conn, f"ROLLBACK TO SAVEPOINT {name}")
        execute_driver_sql(conn, f"RELEASE SAVEPOINT {name}")
        raise
    execute_driver_sql(conn, f"RELEASE SAVEPOINT {name}")


def _run(conn: Connection, sql: str, parameters, many: bool):
    # the pool's DBAPI connection itself (what driver_connection also gives for the sync
    # drivers used here, through three property calls per statement)
    dbapi_conn = conn.connection.dbapi_connection
    if dbapi_conn is None:  # only a closed or invalidated connection has none
        raise exc.ResourceClosedError("the connection has no DBAPI connection")
    # listeners added to this connection itself are rare (it is then marked as having events);
    # else the engine's dispatcher (which includes listeners on the Engine class) holds them
    # all, and asking it is cheaper than the per-connection dispatcher joined over it
    listeners = conn.dispatch if conn._has_events else conn.engine.dispatch
    if listeners.before_cursor_execute:
        for fn in listeners.before_cursor_execute:
            sql, parameters = fn(conn, None, sql, parameters, None, many)
    cursor = dbapi_conn.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
    except conn.dialect.loaded_dbapi.Error as err:
        cursor.close()
        raise exc.DBAPIError.instance(
            sql,
            parameters,
            err,
            conn.dialect.loaded_dbapi.Error,
            dialect=conn.dialect,
            ismulti=many,
        ) from err
    if listeners.after_cursor_execute:
        for fn in listeners.after_cursor_execute:
            fn(conn, cursor, sql, parameters, None, many)
    return cursor


# -- the same calls through plain SQLAlchemy Core ---------------------------------------------
# What each fast call stands for. SQLAlchemy caches the compiled form of these fixed statements
# itself (the engine's compiled cache); what it costs on top is per execution.


def _statement(prepared: Prepared) -> Executable:
    # every statement given to Prepared is an executable Core statement (insert, update, select)
    return cast(Executable, prepared.statement)


def _plain_execute(self: Prepared, conn: Connection, values: Mapping[str, Any]) -> int:
    return conn.execute(_statement(self), dict(values)).rowcount


def _plain_executemany(self: Prepared, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
    parameters = [dict(row) for row in rows]
    if parameters:  # Connection.execute runs a statement once when given no parameter sets
        conn.execute(_statement(self), parameters)


def _plain_all(self: Prepared, conn: Connection, values: Mapping[str, Any]) -> list[tuple]:
    return [tuple(row) for row in conn.execute(_statement(self), dict(values))]


def _plain_first(self: Prepared, conn: Connection, values: Mapping[str, Any]) -> tuple | None:
    row = conn.execute(_statement(self), dict(values)).first()
    return None if row is None else tuple(row)


def _plain_driver_sql(conn: Connection, sql: str) -> None:
    conn.exec_driver_sql(sql)


_FAST_METHODS = {
    "execute": Prepared.execute,
    "executemany": Prepared.executemany,
    "first": Prepared.first,
    "all": Prepared.all,
}
_PLAIN_METHODS = {
    "execute": _plain_execute,
    "executemany": _plain_executemany,
    "first": _plain_first,
    "all": _plain_all,
}


@contextlib.contextmanager
def plain_sqlalchemy() -> Iterator[None]:
    """While the block runs, every :class:`Prepared` statement and :func:`execute_driver_sql`
    go through plain ``Connection.execute`` / ``exec_driver_sql``: the reference the fast path
    is tested and measured against. Process-wide: for tests and benchmarks only."""
    global execute_driver_sql
    fast_driver_sql = execute_driver_sql
    for name, method in _PLAIN_METHODS.items():
        setattr(Prepared, name, method)
    execute_driver_sql = _plain_driver_sql
    try:
        yield
    finally:
        for name, method in _FAST_METHODS.items():
            setattr(Prepared, name, method)
        execute_driver_sql = fast_driver_sql
