"""Translate V8 / mini-racer failures into EvalscriptError with the script's line where known."""

from __future__ import annotations

import re
from dataclasses import dataclass

from py_mini_racer import JSEvalException, JSOOMException, JSParseException, JSTimeoutException

from eobatch.errors import EvalscriptError
from eobatch.evalscript.source import SCRIPT_URL

_HEADER = re.compile(r"^(?P<file>[^\n:]*):(?P<line>\d+): (?P<message>[^\n]*)")
_FRAME = re.compile(re.escape(SCRIPT_URL) + r":(?P<line>\d+)(?::(?P<col>\d+))?")


@dataclass(frozen=True)
class Limits:
    """The sandbox limits of one tile's evaluation, for error messages."""

    timeout_s: float
    max_memory_mb: int


def source_line(source: str, line: int | None) -> str:
    """The trimmed text of `line` (1-based) of the user's script, or ''."""
    if line is None:
        return ""
    lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1].strip()
    return text if len(text) <= 100 else text[:97] + "..."


def script_line(text: str) -> int | None:
    """The first line of the user's script named in a V8 message or stack."""
    m = _FRAME.search(text)
    return int(m.group("line")) if m else None


def located(message: str, line: int | None, source: str) -> EvalscriptError:
    """An EvalscriptError whose message names the line and quotes it.

    A line past the end of the user's script (V8 counts the lines eobatch adds after it, e.g. for an
    unclosed brace) is reported as the script's last non-empty line, "at the end of the evalscript"."""
    if line is not None:
        lines = source.splitlines()
        last = max((n for n, text in enumerate(lines, 1) if text.strip()), default=1)
        end = line > last
        line = min(line, last)
        quoted = source_line(source, line)
        prefix = " (at the end of the evalscript, line" if end else " (evalscript line"
        where = f"{prefix} {line}" + (f": `{quoted}`" if quoted else "") + ")"
        return EvalscriptError(message + where, line=line)
    return EvalscriptError(message)


def translate(exc: Exception, phase: str, source: str, limits: Limits, user_code: bool) -> EvalscriptError:
    """Map a mini-racer exception raised during `phase` to an EvalscriptError.

    `user_code` says the failing eval was the user's script text itself, so a parse error's header
    line is the script's line even when V8 could not attach the source URL.
    """
    if isinstance(exc, JSTimeoutException):
        return EvalscriptError(
            f"Evalscript exceeded the time limit of {limits.timeout_s:g} s per tile during {phase}; "
            "it may loop forever. Simplify the script or split the request into smaller tiles."
        )
    if isinstance(exc, JSOOMException):
        return EvalscriptError(
            f"Evalscript exceeded the memory limit of {limits.max_memory_mb} MB during {phase}; "
            "it may allocate without end (e.g. growing a global array per pixel)."
        )
    text = str(exc)
    header = _HEADER.match(text)
    message = header.group("message") if header else text.strip().splitlines()[0] if text.strip() else text
    line = script_line(text)
    if line is None and header and user_code:
        line = int(header.group("line"))
    if isinstance(exc, JSParseException):
        return located(f"Evalscript does not compile: {message}", line, source)
    if isinstance(exc, JSEvalException):
        return located(f"Evalscript failed in {phase}: {message}", line, source)
    return EvalscriptError(f"Evalscript failed in {phase}: {text}")
