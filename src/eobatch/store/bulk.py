"""Bulk INSERT of many rows that share most of their values (an analysis' tiles), at driver speed.

`session.execute(insert(Model), dicts)` builds and type-converts a parameter set per row in Python
(JSON, datetimes, micro-PU, Python-side defaults: about 100 us a row). Here the values shared by every
row are converted once by their column types, the varying ones are given as columns and converted column
by column (not at all when the caller gives them as stored, e.g. a JSON column's text built in bulk), and
the rows go to the driver in chunks: SQLite gets the INSERT that SQLAlchemy compiles for the table through
`executemany`; PostgreSQL gets `COPY ... FROM STDIN` (psycopg 3). The stored values are exactly those
SQLAlchemy's own INSERT stores.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

CHUNK = 10_000  # rows converted and handed to the driver at once (bounds the memory of the parameters)


def insert_columns(
    session: Session,
    table: Table,
    shared: Mapping[str, Any],
    columns: Mapping[str, Sequence[Any]],
    as_stored: Collection[str] = (),
) -> int:
    """INSERT one row per item of the `columns` (equally long sequences of values by column name), each
    with the `shared` values; returns the number of rows. Every column with a Python-side default must be
    given. The values of the `as_stored` columns are already what their type's conversion makes of them
    (a JSON column's text): they go to the driver as they are."""
    connection = session.connection()
    dialect = connection.dialect
    keys = [*shared, *columns]
    compiled = table.insert().compile(dialect=dialect, column_keys=keys)
    if sorted(compiled.binds) != sorted(keys):
        raise ValueError(f"insert_columns needs values for {sorted(compiled.binds)}, got {sorted(keys)}")
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"insert_columns needs columns of one length, got lengths {sorted(lengths)}")

    def processor(key: str) -> Callable[[Any], Any] | None:
        return table.c[key].type.dialect_impl(dialect).bind_processor(dialect)

    fixed = {k: (p(v) if (p := processor(k)) else v) for k, v in shared.items()}
    convert = {k: p for k in columns if k not in as_stored and (p := processor(k)) is not None}
    # the parameters of the compiled statement, in its order (PostgreSQL: the COPY's columns)
    order = list(compiled.positiontup) if compiled.positional else keys
    copying = dialect.name == "postgresql"
    if copying:
        order = keys
        cursor = connection.connection.dbapi_connection.cursor()
        names = ", ".join(dialect.identifier_preparer.quote(k) for k in order)
        copy_sql = f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN"
    count = lengths.pop() if lengths else 0
    try:
        for start in range(0, count, CHUNK):
            given = {k: v[start : start + CHUNK] for k, v in columns.items()}
            for key, process in convert.items():
                given[key] = list(map(process, given[key]))
            n = min(CHUNK, count - start)
            params = list(zip(*(given[k] if k in given else [fixed[k]] * n for k in order), strict=True))
            if copying:
                with cursor.copy(copy_sql) as copy:
                    for values in params:
                        copy.write_row(values)
            elif compiled.positional:
                connection.exec_driver_sql(str(compiled), params)
            else:
                connection.exec_driver_sql(str(compiled), [dict(zip(order, p, strict=True)) for p in params])
    finally:
        if copying:
            cursor.close()
    return count
