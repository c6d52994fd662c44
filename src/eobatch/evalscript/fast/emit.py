"""Line buffers for generated Python and the compiler's scope chain (frames of variables)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from eobatch.evalscript.fast.values import Value

INDENT = "    "


@dataclass
class Buffer:
    """Generated lines, indented relative to the buffer's own level."""

    lines: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.lines.append(text)

    def block(self, header: str, body: Buffer) -> None:
        self.lines.append(header)
        self.lines.extend(INDENT + line for line in (body.lines or ["pass"]))


_frame_ids = itertools.count(1)


@dataclass
class Frame:
    """One scope: a function's or a block's variables. Copies keep the id (closures refer to it)."""

    vars: dict[str, Value]
    id: int = field(default_factory=lambda: next(_frame_ids))
    function: bool = False


@dataclass
class Env:
    """The scope chain at one point of the program, innermost frame last; `dead` after a jump."""

    frames: list[Frame]
    dead: bool = False

    def copy(self) -> Env:
        return Env([Frame(dict(f.vars), f.id, f.function) for f in self.frames], self.dead)

    def find(self, name: str) -> Frame | None:
        for frame in reversed(self.frames):
            if name in frame.vars:
                return frame
        return None

    def function_frame(self) -> Frame:
        for frame in reversed(self.frames):
            if frame.function:
                return frame
        raise AssertionError("no function frame")

    def adopt(self, other: Env) -> None:
        """Take `other`'s variable values (same frames, e.g. after a branch merge)."""
        for mine, theirs in zip(self.frames, other.frames, strict=True):
            mine.vars = theirs.vars
        self.dead = other.dead


Capture = Callable[[Env], object]
