"""Dashboard routes: the page at `/`, its assets (ours and the npm-installed Leaflet, never a CDN), the
JSON views it reads, and output previews as map tiles. Every view and preview needs the account's token."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from eobatch.api.auth import Principal
from eobatch.api.dashboard import previews, views
from eobatch.api.deps import principal
from eobatch.errors import NotFound
from eobatch.settings import Settings
from eobatch.store import api_units
from eobatch.store.db import Database

WEB = Path(__file__).resolve().parents[2] / "web"
STATIC = WEB / "static"
LEAFLET = WEB / "node_modules" / "leaflet" / "dist"
MISSING_ASSETS = "The dashboard's map library is not installed: run `make venv` (it runs `npm ci` in src/eobatch/web)."

Caller = Annotated[Principal, Depends(principal)]


def _database(request: Request) -> Database:
    return request.app.state.database


def index() -> HTMLResponse:
    return HTMLResponse((STATIC / "index.html").read_text(), headers={"Cache-Control": "no-cache"})


def config(request: Request) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    basemap = None
    if settings.dashboard_basemap_url:
        basemap = {"url": settings.dashboard_basemap_url, "attribution": settings.dashboard_basemap_attribution}
    return {"basemap": basemap, "assets": LEAFLET.is_dir()}


def list_requests(request: Request, caller: Caller) -> dict[str, Any]:
    found = _database(request).run(api_units.dashboard, caller.account_id, limit=200)
    balance = found.balance
    return {
        "account": {
            "name": found.account.name,
            "availablePU": balance.available,
            "reservedPU": balance.reserved,
            "spentPU": balance.spent,
        },
        "requests": [views.request_summary(r, found.tile_counts.get(r.id, {})) for r in found.requests.items],
        "more": found.requests.has_more,
    }


def get_request(request_id: str, request: Request, caller: Caller) -> dict[str, Any]:
    row, tiles, counts = _database(request).run(api_units.dashboard_request, caller.account_id, request_id)
    return {
        "request": views.request_summary(row, counts),
        "area": views.request_area(row),
        "evalscript": row.process_request.get("evalscript"),
        "tiles": [views.tile_view(t) for t in tiles],
    }


def preview(request_id: str, tile_id: int, z: int, x: int, y: int, request: Request, caller: Caller) -> Response:
    """A PNG map tile of the tile's first GeoTIFF output."""
    from eobatch.storage.objects import ObjectStorage, S3Credentials

    keys, tile = _database(request).run(api_units.tile_preview, caller.account_id, request_id, tile_id)
    outputs = [url for url in tile.outputs or [] if url.lower().endswith((".tif", ".tiff"))]
    credentials = S3Credentials.from_delivery((keys or {}).get("s3"))
    if not outputs:
        raise NotFound(f"Tile {tile_id} has no GeoTIFF output to preview")
    storage = ObjectStorage(request.app.state.settings, credentials)
    output = previews.cached_output(outputs[0], storage.get)
    png = previews.render_tile(output, z, x, y)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


def router() -> APIRouter:
    r = APIRouter(tags=["dashboard"])
    r.add_api_route("/", index, methods=["GET"], include_in_schema=False)
    r.add_api_route("/api/v1/dashboard/config", config, methods=["GET"], summary="Dashboard settings (basemap)")
    r.add_api_route("/api/v1/dashboard/requests", list_requests, methods=["GET"], summary="Requests with tile counts")
    r.add_api_route(
        "/api/v1/dashboard/requests/{request_id}", get_request, methods=["GET"], summary="A request with its tiles"
    )
    r.add_api_route(
        "/api/v1/dashboard/requests/{request_id}/tiles/{tile_id}/preview/{z}/{x}/{y}.png",
        preview,
        methods=["GET"],
        summary="Output preview of a tile as a web-mercator PNG map tile",
        response_class=Response,
    )
    return r


def mount(app: FastAPI) -> None:
    """The routes, our static files, and Leaflet from node_modules (a clear 404 when not installed)."""
    app.include_router(router())
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")
    if LEAFLET.is_dir():
        app.mount("/dashboard/vendor/leaflet", StaticFiles(directory=LEAFLET), name="dashboard-leaflet")
    else:

        def missing(path: str) -> Response:
            raise NotFound(MISSING_ASSETS)

        app.add_api_route("/dashboard/vendor/leaflet/{path:path}", missing, include_in_schema=False)
