"""Compile generated kernel source with numba, once per process and (source, tables)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from eobatch.evalscript.fast.values import Unsupported

MAX_CACHED = 64
_cache: OrderedDict[str, Any] = OrderedDict()
_lock = threading.Lock()


def _key(source: str, tables: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(source.encode())
    for name in sorted(tables):
        t = tables[name]
        h.update(f"{name}:{t.dtype.str}:{t.shape}".encode())
        h.update(np.ascontiguousarray(t).tobytes())
    return h.hexdigest()


def is_compiled(source: str, tables: dict[str, np.ndarray]) -> bool:
    """Whether this process already holds the kernel (no compile cost to use it)."""
    with _lock:
        return _key(source, tables) in _cache


def compile_kernel(source: str, tables: dict[str, np.ndarray]) -> Any:
    """A numba dispatcher for `kernel` in `source`; tables are frozen into it as constants."""
    key = _key(source, tables)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    import numba

    from eobatch.evalscript.fast import runtime

    namespace: dict[str, Any] = {"np": np, **runtime.NAMESPACE, **tables}
    exec(compile(source, "<evalscript kernel>", "exec"), namespace)
    dispatcher = numba.njit(nogil=True, error_model="numpy", cache=False)(namespace["kernel"])
    with _lock:
        _cache[key] = dispatcher
        while len(_cache) > MAX_CACHED:
            _cache.popitem(last=False)
    return dispatcher


def run_kernel(dispatcher: Any, args: list[Any]) -> int:
    """Run (numba compiles on the first call for these argument types); typing failures -> V8."""
    try:
        return int(dispatcher(*args))
    except Exception as exc:  # numba's TypingError and friends: the script stays in V8
        name = type(exc).__name__
        if (
            name in ("TypingError", "UnsupportedError", "LoweringError", "NumbaError")
            or "numba" in type(exc).__module__
        ):
            raise Unsupported(f"numba could not compile the kernel ({name})") from None
        raise
