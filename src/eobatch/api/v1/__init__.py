"""Batch Processing API v1 (/api/v1/batch)."""
