"""SQL that must differ by dialect, in one place (kept apart from ``store`` so that every module of
``loaders`` that writes can use it without importing the store)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError


def insert_if_absent(conn: Connection, table: Table, rows: Mapping | Sequence[Mapping],
                     index_elements: Sequence[str]) -> int:
    """Insert the rows whose key is not in ``table`` yet and leave the others alone; returns how many
    were inserted (reliable for one row; some drivers report -1 for several).

    ``index_elements``: the primary key's or a unique constraint's columns. This is the one place
    that picks the dialect's ``INSERT ... ON CONFLICT DO NOTHING`` (SQLite, PostgreSQL), so two
    processes adding the same reference row at once never fail on the key: callers re-read ids
    afterwards. Other dialects insert row by row in a savepoint and skip duplicates."""
    rows = [dict(rows)] if isinstance(rows, Mapping) else [dict(r) for r in rows]
    if not rows:
        return 0
    name = conn.dialect.name
    if name in ("sqlite", "postgresql"):
        from sqlalchemy.dialects import postgresql, sqlite

        dialect_insert: Any = sqlite.insert if name == "sqlite" else postgresql.insert
        statement = dialect_insert(table).on_conflict_do_nothing(index_elements=list(index_elements))
        keep = {"preserve_rowcount": True}  # else psycopg reports -1 for an INSERT
        if len(rows) == 1:
            return conn.execute(statement.values(**rows[0]), execution_options=keep).rowcount
        return conn.execute(statement, rows, execution_options=keep).rowcount
    inserted = 0
    for row in rows:
        try:
            with conn.begin_nested():
                conn.execute(insert(table).values(**row))
            inserted += 1
        except IntegrityError:
            continue
    return inserted
