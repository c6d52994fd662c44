"""Paging of list endpoints (batch-api.md §2.4): `count` + `viewtoken` in, `{data, links}` out.

The view token is the offset of the page's first item. `links` is always an object; `nextToken` and
`next` appear only when another page exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query, Request

from eobatch.errors import BadRequest, Violation

DEFAULT_COUNT = 100
MAX_COUNT = 1000
MAX_INT64 = 2**63 - 1


@dataclass(frozen=True)
class PageParams:
    offset: int
    limit: int


def _positive(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_INT64:
        message = f"{name} must be a non-negative integer (at most {MAX_INT64}), got {value!r}"
        raise BadRequest(message, [Violation(name, message)])
    return int(text)


def page_params(
    count: Annotated[str | None, Query(description=f"Page size, 1-{MAX_COUNT} (default {DEFAULT_COUNT})")] = None,
    viewtoken: Annotated[str | None, Query(description="Token of the page to return (from links.nextToken)")] = None,
) -> PageParams:
    """Parse `count` and `viewtoken`; BadRequest when either is not a number, or for `count=0`.
    A count above MAX_COUNT is served as MAX_COUNT."""
    requested = _positive(count, "count", DEFAULT_COUNT)
    if requested == 0:
        message = f"count must be from 1 to {MAX_COUNT} (the page size), got 0"
        raise BadRequest(message, [Violation("count", message)])
    limit = min(requested, MAX_COUNT)
    return PageParams(offset=_positive(viewtoken, "viewtoken", 0), limit=limit)


def page(
    request: Request,
    params: PageParams,
    items: list[Any],
    has_more: bool,
    render: Callable[[Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The `{data, links}` envelope of one page."""
    links: dict[str, Any] = {"@id": str(request.url), "currentToken": str(params.offset)}
    if has_more:
        token = str(params.offset + len(items))
        links["nextToken"] = token
        links["next"] = str(request.url.include_query_params(viewtoken=token))
    if params.offset > 0:
        token = str(max(params.offset - params.limit, 0))
        links["previousToken"] = token
        links["previous"] = str(request.url.include_query_params(viewtoken=token))
    return {"data": [render(i) for i in items] if render else list(items), "links": links}
