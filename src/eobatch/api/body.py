"""Reading request bodies ourselves, so that empty, malformed or hostile input gets the Sentinel Hub 400.

Besides well-formed JSON, a body must be at most `MAX_DEPTH` levels deep, hold only text that is valid
Unicode (no lone surrogates such as "\\ud800"), integers that fit in 64 bits and finite numbers; a
multipart evalscript must be UTF-8. The body size limit is `api.limits.BodySizeLimit`.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from eobatch.errors import BadRequest, Violation

EMPTY_BODY = "Request body should be non-empty."
MAX_DEPTH = 100  # GeoJSON MultiPolygons need 6; no Sentinel Hub body comes close
INT64 = 2**63


def _bad(message: str, parameter: str = "body") -> BadRequest:
    return BadRequest(message, [Violation(parameter, message)])


class _NonStandardNumber(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonStandardNumber(name)


def parse_json(raw: bytes) -> Any:
    """The JSON value of `raw`, checked by `check_value`; BadRequest naming what is wrong otherwise."""
    if not raw.strip():
        raise BadRequest(EMPTY_BODY)
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except _NonStandardNumber as exc:
        raise _bad("Request body is not valid JSON: NaN and Infinity are not allowed") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _bad(f"Request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise _bad(f"Request body is nested too deeply: at most {MAX_DEPTH} levels of arrays and objects") from exc
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise _bad(f"Request body has a number that cannot be read: {exc}") from exc
    check_value(value)
    return value


def check_value(value: Any) -> None:
    """BadRequest naming the place of the first value a JSON body must not hold (see the module docstring).

    Iterative, so a deep value cannot exhaust the interpreter's stack."""
    stack: list[tuple[Any, str, int]] = [(value, "body", 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, dict):
            if depth >= MAX_DEPTH:
                raise _bad(f"Request body is nested too deeply: at most {MAX_DEPTH} levels of arrays and objects")
            for key, child in item.items():
                _check_text(key, where)
                stack.append((child, f"{where}.{key}" if where != "body" else key, depth + 1))
        elif isinstance(item, list):
            if depth >= MAX_DEPTH:
                raise _bad(f"Request body is nested too deeply: at most {MAX_DEPTH} levels of arrays and objects")
            stack.extend((child, f"{where}[{i}]", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, int) and not isinstance(item, bool) and not -INT64 <= item < INT64:
            raise _bad(f"{where}: integer out of range: numbers must fit in 64 bits", where)
        elif isinstance(item, float) and item in (float("inf"), float("-inf")):
            raise _bad(f"{where}: number out of range: it overflows a 64-bit float", where)


def _check_text(text: str, where: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _bad(f"{where}: text is not valid Unicode (a lone surrogate such as \\ud800)", where) from exc


async def read_json(request: Request) -> Any:
    """The JSON body; BadRequest when it is empty or malformed."""
    return parse_json(await request.body())


async def read_create_body(request: Request) -> Any:
    """A create body: JSON, or multipart/form-data with a `request` JSON part and an `evalscript` part."""
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith("multipart/form-data"):
        return await read_json(request)
    async with request.form() as form:  # closes the parts' spooled files, also on a bad part
        part = form.get("request")
        if part is None:
            raise _bad("multipart create body needs a 'request' part with the JSON request", "request")
        raw = await part.read() if hasattr(part, "read") else str(part).encode()
        body = parse_json(raw)
        script = form.get("evalscript")
        if script is not None and isinstance(body, dict):
            text = _utf8(await script.read()) if hasattr(script, "read") else str(script)
            _check_text(text, "evalscript")
            process_request = body.get("processRequest")
            if isinstance(process_request, dict):
                process_request["evalscript"] = text
    return body


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"evalscript: the evalscript part must be UTF-8 text ({exc.reason} at byte {exc.start})"
        raise _bad(message, "evalscript") from exc
