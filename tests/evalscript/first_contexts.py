"""`python -m tests.evalscript.first_contexts THREADS [raw]`: THREADS threads create their first V8
contexts at the same instant in a fresh process; exit 0 when all loaded (an abort kills the process).

With `raw`, the threads call MiniRacer() directly, bypassing eobatch's one-time initialisation.
"""

from __future__ import annotations

import sys
import threading

SCRIPT = (
    "//VERSION=3\nfunction setup(){return {input:['B04'], output:{bands:1}}}\n"
    "function evaluatePixel(s){return [s.B04]}\n"
)


def main(threads: int, raw: bool) -> int:
    from py_mini_racer import MiniRacer

    from eobatch.evalscript import EvalscriptEngine

    engine = EvalscriptEngine(timeout_s=30, max_memory_mb=128)
    barrier = threading.Barrier(threads)
    loaded: list[bool] = []

    def first_context() -> None:
        barrier.wait()
        if raw:
            ctx = MiniRacer()
            loaded.append(ctx.eval("1 + 1") == 2)
            ctx.close()
            return
        with engine.load(SCRIPT) as script:
            loaded.append(script.setup.outputs[0].bands == 1)

    workers = [threading.Thread(target=first_context) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return 0 if loaded == [True] * threads else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), len(sys.argv) > 2 and sys.argv[2] == "raw"))
