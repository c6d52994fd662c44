"""Batch API v2 (/api/v2/batch): a second view of the same requests, engine and database as v1."""

from eobatch.api.v2.routes import router

__all__ = ["router"]
