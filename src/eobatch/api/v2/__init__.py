"""Batch API v2 (/api/v2/batch): a second view of the same requests, engine and database as v1."""

from eobatch.api.v2.routes import build_v2_router

router = build_v2_router  # the name the app factory looks for: router(settings, database)

__all__ = ["build_v2_router", "router"]
