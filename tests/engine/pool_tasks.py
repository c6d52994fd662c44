"""Small task functions that misbehave on purpose, for the worker pool and fault tests."""

from __future__ import annotations

import time


def echo(payload):
    return payload


def sleep_then(payload):
    time.sleep(payload["sleep_s"])
    return payload.get("value")


def hog_memory(payload):
    """Allocate and touch memory until killed (bytes, outside Python's own heap accounting)."""
    chunks = []
    while True:
        chunk = bytearray(64 << 20)
        for i in range(0, len(chunk), 4096):
            chunk[i] = 1
        chunks.append(chunk)


def spin(payload):
    while True:
        pass


def act(payload):
    """One task for executors that take a single task: `payload["act"]` names what to do."""
    return {"echo": echo, "hog_memory": hog_memory, "spin": spin}[payload["act"]](payload)


def thread_budget(payload):
    """The thread settings this worker process started with, and what the pipeline makes of them."""
    import os

    from eobatch.threads import LIBRARY_THREAD_VARIABLES, tile_threads

    return {"tile": tile_threads(), **{name: os.environ.get(name) for name in LIBRARY_THREAD_VARIABLES}}
