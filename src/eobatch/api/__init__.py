"""HTTP API: `create_app(settings)` (v1 and v2 routers, OAuth2, error table, paging)."""

from eobatch.api.app import create_app

__all__ = ["create_app"]
