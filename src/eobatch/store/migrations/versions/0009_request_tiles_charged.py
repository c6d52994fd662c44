"""batch_requests.tiles_charged_pu: the running sum of a request's processed tiles' own charges

Revision ID: 0009
Revises: 0008

A processed tile's charge and the settlement's top-up to the request minimum depend on what the
request's processed tiles sum to. Summing the tiles on every outcome made each outcome slower as a
request grew (a 100 000-tile request: quadratic work); the sum is now kept on the request row, in the
transaction that charges the tile. Existing requests get the sum of their processed tiles.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batch_requests") as batch:
        batch.add_column(sa.Column("tiles_charged_pu", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE batch_requests SET tiles_charged_pu = (SELECT COALESCE(SUM(tiles.charged_pu), 0) FROM tiles "
        "WHERE tiles.request_id = batch_requests.id AND tiles.status = 'PROCESSED')"
    )  # the server default stays: dropping it would rebuild the table on SQLite for nothing


def downgrade() -> None:
    with op.batch_alter_table("batch_requests") as batch:
        batch.drop_column("tiles_charged_pu")
