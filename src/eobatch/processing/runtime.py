"""Per-process cache: one EvalscriptEngine and one CollectionRegistry per distinct Settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from eobatch.settings import Settings


@dataclass
class Runtime:
    engine: object  # evalscript.EvalscriptEngine
    registry: object  # collections.CollectionRegistry


_CACHE: dict[str, Runtime] = {}
_LOCK = threading.Lock()


def runtime_for(settings: Settings) -> Runtime:
    """The worker's engine and registry for these settings, built on first use."""
    key = settings.model_dump_json()
    with _LOCK:
        runtime = _CACHE.get(key)
        if runtime is None:
            from eobatch.collections.registry import CollectionRegistry
            from eobatch.evalscript import EvalscriptEngine

            runtime = _CACHE[key] = Runtime(EvalscriptEngine(settings), CollectionRegistry.from_settings(settings))
        return runtime


def clear_runtime_cache() -> None:
    """Forget cached engines and registries (tests that change collections files)."""
    with _LOCK:
        _CACHE.clear()
