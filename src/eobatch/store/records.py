"""Converters from database rows to the read models of `domain/records.py`, one per row type: what the
store's repositories hand out instead of ORM rows (read inside the session, plain values after it)."""

from __future__ import annotations

from eobatch.domain.records import AccountRecord, RequestRecord, TileRecord
from eobatch.store.models import Account, BatchRequest, Tile


def request_record(row: BatchRequest) -> RequestRecord:
    return RequestRecord(
        id=row.id,
        account_id=row.account_id,
        api_version=row.api_version,
        created=row.created,
        last_updated=row.last_updated,
        status=row.status,
        user_action=row.user_action,
        user_action_updated=row.user_action_updated,
        description=row.description,
        body=row.body,
        process_request=row.process_request,
        tiling_grid=row.tiling_grid,
        output=row.output,
        bucket_name=row.bucket_name,
        plan_json=row.plan,
        grid_id=row.grid_id,
        resolution=row.resolution,
        buffer_x=row.buffer_x,
        buffer_y=row.buffer_y,
        tile_count=row.tile_count,
        tile_width_px=row.tile_width_px,
        tile_height_px=row.tile_height_px,
        value_estimate=row.value_estimate,
        cost_estimate=row.cost_estimate,
        error=row.error,
        stopped_reason=row.stopped_reason,
        charged_pu=row.charged_pu,
        reserved_pu=row.reserved_pu,
        finished_at=row.finished_at,
    )


def tile_record(row: Tile) -> TileRecord:
    return TileRecord(
        request_id=row.request_id,
        tile_id=row.tile_id,
        name=row.name,
        epsg=row.epsg,
        minx=row.minx,
        miny=row.miny,
        maxx=row.maxx,
        maxy=row.maxy,
        width_px=row.width_px,
        height_px=row.height_px,
        geometry=row.geometry,
        status=row.status,
        attempts=row.attempts,
        cost=row.cost,
        charged_pu=row.charged_pu,
        estimated_pu=row.estimated_pu,
        error=row.error,
        no_data=row.no_data,
        scene_count=row.scene_count,
        evaluation=row.evaluation,
        scene_ids=row.scene_ids,
        bytes_written=row.bytes_written,
        duration_s=row.duration_s,
        outputs=row.outputs,
        updated=row.updated,
    )


def account_record(row: Account) -> AccountRecord:
    return AccountRecord(id=row.id, name=row.name, created=row.created, allowed_buckets=row.allowed_buckets)
