"""Output path templates: the default layout, validation and placeholder substitution (batch-api.md §3.4)."""

from __future__ import annotations

import re

from eobatch.errors import BadRequest, Violation

PLACEHOLDERS = ("<requestId>", "<taskId>", "<tileName>", "<tileId>", "<outputId>", "<format>")
DEFAULT_LAYOUT = "<requestId>/<tileName>/<outputId>.<format>"

_PLACEHOLDER = re.compile(r"<[A-Za-z]+>")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-_]{1,61}[a-z0-9]$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def split_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/key` -> ("bucket", "some/key"); BadRequest for anything else."""
    if not isinstance(url, str) or not url.startswith("s3://"):
        raise _bad_url(f"Output location {url!r} is not an s3:// URL; expected s3://<bucket>/<path>")
    bucket, _, key = url[len("s3://") :].partition("/")
    if not _BUCKET.match(bucket):
        raise _bad_url(
            f"Bucket name {bucket!r} in {url!r} is invalid; use 3-63 lowercase letters, digits, '.', '-' or '_'"
        )
    if any(part in ("..", ".") for part in key.split("/")):
        raise _bad_url(f"Object key in {url!r} contains '.' or '..' segments, which are not allowed")
    if _CONTROL.search(url):
        raise _bad_url(f"Output location {url!r} contains a NUL or another control character, which is not allowed")
    return bucket, key


def check_path_part(value: str, parameter: str) -> None:
    """BadRequest unless `value` (an output identifier or a feature identifier) can stand as one segment of an
    object key: not empty, '.' or '..', without '/', '\\' or control characters."""
    if value in ("", ".", "..") or "/" in value or "\\" in value or _CONTROL.search(value):
        message = (
            f"{parameter}: {value!r} cannot be part of an output path; use a name without '/', '\\', "
            "control characters, and other than '.' or '..'"
        )
        raise BadRequest(message, [Violation(parameter, message)])


def expand_default_layout(template: str) -> str:
    """A location without placeholders (`s3://bucket/folder` or a bucket name) gets the default layout."""
    if "://" not in template:
        template = f"s3://{template}"
    if _PLACEHOLDER.search(template):
        return template
    return f"{template.rstrip('/')}/{DEFAULT_LAYOUT}"


def validate_path_template(template: str, n_outputs: int) -> None:
    """BadRequest unless the template names the tile, and the output when there are several outputs."""
    expanded = expand_default_layout(template)
    _bucket, key = split_s3_url(expanded)
    if key.startswith("/") or "//" in key:
        raise _bad_template(template, "the object key has an empty segment (an absolute path or '//')")
    unknown = sorted(set(_PLACEHOLDER.findall(expanded)) - set(PLACEHOLDERS))
    if unknown:
        raise _bad_template(
            template, f"unknown placeholder(s) {', '.join(unknown)}; allowed: {', '.join(PLACEHOLDERS)}"
        )
    if "<tileName>" not in expanded and "<tileId>" not in expanded:
        raise _bad_template(template, "it must contain <tileName> or <tileId>")
    if n_outputs > 1 and "<outputId>" not in expanded:
        raise _bad_template(template, f"it must contain <outputId> because the request has {n_outputs} outputs")


def render_tile_path(
    template: str, *, request_id: str, tile_name: str, tile_id: int | str, output_id: str, fmt: str
) -> str:
    """Substitute the placeholders; a plain location gets the default layout first."""
    values = {
        "<requestId>": request_id,
        "<taskId>": request_id,
        "<tileName>": tile_name,
        "<tileId>": str(tile_id),
        "<outputId>": output_id,
        "<format>": fmt,
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(0), m.group(0)), expand_default_layout(template))


def _bad_template(template: str, why: str) -> BadRequest:
    message = f"Output path template {template!r} is invalid: {why}"
    return BadRequest(message, [Violation("output.defaultTilePath", message)])


def _bad_url(message: str) -> BadRequest:
    return BadRequest(message, [Violation("output", message)])
