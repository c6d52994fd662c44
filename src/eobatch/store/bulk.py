"""Bulk INSERT of many rows that share most of their values (an analysis' tiles), at driver speed.

`session.execute(insert(Model), dicts)` builds and type-converts a parameter set per row in Python
(JSON, datetimes, micro-PU, Python-side defaults: about 100 us a row). Here the values shared by every
row are converted once by their column types, only the varying columns are converted per row, and the
rows go to the driver in chunks: SQLite gets the INSERT that SQLAlchemy compiles for the table through
`executemany`; PostgreSQL gets `COPY ... FROM STDIN` (psycopg 3). The stored values are exactly those
SQLAlchemy's own INSERT stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

CHUNK = 10_000  # rows converted and handed to the driver at once (bounds the memory of the parameters)


def insert_rows(
    session: Session,
    table: Table,
    shared: Mapping[str, Any],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> int:
    """INSERT one row per item of `rows` (the values of `columns`, in that order), each with the `shared`
    values; returns the number of rows. Every column with a Python-side default must be given."""
    connection = session.connection()
    dialect = connection.dialect
    keys = [*shared, *columns]
    compiled = table.insert().compile(dialect=dialect, column_keys=keys)
    if sorted(compiled.binds) != sorted(keys):
        raise ValueError(f"insert_rows needs values for {sorted(compiled.binds)}, got {sorted(keys)}")

    def processor(key: str) -> Callable[[Any], Any] | None:
        return table.c[key].type.dialect_impl(dialect).bind_processor(dialect)

    fixed = {k: (p(v) if (p := processor(k)) else v) for k, v in shared.items()}
    per_row = {k: p for k in columns if (p := processor(k)) is not None}
    # the parameters of the compiled statement, in its order (PostgreSQL: the COPY's columns)
    order = list(compiled.positiontup) if compiled.positional else keys
    copying = dialect.name == "postgresql"
    if copying:
        order = keys
        cursor = connection.connection.dbapi_connection.cursor()
        names = ", ".join(dialect.identifier_preparer.quote(k) for k in order)
        copy_sql = f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN"
    count, iterator = 0, iter(rows)
    try:
        while chunk := list(islice(iterator, CHUNK)):
            given = dict(zip(columns, zip(*chunk, strict=True), strict=True))  # column-wise
            for key, convert in per_row.items():
                given[key] = [convert(v) for v in given[key]]
            params = list(zip(*(given[k] if k in given else [fixed[k]] * len(chunk) for k in order), strict=True))
            if copying:
                with cursor.copy(copy_sql) as copy:
                    for values in params:
                        copy.write_row(values)
            elif compiled.positional:
                connection.exec_driver_sql(str(compiled), params)
            else:
                connection.exec_driver_sql(str(compiled), [dict(zip(order, p, strict=True)) for p in params])
            count += len(chunk)
    finally:
        if copying:
            cursor.close()
    return count
