"""`POST /api/v1/process`: Sentinel Hub's Process API on the batch tile pipeline, charged in PU.

One response: its bytes with its MIME type. Several: a tar of `<identifier>.<ext>` files when the
client accepts `application/tar` (sentinelhub-py does), else `multipart/mixed`, one part per response.
"""

from __future__ import annotations

import io
import tarfile
import threading
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from eobatch.api.auth import Principal
from eobatch.api.body import read_json
from eobatch.api.deps import principal
from eobatch.api.process.compute import Computed, ProcessWorkers, window_task
from eobatch.api.process.wire import ProcessWindow, parse_process
from eobatch.store import ledger

Caller = Annotated[Principal, Depends(principal)]
TAR_TYPES = ("application/tar", "application/x-tar")


_WORKERS_LOCK = threading.Lock()


def workers(request: Request) -> ProcessWorkers:
    """The app's one `ProcessWorkers` (its pool starts with the first window; the lifespan stops it)."""
    state = request.app.state
    with _WORKERS_LOCK:
        if getattr(state, "process_workers", None) is None:
            state.process_workers = ProcessWorkers(state.settings)
        return state.process_workers


def _tar(window: ProcessWindow, computed: Computed) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for response in window.responses:
            data = computed.files[response.filename]
            info = tarfile.TarInfo(response.filename)
            info.size, info.mtime = len(data), int(time.time())
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _multipart(window: ProcessWindow, computed: Computed) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for response in window.responses:
        head = (
            f"--{boundary}\r\nContent-Type: {response.mime}\r\n"
            f'Content-Disposition: form-data; name="{response.identifier}"; filename="{response.filename}"\r\n\r\n'
        )
        parts.append(head.encode() + computed.files[response.filename] + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/mixed; boundary={boundary}"


def process(request: Request, caller: Caller, body: Annotated[Any, Depends(read_json)]) -> Response:
    """Compute the window, charge its PU, answer with the outputs."""
    window = parse_process(body)
    settings = request.app.state.settings
    computed = workers(request).run(window_task(window, caller.account_id, settings))
    note = f"process API {window.width}x{window.height} px, {computed.scene_count} scene(s)"
    request.app.state.database.run(ledger.charge_process, caller.account_id, computed.cost_pu, note)
    headers = {"X-ProcessingUnits-Spent": f"{computed.cost_pu:.6g}"}
    if len(window.responses) == 1:
        only = window.responses[0]
        return Response(computed.files[only.filename], media_type=only.mime, headers=headers)
    accept = request.headers.get("accept", "").lower()
    if any(kind in accept for kind in TAR_TYPES):
        return Response(_tar(window, computed), media_type="application/tar", headers=headers)
    content, media_type = _multipart(window, computed)
    return Response(content, media_type=media_type, headers=headers)


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["process"])
    r.add_api_route(
        "/process",
        process,
        methods=["POST"],
        summary="Process API: one window through the tile pipeline (TIFF, PNG, JPEG, JSON; tar for several)",
        response_class=Response,
    )
    return r
