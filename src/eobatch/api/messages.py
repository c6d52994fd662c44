"""Texts a request shows that depend on the API that shows it: v1 speaks of PARTIAL and restartpartial,
v2 of DONE tasks whose failed tiles are FATAL in the execution database (v2 has no restartpartial)."""

from __future__ import annotations

from eobatch.domain.states import RequestStatus


def request_error(error: str | None, status: str, request_id: str, api: str) -> str | None:
    """The `error` field: the stored text (how many tiles failed and the first reason, or why the
    analysis failed), with what the caller can do next in its API's words."""
    if not error or status != RequestStatus.PARTIAL.value:
        return error
    if api == "v2":
        return f"{error} The failed tiles are FATAL in execution-{request_id}.sqlite."
    return f"{error} Fix the cause, then call restartpartial to process the failed tiles again."
