"""Querysets compiled once per database and shape, then run many times with new values.

Building and compiling a queryset costs Django far more than the database takes to run it: the
installation store's read (the workspace's latest installation with its latest bot, one query) took
2.7 ms to build and compile against 0.1 ms to run on SQLite, and every cold authorization pays for
it (every request does while the cache is down). A :class:`PreparedQuery` builds its queryset once
for each database alias and each pattern of ``None`` among its values (``enterprise_id IS NULL``
is other SQL than ``enterprise_id = %s``), with placeholder values, and keeps the SQL Django compiled,
the positions of the values in its parameters, and the column converters (decryption of token
columns, datetimes, JSON). A call runs that SQL through Django's cursor (so queries are counted and
logged as any other) and converts the rows as a ``values()`` queryset would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.db import connections
from django.db.models import QuerySet

__all__ = ["PreparedQuery"]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # For each parameter: the name of the value that goes there, or None and the constant.
    params: tuple[tuple[str | None, Any], ...]
    names: tuple[str, ...]
    # Column position -> (converters, expression), as Django's compiler applies them.
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]


class PreparedQuery:
    """``build(**values)`` must return a ``values()`` queryset of the columns to read."""

    def __init__(self, build: Callable[..., QuerySet[Any]]) -> None:
        self._build = build
        self._compiled: dict[tuple[Any, ...], _Compiled] = {}
        self._lock = threading.Lock()

    def rows(self, using: str, **values: str | None) -> list[SimpleNamespace]:
        """The rows for ``values``, each with the selected columns as attributes."""
        connection = connections[using]
        key = (
            using,
            connection.vendor,
            tuple(sorted((name, value is None) for name, value in values.items())),
        )
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(using, key, values)
        params = [values[name] if name is not None else constant for name, constant in compiled.params]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        return [self._row(compiled, row, connection) for row in fetched]

    @staticmethod
    def _row(compiled: _Compiled, row: Any, connection: Any) -> SimpleNamespace:
        converted = list(row)
        for position, converters, expression in compiled.converters:
            value = converted[position]
            for converter in converters:
                value = converter(value, expression, connection)
            converted[position] = value
        return SimpleNamespace(**dict(zip(compiled.names, converted, strict=True)))

    def _compile(self, using: str, key: tuple[Any, ...], values: dict[str, str | None]) -> _Compiled:
        placeholders = {
            name: f"\x00django_slack_bolt:{name}\x00" for name, value in values.items() if value is not None
        }
        queryset = self._build(**{name: placeholders.get(name) for name in values})
        compiler = queryset.query.get_compiler(using=using)
        sql, raw_params = compiler.as_sql()
        by_placeholder = {placeholder: name for name, placeholder in placeholders.items()}
        params = tuple((by_placeholder.get(p) if isinstance(p, str) else None, p) for p in raw_params)
        missing = set(placeholders) - {name for name, _ in params if name is not None}
        if missing:
            raise ValueError(f"the prepared query does not use {sorted(missing)}")
        query = queryset.query
        names = (*query.extra_select, *query.values_select, *query.annotation_select)
        expressions = [selected[0] for selected in compiler.select[: compiler.col_count]]
        converters = tuple(
            (position, tuple(functions), expression)
            for position, (functions, expression) in compiler.get_converters(expressions).items()
        )
        compiled = _Compiled(sql, params, tuple(names), converters)
        with self._lock:
            self._compiled.setdefault(key, compiled)
        return compiled
