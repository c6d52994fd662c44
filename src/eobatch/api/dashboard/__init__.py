"""The web dashboard served at `/` (docs/dashboard.md): its JSON views, output previews and assets."""

from eobatch.api.dashboard.routes import mount, router

__all__ = ["mount", "router"]
