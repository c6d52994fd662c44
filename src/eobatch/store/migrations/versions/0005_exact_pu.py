"""PU amounts as whole micro-PU (BIGINT) instead of floats

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 07:00:00

Every charged or held amount (account sums, request charge and reservation, tile charge, ledger
deltas) becomes an integer number of micro-PU, so the ledger sums exactly. Existing values are
rounded to the micro-PU.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = {
    "accounts": ("available_pu", "reserved_pu"),
    "batch_requests": ("charged_pu", "reserved_pu"),
    "tiles": ("charged_pu",),
    "ledger_entries": ("available_delta", "reserved_delta"),
}
MICRO = 1_000_000


def _convert(to_micro: bool) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, columns in COLUMNS.items():
        if postgres:
            for column in columns:
                if to_micro:
                    using = f"round({column} * {MICRO})::bigint"
                    op.alter_column(table, column, type_=sa.BigInteger(), postgresql_using=using)
                else:
                    using = f"{column}::double precision / {MICRO}"
                    op.alter_column(table, column, type_=sa.Float(), postgresql_using=using)
            continue
        if to_micro:
            sets = ", ".join(f"{c} = CAST(round({c} * {MICRO}) AS INTEGER)" for c in columns)
        else:
            sets = ", ".join(f"{c} = CAST({c} AS REAL) / {MICRO}" for c in columns)
        op.execute(f"UPDATE {table} SET {sets}")
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.BigInteger() if to_micro else sa.Float())


def upgrade() -> None:
    _convert(to_micro=True)


def downgrade() -> None:
    _convert(to_micro=False)
