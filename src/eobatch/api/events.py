"""Server-sent events of one request (an eobatch extension): `GET /api/v1/batch/process/{id}/events`.

The stream reads the `request_events` table (store/events.py), so it sees what any scheduler process
did. Without `after` (or a `Last-Event-ID` header) it starts with a `snapshot` event of the request as
it is, then follows live; `after=0` replays the request's whole history first. It ends after the
request reaches a resting status (DONE, PARTIAL, FAILED, CANCELED, STOPPED) with nothing left to send;
a client following a restart reconnects with `Last-Event-ID`. A stream also closes after
`events_max_stream_s` (the client reconnects), so that it never holds up a server shutting down.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from eobatch.api.auth import Principal
from eobatch.api.deps import principal
from eobatch.api.pagination import _positive
from eobatch.store import api_units
from eobatch.store import events as store_events
from eobatch.store import requests as store_requests
from eobatch.store.db import Database

RESTING = frozenset({"DONE", "PARTIAL", "FAILED", "CANCELED", "STOPPED"})
KEEPALIVE_S = 15.0

Caller = Annotated[Principal, Depends(principal)]


def sse(event: str, data: dict[str, Any], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def snapshot(database: Database, account_id: str, request_id: str) -> tuple[dict[str, Any], int]:
    """The request as it is now (status, PU, tiles by status) and the event id it is current to."""
    cursor, row, counts = database.run(api_units.event_snapshot, account_id, request_id)
    data = {
        "requestId": row.id,
        "status": row.status,
        "userAction": row.user_action,
        "tileCount": row.tile_count,
        "tiles": counts,
        "chargedPU": row.charged_pu,
        "reservedPU": row.reserved_pu,
        "valueEstimate": row.value_estimate,
        "eventId": cursor,
    }
    return data, cursor


async def event_stream(
    request: Request,
    database: Database,
    account_id: str,
    request_id: str,
    after: int | None,
    interval: float,
    max_seconds: float,
) -> AsyncIterator[str]:
    status = None
    if after is None:
        data, after = await run_in_threadpool(snapshot, database, account_id, request_id)
        status = data["status"]
        yield sse("snapshot", data, after)
    cursor = store_events.EventCursor(after)
    beat = started = time.monotonic()

    def read() -> tuple[list[dict[str, Any]], bool]:
        before = cursor.after
        found = database.run(store_events.read_after, cursor, request_id)
        return found, cursor.after > before

    while not await request.is_disconnected():
        if time.monotonic() - started > max_seconds:
            return  # the client reconnects with Last-Event-ID; a server shutting down is not held up
        found, advanced = await run_in_threadpool(read)
        for event in found:
            if event["type"] == "status":
                status = event["status"]
            yield sse(event["type"], event, event["id"])
        if found:
            beat = time.monotonic()
        if advanced:
            continue
        if status in RESTING:
            yield sse("end", {"requestId": request_id, "status": status})
            return
        if time.monotonic() - beat > KEEPALIVE_S:
            beat = time.monotonic()
            yield ": keep-alive\n\n"
        await asyncio.sleep(interval)


def stream_events(
    request_id: str,
    request: Request,
    caller: Caller,
    after: Annotated[str | None, Query(description="replay events after this id (0: the whole history)")] = None,
) -> StreamingResponse:
    """Server-sent events: `snapshot`, `status`, `tile`, `pu`, and `end` when the request rests."""
    database: Database = request.app.state.database
    database.run(store_requests.get_request, caller.account_id, request_id)  # 404 before the stream starts
    resume = after if after is not None else request.headers.get("last-event-id")
    start = _positive(resume, "after", 0) if resume is not None else None
    settings = request.app.state.settings
    interval, max_seconds = float(settings.events_poll_interval_s), float(settings.events_max_stream_s)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        event_stream(request, database, caller.account_id, request_id, start, interval, max_seconds),
        media_type="text/event-stream",
        headers=headers,
    )


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1/batch/process", tags=["eobatch extensions"])
    r.add_api_route(
        "/{request_id}/events",
        stream_events,
        methods=["GET"],
        summary="Server-sent events of a request (status changes, tile outcomes, PU)",
        response_class=StreamingResponse,
    )
    return r
