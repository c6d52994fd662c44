"""The Catalog API (`/api/v1/catalog/1.0.0/`): a STAC API over the configured collections, in the shape
Sentinel Hub's Catalog API answers (so that sentinelhub-py's `SentinelHubCatalog` works unchanged)."""

from eobatch.api.catalog.routes import router

__all__ = ["router"]
