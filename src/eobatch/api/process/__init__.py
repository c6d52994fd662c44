"""The Process API (`POST /api/v1/process`): one synchronous window through the batch tile pipeline."""

from eobatch.api.process.routes import router

__all__ = ["router"]
