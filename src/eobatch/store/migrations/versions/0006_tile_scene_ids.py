"""tiles.scene_ids: the scenes (from the request's single search per collection) a tile was made from

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tiles") as batch:
        batch.add_column(sa.Column("scene_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tiles") as batch:
        batch.drop_column("scene_ids")
