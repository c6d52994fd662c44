"""batch collections: batch_collections, their registered tiles and the requests that use them

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

import eobatch.store.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_collections",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("s3_bucket", sa.String(length=255), nullable=False),
        sa.Column("bands", sa.JSON(), nullable=False),
        sa.Column("tiling_grid_id", sa.Integer(), nullable=True),
        sa.Column("created", eobatch.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_batch_collections_account_id", "batch_collections", ["account_id"], unique=False)
    op.create_table(
        "batch_collection_tiles",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("tile_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("epsg", sa.Integer(), nullable=False),
        sa.Column("minx", sa.Float(), nullable=False),
        sa.Column("miny", sa.Float(), nullable=False),
        sa.Column("maxx", sa.Float(), nullable=False),
        sa.Column("maxy", sa.Float(), nullable=False),
        sa.Column("footprint", sa.JSON(), nullable=False),
        sa.Column("time_from", eobatch.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("time_to", eobatch.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assets", sa.JSON(), nullable=False),
        sa.Column("created", eobatch.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["collection_id"], ["batch_collections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("collection_id", "request_id", "tile_id", name="uq_collection_tiles"),
    )
    op.create_index(
        "ix_batch_collection_tiles_collection_id", "batch_collection_tiles", ["collection_id"], unique=False
    )
    op.create_table(
        "batch_collection_uses",
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["collection_id"], ["batch_collections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id", "collection_id", "role"),
    )
    op.create_index("ix_batch_collection_uses_collection_id", "batch_collection_uses", ["collection_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_batch_collection_uses_collection_id", table_name="batch_collection_uses")
    op.drop_table("batch_collection_uses")
    op.drop_index("ix_batch_collection_tiles_collection_id", table_name="batch_collection_tiles")
    op.drop_table("batch_collection_tiles")
    op.drop_index("ix_batch_collections_account_id", table_name="batch_collections")
    op.drop_table("batch_collections")
