"""The catalog's `filter`: CQL2 text or JSON (parsed by the `cql2` library), evaluated on each item.

Supported: comparisons, `between`, `in`, `isNull`, `like`, and `and`/`or`/`not` over item properties
(`eo:cloud_cover`, `datetime`, `proj:epsg`, ...). An item lacking a compared property does not match.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cql2

from eobatch.api.catalog.query import fail

SUPPORTED_OPS = frozenset(
    {"and", "or", "not", "=", "<>", "<", "<=", ">", ">=", "between", "in", "isNull", "like", "timestamp", "date"}
)


def _check_ops(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _check_ops(item)
    elif isinstance(node, dict):
        op = node.get("op")
        if op is not None and op not in SUPPORTED_OPS:
            allowed = ", ".join(sorted(SUPPORTED_OPS))
            raise fail("filter", f"operator {op!r} is not supported; supported: {allowed}")
        for value in node.values():
            _check_ops(value)


def _unwrap_single(node: Any) -> Any:
    """`and`/`or` with one argument (as sentinelhub-py sends a lone cql2-json filter) is that argument."""
    if isinstance(node, list):
        return [_unwrap_single(n) for n in node]
    if not isinstance(node, dict):
        return node
    args = node.get("args")
    if node.get("op") in ("and", "or") and isinstance(args, list) and len(args) == 1:
        return _unwrap_single(args[0])
    return {key: _unwrap_single(value) for key, value in node.items()}


def compile_filter(expression: Any, language: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate over STAC items; BadRequest when the filter does not parse in `language`."""
    if expression is None:
        return lambda _item: True
    if language == "cql2-text" and not isinstance(expression, str):
        raise fail("filter", "with filter-lang cql2-text the filter must be a string, e.g. eo:cloud_cover < 20")
    if language == "cql2-json" and not isinstance(expression, dict):
        raise fail("filter", "with filter-lang cql2-json the filter must be a JSON object")
    try:
        parsed = cql2.Expr(_unwrap_single(expression))
        parsed.validate()
    except Exception as exc:  # cql2 raises ParseError, ValidationError or a bare Exception
        first_line = str(exc).strip().splitlines()
        raise fail("filter", f"is not valid {language}: {' '.join(first_line)[:300]}") from None
    _check_ops(parsed.to_json())

    def matches(item: dict[str, Any]) -> bool:
        try:
            return bool(parsed.matches(item))
        except Exception:  # the expression does not reduce on this item (a property is missing)
            return False

    return matches
