"""Compile-time values of the evalscript compiler: what the compiler knows about each JS value.

A value is either known at compile time (`Const`: the same for every pixel) or produced at run time
by the generated kernel (`Num`, `Bool`: a Python local or literal holding a float64 / bool). Arrays
of static length, plain objects, sample objects, visualizer instances and functions are compile-time
structures whose leaves are `Const`/`Num`/`Bool`. Anything the compiler cannot model exactly raises
`Unsupported`, and the script runs in V8 instead.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any


class Unsupported(Exception):
    """The compiler cannot prove it reproduces V8 for this construct; the script runs in V8."""


class _Undefined:
    def __repr__(self) -> str:
        return "undefined"


UNDEFINED = _Undefined()
_ids = itertools.count(1)


def new_id() -> int:
    return next(_ids)


class Value:
    """Base class of compile-time values."""

    js_type = "object"


@dataclass(frozen=True, eq=False)
class Const(Value):
    """A value known at compile time: float, bool, str, None (null) or UNDEFINED."""

    value: Any

    @property
    def js_type(self) -> str:  # type: ignore[override]
        v = self.value
        if v is UNDEFINED:
            return "undefined"
        if v is None:
            return "object"
        if isinstance(v, bool):
            return "boolean"
        if isinstance(v, float):
            return "number"
        return "string"

    def same(self, other: Value) -> bool:
        if not isinstance(other, Const) or type(self.value) is not type(other.value):
            return False
        a, b = self.value, other.value
        if isinstance(a, float):
            return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
        return a == b


@dataclass(frozen=True, eq=False)
class Num(Value):
    """A float64 computed by the kernel; `code` is an atom (a local name or a literal)."""

    code: str
    js_type = "number"


@dataclass(frozen=True, eq=False)
class Bool(Value):
    """A boolean computed by the kernel; `code` is an atom."""

    code: str
    js_type = "boolean"


@dataclass(frozen=True, eq=False)
class Arr(Value):
    """A JS array of static length. `ident` tracks aliasing; `frozen` ones come from script globals."""

    items: tuple[Value, ...]
    ident: int = field(default_factory=new_id)
    frozen: bool = False


@dataclass(frozen=True, eq=False)
class Obj(Value):
    """A plain object with known own properties (object literals, JSON-like globals)."""

    fields: dict[str, Value]
    frozen: bool = False


@dataclass(frozen=True, eq=False)
class Sample(Value):
    """One sample object: its band properties read input `n` at sample index `k` (a kernel int atom)."""

    n: int
    k: str


@dataclass(frozen=True, eq=False)
class Samples(Value):
    """The array of samples of input `n` (ORBIT/TILE, or any input in data fusion)."""

    n: int


@dataclass(frozen=True, eq=False)
class Scenes(Value):
    """The deprecated `scenes` array of input `n` (one per sample, with Date objects)."""

    n: int


@dataclass(frozen=True, eq=False)
class Scene(Value):
    n: int
    k: str


@dataclass(frozen=True, eq=False)
class SceneDate(Value):
    n: int
    k: str


@dataclass(frozen=True, eq=False)
class Func(Value):
    """A user function (declaration, expression or arrow) with the frame ids it closes over."""

    node: Any
    frames: tuple[int, ...]
    name: str
    js_type = "function"


@dataclass(frozen=True, eq=False)
class Builtin(Value):
    """A pristine library or JS built-in function, e.g. `index`, `colorBlend`, `Math.sqrt`, `isNaN`."""

    name: str
    js_type = "function"


@dataclass(frozen=True, eq=False)
class Namespace(Value):
    """`Math` (unmodified): its members are Builtins and constants."""

    name: str


@dataclass(frozen=True, eq=False)
class Viz(Value):
    """An instance of a pristine helper-library visualizer with its state (from V8)."""

    cls: str
    state: dict[str, Any]


@dataclass(frozen=True, eq=False)
class Bound(Value):
    """A method looked up on a value, e.g. `viz.process`, `arr.push`."""

    target: Value
    name: str
    js_type = "function"


@dataclass(frozen=True, eq=False)
class Opaque(Value):
    """A value that may be passed along but not used (inputMetadata, customData, outputMetadata)."""

    what: str


@dataclass(frozen=True, eq=False)
class Conflict(Value):
    """A variable whose value the compiler does not track here; reading it is unsupported."""

    reason: str


def is_number(v: Value) -> bool:
    return isinstance(v, Num) or (isinstance(v, Const) and isinstance(v.value, float))


def is_bool(v: Value) -> bool:
    return isinstance(v, Bool) or (isinstance(v, Const) and isinstance(v.value, bool))


def num_code(v: Value) -> str:
    """A Python expression for a number value."""
    if isinstance(v, Num):
        return v.code
    if isinstance(v, Const) and isinstance(v.value, float):
        return float_literal(v.value)
    raise Unsupported(f"expected a number, got {describe(v)}")


def bool_code(v: Value) -> str:
    if isinstance(v, Bool):
        return v.code
    if isinstance(v, Const) and isinstance(v.value, bool):
        return "True" if v.value else "False"
    raise Unsupported(f"expected a boolean, got {describe(v)}")


def float_literal(x: float) -> str:
    """An exact Python literal for a float64 (repr round-trips)."""
    if math.isnan(x):
        return "NAN"
    if math.isinf(x):
        return "INF" if x > 0 else "(-INF)"
    text = repr(float(x))
    return f"({text})" if text.startswith("-") else text


def describe(v: Value) -> str:
    if isinstance(v, Const):
        return repr(v.value)
    return type(v).__name__
