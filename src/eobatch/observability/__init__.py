"""Structured logs (`logs.py`) and Prometheus metrics (`metrics.py`) of the service (docs/operations.md)."""
