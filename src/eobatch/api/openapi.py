"""Make /openapi.json tell the truth about what the handlers answer.

Bodies and query parameters that the handlers read by hand (to answer in the Sentinel Hub error
format) are invisible to FastAPI; errors never come as 422 (the validation handler answers 400).
`document_errors` rewrites the generated document once: every operation lists the error statuses
the service answers with the shared `SentinelHubError` body, paging parameters get their real types.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "title": "SentinelHubError",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "reason", "message", "code"],
            "properties": {
                "status": {"type": "integer"},
                "reason": {"type": "string"},
                "message": {"type": "string"},
                "code": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"parameter": {"type": "string"}, "violation": {"type": "string"}},
                    },
                },
            },
        }
    },
}

#: statuses any operation may answer, and why
ERRORS = {
    "400": "Invalid input, in the Sentinel Hub error format",
    "401": "Missing, invalid, expired or revoked access token",
    "403": "Not allowed for this account",
    "404": "No such object for this account",
    "405": "Method not allowed on this path",
    "409": "The object's state forbids the operation",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "429": "Too many requests; see Retry-After",
    "500": "Unexpected failure (logged)",
    "503": "The database is unreachable, or the service is stopping (Process API workers); see Retry-After",
}
OAUTH_PATH_PREFIXES = ("/oauth/", "/auth/")
OPEN_PATHS = ("/healthz", "/readyz", "/metrics")
#: query parameters read by hand, with their real types
QUERY_TYPES = {
    "count": {"type": "integer", "minimum": 1},
    "viewtoken": {"type": "string"},
    "search": {"type": "string"},
    "sort": {"type": "string"},
    "status": {"type": "string"},
    "userid": {"type": "string"},
    "after": {"type": "integer", "minimum": 0},
}


def document_errors(doc: dict[str, Any]) -> dict[str, Any]:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["SentinelHubError"] = ERROR_SCHEMA
    error_ref = {"$ref": "#/components/schemas/SentinelHubError"}
    for path, operations in doc.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            responses.pop("422", None)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and parameter.get("name") in QUERY_TYPES:
                    parameter["schema"] = dict(QUERY_TYPES[parameter["name"]])
            if path in OPEN_PATHS:
                responses.setdefault("503", {"description": ERRORS["503"]})
                continue
            for status, description in ERRORS.items():
                if path.startswith(OAUTH_PATH_PREFIXES):  # OAuth errors have their own body
                    responses.setdefault(status, {"description": description})
                else:
                    responses.setdefault(
                        status, {"description": description, "content": {"application/json": {"schema": error_ref}}}
                    )
    return doc
