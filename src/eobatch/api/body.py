"""Reading request bodies ourselves, so that empty or malformed input gets the Sentinel Hub 400."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from eobatch.errors import BadRequest, Violation

EMPTY_BODY = "Request body should be non-empty."


def _bad(message: str, parameter: str = "body") -> BadRequest:
    return BadRequest(message, [Violation(parameter, message)])


class _NonStandardNumber(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonStandardNumber(name)


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise BadRequest(EMPTY_BODY)
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except _NonStandardNumber as exc:
        raise _bad("Request body is not valid JSON: NaN and Infinity are not allowed") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _bad(f"Request body is not valid JSON: {exc}") from exc


async def read_json(request: Request) -> Any:
    """The JSON body; BadRequest when it is empty or malformed."""
    return parse_json(await request.body())


async def read_create_body(request: Request) -> Any:
    """A create body: JSON, or multipart/form-data with a `request` JSON part and an `evalscript` part."""
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith("multipart/form-data"):
        return await read_json(request)
    form = await request.form()
    part = form.get("request")
    if part is None:
        raise _bad("multipart create body needs a 'request' part with the JSON request", "request")
    raw = await part.read() if hasattr(part, "read") else str(part).encode()
    body = parse_json(raw)
    script = form.get("evalscript")
    if script is not None and isinstance(body, dict):
        text = (await script.read()).decode() if hasattr(script, "read") else str(script)
        process_request = body.get("processRequest")
        if isinstance(process_request, dict):
            process_request["evalscript"] = text
    return body
