"""typed plan: batch_requests.plan (JSON) and plan_version, filled in for every stored request

Revision ID: 0007
Revises: 0006
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.0007")

COLUMNS = ("id", "api_version", "body", "process_request", "tiling_grid", "output", "bucket_name",
           "grid_id", "resolution", "buffer_x", "buffer_y")


def upgrade() -> None:
    with op.batch_alter_table("batch_requests") as batch:
        batch.add_column(sa.Column("plan", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("plan_version", sa.Integer(), nullable=True))
    from eobatch.api.stored_plans import plan_for_stored

    table = sa.table(
        "batch_requests",
        sa.column("id", sa.String),
        sa.column("api_version", sa.String),
        sa.column("body", sa.JSON),
        sa.column("process_request", sa.JSON),
        sa.column("tiling_grid", sa.JSON),
        sa.column("output", sa.JSON),
        sa.column("bucket_name", sa.String),
        sa.column("grid_id", sa.Integer),
        sa.column("resolution", sa.Float),
        sa.column("buffer_x", sa.Integer),
        sa.column("buffer_y", sa.Integer),
        sa.column("plan", sa.JSON),
        sa.column("plan_version", sa.Integer),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(*(table.c[name] for name in COLUMNS))).mappings().all()
    for row in rows:
        try:
            plan = plan_for_stored(dict(row))
        except Exception as exc:  # left without a plan: the engine fails it with this reason
            log.warning("request %s: no plan could be made from its stored body: %s", row["id"], exc)
            continue
        connection.execute(
            table.update().where(table.c.id == row["id"]).values(plan=plan, plan_version=plan["version"])
        )


def downgrade() -> None:
    with op.batch_alter_table("batch_requests") as batch:
        batch.drop_column("plan_version")
        batch.drop_column("plan")
