"""Compile `evaluatePixel` (and the functions it calls) into one Python per-pixel kernel for numba.

The compiler is a partial evaluator over the esprima AST: values known for every pixel (script
globals, constants, array lengths, loop bounds over constant arrays) are computed at compile time;
per-pixel values become float64/bool locals of the generated code, with JS semantics spelled out
(ToNumber, truthiness, NaN, signed zeros, ToInt32 for bitwise operators). User functions are inlined;
control flow is kept as Python control flow; at the joins of branches and loops every variable must
have one static shape, or it becomes a `Conflict` that may not be read. Whatever is not modelled
exactly raises `Unsupported` and the script runs in V8.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eobatch.evalscript.fast import library
from eobatch.evalscript.fast.emit import Buffer, Env, Frame
from eobatch.evalscript.fast.syntax import Script, assigned_names, block_declarations, hoisted
from eobatch.evalscript.fast.values import (
    UNDEFINED,
    Arr,
    Bool,
    Bound,
    Builtin,
    Conflict,
    Const,
    Func,
    Namespace,
    Num,
    Obj,
    Opaque,
    Sample,
    Samples,
    Scene,
    SceneDate,
    Scenes,
    Unsupported,
    Value,
    Viz,
    bool_code,
    describe,
    float_literal,
    is_bool,
    is_number,
    new_id,
    num_code,
)

MAX_INLINE_DEPTH = 24
MAX_GENERATED_LINES = 2000  # numba compile time grows with it; the corpus needs < 200
# Exit codes of the kernel: 0 done; anything else means "run this evaluation in V8".
EXIT_RANGE, EXIT_THROW, EXIT_BUDGET = 3, 4, 2


@dataclass
class Output:
    id: str
    bands: int


@dataclass
class InputShape:
    """What the compiler needs of one setup() input."""

    key: str  # the datasource id (or the input's position) in fusion's `samples` object
    bands: tuple[str, ...]
    multi: bool  # samples is an array (ORBIT/TILE, or any input in data fusion)


@dataclass
class FnCtx:
    """One inlined function: where its returns go."""

    kind: str  # "pixel" (evaluatePixel: returns write outputs) or "call"
    needs_wrapper: bool
    done: str = ""
    loop_depth: int = 0
    returned_in_loop: bool = False
    shape: Value | None = None  # the first return site's value, as locals
    sites: int = 0
    fell_off: bool = False
    const_result: Value | None = None
    conflict: str = ""


@dataclass
class LoopCtx:
    fn: FnCtx
    carried: dict[tuple[int, str], Value]  # (frame id, name) -> the loop-carried locals
    outer: dict[tuple[int, str], Value]  # every variable in scope at the loop head


@dataclass
class Compiler:
    """One compilation of a script's evaluatePixel for a given setup and globals."""

    script: Script
    inputs: list[InputShape]
    fusion: bool
    outputs: list[Output]
    strict_band_count: bool
    resolve_global: Callable[[str], Value]
    tables: dict[str, np.ndarray] = field(default_factory=dict)
    _tmp: int = 0
    _buffers: list[Buffer] = field(default_factory=list)
    _fns: list[FnCtx] = field(default_factory=list)
    _loops: list[LoopCtx] = field(default_factory=list)
    _depth: int = 0
    _lines: int = 0
    _globals_frame: int = -1

    # -- buffers and locals ------------------------------------------------------------------------

    @property
    def out(self) -> Buffer:
        return self._buffers[-1]

    def emit(self, text: str) -> None:
        self._lines += 1
        if self._lines > MAX_GENERATED_LINES:
            raise Unsupported("script too large for the compiler")
        self.out.add(text)

    def tmp(self, prefix: str = "t") -> str:
        self._tmp += 1
        return f"{prefix}{self._tmp}"

    def num(self, code: str) -> Num:
        name = self.tmp()
        self.emit(f"{name} = {code}")
        return Num(name)

    def bool(self, code: str) -> Bool:
        name = self.tmp("b")
        self.emit(f"{name} = {code}")
        return Bool(name)

    def table(self, values: list[Any], dtype: Any = np.float64) -> str:
        name = f"T{len(self.tables)}"
        self.tables[name] = np.asarray(values, dtype=dtype)
        return name

    def capture(self, fn: Callable[[], Any]) -> tuple[Buffer, Any]:
        self._buffers.append(Buffer())
        try:
            result = fn()
        finally:
            buf = self._buffers.pop()
        return buf, result

    # -- entry point -------------------------------------------------------------------------------

    def compile(self) -> str:
        """Python source of `kernel(n, budget, <inputs>, <scene tables>, <outputs>)` -> exit code."""
        node = self.script.function("evaluatePixel")
        if node is None:
            raise Unsupported("evaluatePixel is not a plain top-level function")
        fn_value = self.resolve_global("evaluatePixel")
        if not isinstance(fn_value, Func) or fn_value.node is not node:
            raise Unsupported("evaluatePixel is not the function declared in the script")
        args = self._pixel_arguments()
        body = Buffer()
        self._buffers.append(body)
        ctx = FnCtx("pixel", needs_wrapper=True)
        self._inline(fn_value, args, ctx, Env([self._pixel_globals()]))
        self._buffers.pop()
        params = ["n", "budget"]
        params += [f"a{n}_{j}" for n, spec in enumerate(self.inputs) for j in range(len(spec.bands))]
        params += [f"sc{n}" for n in range(len(self.inputs))]
        params += [f"o{o}" for o in range(len(self.outputs))]
        lines = [f"def kernel({', '.join(params)}):"]
        for n in range(len(self.inputs)):
            lines.append(f"    K{n} = np.float64(a{n}_0.shape[0])")
            lines.append(f"    k{n} = a{n}_0.shape[0]")
        lines.append("    _it = 0")
        lines.append("    for p in range(n):")
        lines.extend("        " + line for line in body.lines)
        lines.append("    return 0")
        return "\n".join(lines) + "\n"

    def _pixel_globals(self) -> Frame:
        """Globals that functions assign: per pixel, as V8 leaves them after the previous pixel.

        Their value at the start of a pixel depends on the pixel before, so reading one before this
        pixel wrote it is unsupported. Allowed only without updateOutputMetadata (the one hook that
        runs after evaluatePixel and could read them).
        """
        names = self.script.global_writes
        frame = Frame({})
        self._globals_frame = frame.id
        if not names:
            return frame
        hook = self.resolve_global_or_none("updateOutputMetadata")
        if hook is not None and not (isinstance(hook, Const) and hook.value is UNDEFINED):
            return frame  # writes to globals stay unsupported
        for name in names:
            frame.vars[name] = Conflict(f"the global {name} is read before evaluatePixel writes it")
        return frame

    def resolve_global_or_none(self, name: str) -> Value | None:
        try:
            return self.resolve_global(name)
        except Unsupported:
            return None if self._missing(name) else Conflict("unknown")

    def _missing(self, name: str) -> bool:
        try:
            self.resolve_global(name)
        except Unsupported as exc:
            return "is not defined" in str(exc)
        return False

    def _pixel_arguments(self) -> list[Value]:
        if not self.fusion:
            spec = self.inputs[0]
            samples: Value = Samples(0) if spec.multi else Sample(0, "0")
            scenes: Value = Scenes(0) if spec.multi else Obj({}, frozen=True)
        else:
            samples = Obj({s.key: Samples(n) for n, s in enumerate(self.inputs)}, frozen=True)
            scenes = Obj(
                {s.key: (Scenes(n) if s.multi else Obj({}, frozen=True)) for n, s in enumerate(self.inputs)},
                frozen=True,
            )
        return [samples, scenes, Opaque("inputMetadata"), Opaque("customData"), Opaque("outputMetadata")]

    # -- functions ---------------------------------------------------------------------------------

    def call(self, fn: Value, args: list[Value], env: Env) -> Value:
        if isinstance(fn, Func):
            return self._inline(fn, args, FnCtx("call", needs_wrapper=False), env)
        if isinstance(fn, Builtin):
            return library.call_builtin(self, fn.name, args)
        if isinstance(fn, Bound):
            return library.call_method(self, fn.target, fn.name, args, env)
        raise Unsupported(f"calling {describe(fn)}")

    def _inline(self, fn: Func, args: list[Value], ctx: FnCtx, caller: Env | None = None) -> Value:
        if self._depth >= MAX_INLINE_DEPTH:
            raise Unsupported("recursion or too deep calls")
        node = fn.node
        if getattr(node, "generator", False) or getattr(node, "isAsync", False) or getattr(node, "async", False):
            raise Unsupported("generator or async function")
        frames = self._closure_frames(fn, caller)
        local = Frame({}, function=True)
        env = Env([*frames, local])
        for k, param in enumerate(node.params):
            value = args[k] if k < len(args) else Const(UNDEFINED)
            self._bind_pattern(param, value, env, local)
        body = node.body
        if node.type == "ArrowFunctionExpression" and node.expression:
            self._depth += 1
            try:
                return self.expr(body, env)
            finally:
                self._depth -= 1
        if body.type != "BlockStatement":
            raise Unsupported("function body")
        if self.script.uses_arguments(node):
            raise Unsupported("`arguments` or `this` in a function")
        for name in hoisted(body):
            local.vars.setdefault(name, Const(UNDEFINED))
        statements = list(body.body)
        self._declare_block(statements, env, local)
        single_tail = (
            ctx.kind == "call"
            and statements
            and statements[-1].type == "ReturnStatement"
            and self.script.count_returns(body) == 1
        )
        self._fns.append(ctx)
        self._depth += 1
        try:
            if single_tail:
                self.statements(statements[:-1], env)
                if env.dead:
                    raise Unsupported("unreachable return")
                tail = statements[-1].argument
                return Const(UNDEFINED) if tail is None else self.expr(tail, env)
            ctx.needs_wrapper = True
            ctx.done = self.tmp("done")
            self.emit(f"{ctx.done} = False")
            body_buf, _ = self.capture(lambda: self.statements(statements, env))
            if not env.dead:
                ctx.fell_off = True
                if ctx.kind == "pixel":
                    self._write_nothing(body_buf)
            body_buf.add("break")
            self.out.block("while True:", body_buf)
            return self._call_result(ctx) if ctx.kind == "call" else Const(UNDEFINED)
        finally:
            self._depth -= 1
            self._fns.pop()

    def _closure_frames(self, fn: Func, caller: Env | None) -> list[Frame]:
        if caller is None:
            raise Unsupported("closure without its scope")
        if not fn.frames:  # a top-level function: it sees the globals (those written per pixel first)
            return [f for f in caller.frames if f.id == self._globals_frame]
        by_id = {f.id: f for f in caller.frames}
        if not all(i in by_id for i in fn.frames):
            raise Unsupported("a closure called outside the scope it was created in")
        return [by_id[i] for i in fn.frames]

    def _call_result(self, ctx: FnCtx) -> Value:
        if ctx.conflict:
            return Conflict(ctx.conflict)
        if ctx.fell_off and ctx.sites:
            if (
                ctx.const_result is not None
                and isinstance(ctx.const_result, Const)
                and ctx.const_result.same(Const(UNDEFINED))
            ):
                return Const(UNDEFINED)
            return Conflict("the function returns a value on some paths and nothing on others")
        if ctx.fell_off:
            return Const(UNDEFINED)
        if ctx.const_result is not None:
            return ctx.const_result
        assert ctx.shape is not None
        return ctx.shape

    def _return(self, value: Value, env: Env) -> None:
        ctx = self._fns[-1]
        if ctx.kind == "pixel":
            self._write_outputs(value)
        else:
            self._record_return(ctx, value)
        if ctx.loop_depth:
            ctx.returned_in_loop = True
            self.emit(f"{ctx.done} = True")
        self.emit("break")
        env.dead = True

    def _record_return(self, ctx: FnCtx, value: Value) -> None:
        ctx.sites += 1
        if ctx.sites == 1:
            if _runtime_shape(value):
                ctx.shape = self._fresh_locals(value)
                self._assign_like(ctx.shape, value, self.out)
            else:
                ctx.const_result = value
            return
        if ctx.shape is not None:
            try:
                self._assign_like(ctx.shape, value, self.out)
            except Unsupported as exc:
                ctx.conflict = str(exc)
        elif not _identical(ctx.const_result, value):
            ctx.conflict = "the function returns different kinds of values"

    # -- outputs -----------------------------------------------------------------------------------

    def _write_nothing(self, buf: Buffer) -> None:
        for o, out in enumerate(self.outputs):
            for b in range(out.bands):
                buf.add(f"o{o}[{b}, p] = NAN")

    def _write_outputs(self, r: Value) -> None:
        if isinstance(r, Const) and r.value is UNDEFINED:
            self._write_nothing(self.out)
            return
        if isinstance(r, Obj):
            for o, out in enumerate(self.outputs):
                if out.id not in r.fields:
                    raise Unsupported(f"the returned object lacks output {out.id!r}")
                self._put(o, r.fields[out.id])
            return
        if len(self.outputs) != 1:
            raise Unsupported("several outputs need a returned object")
        self._put(0, r)

    def _put(self, o: int, v: Value) -> None:
        bands = self.outputs[o].bands
        if isinstance(v, Arr):
            if len(v.items) < bands or (self.strict_band_count and len(v.items) > bands):
                raise Unsupported("the returned array does not match the output's bands")
            for b in range(bands):
                self.emit(f"o{o}[{b}, p] = {self._output_number(v.items[b])}")
        elif is_number(v) and bands == 1:
            self.emit(f"o{o}[0, p] = {num_code(v)}")
        else:
            raise Unsupported(f"evaluatePixel returns {describe(v)}")

    def _output_number(self, v: Value) -> str:
        """Number(x) as the driver applies it to each returned element."""
        if is_number(v):
            return num_code(v)
        if isinstance(v, Bool):
            return f"(1.0 if {v.code} else 0.0)"
        if isinstance(v, Const) and isinstance(v.value, bool):
            return "1.0" if v.value else "0.0"
        if isinstance(v, Const) and v.value is None:
            return "0.0"
        if isinstance(v, Arr):  # Number([x]); the driver throws when that is NaN
            x = library.to_number(self, v)
            if isinstance(x, Const):
                if math.isnan(x.value):
                    raise Unsupported("an array band value that is not a number")
                return num_code(x)
            self.emit(f"if {x.code} != {x.code}: return {EXIT_THROW}")
            return x.code
        raise Unsupported(f"evaluatePixel returns {describe(v)} as a band value")

    # -- statements --------------------------------------------------------------------------------

    def statements(self, nodes: list[Any], env: Env) -> None:
        for node in nodes:
            if env.dead:
                return
            self.statement(node, env)

    def statement(self, node: Any, env: Env) -> None:
        kind = node.type
        if kind == "ExpressionStatement":
            self.expr(node.expression, env)
        elif kind == "VariableDeclaration":
            self._declaration(node, env)
        elif kind == "ReturnStatement":
            value = Const(UNDEFINED) if node.argument is None else self.expr(node.argument, env)
            self._return(value, env)
        elif kind == "IfStatement":
            self._if(node, env)
        elif kind == "BlockStatement":
            self._block(node.body, env)
        elif kind == "ForStatement":
            self._for(node, env)
        elif kind == "WhileStatement":
            self._loop(env, node.test, None, node.body, do_while=False)
        elif kind == "DoWhileStatement":
            self._loop(env, node.test, None, node.body, do_while=True)
        elif kind in ("BreakStatement", "ContinueStatement"):
            self._jump(node, env)
        elif kind == "EmptyStatement" or kind == "FunctionDeclaration":
            pass  # function declarations are bound when their scope is entered
        elif kind == "TryStatement":
            # Nothing in compiled code throws: whatever would throw in V8 exits the kernel instead.
            self._block(node.block.body, env)
            if node.finalizer is not None and not env.dead:
                self._block(node.finalizer.body, env)
        elif kind == "ThrowStatement":
            self.expr(node.argument, env)
            self.emit(f"return {EXIT_THROW}")
            env.dead = True
        else:
            raise Unsupported(f"statement {kind}")

    def _block(self, body: list[Any], env: Env) -> None:
        frame = Frame({})
        env.frames.append(frame)
        try:
            self._declare_block(body, env, frame)
            self.statements(body, env)
        finally:
            env.frames.pop()

    def _declare_block(self, body: list[Any], env: Env, frame: Frame) -> None:
        """let/const are unreadable before their declaration; function declarations are bound now."""
        lexical, functions = block_declarations(body)
        for name in lexical:
            frame.vars[name] = Conflict(f"{name} is read before its declaration")
        ids = tuple(f.id for f in env.frames)
        for fn_node in functions:
            frame.vars[fn_node.id.name] = Func(fn_node, ids, fn_node.id.name)

    def _declaration(self, node: Any, env: Env) -> None:
        for decl in node.declarations:
            if decl.init is None:
                if node.kind != "var":
                    self._bind_pattern(decl.id, Const(UNDEFINED), env, None)
                continue
            value = self.expr(decl.init, env)
            self._bind_pattern(decl.id, value, env, None if node.kind != "var" else env.function_frame())

    def _bind_pattern(self, target: Any, value: Value, env: Env, frame: Frame | None) -> None:
        """Bind a declaration target; `frame` None = the innermost frame (let/const/params)."""
        frame = frame or env.frames[-1]
        if target.type == "Identifier":
            frame.vars[target.name] = value
        elif target.type == "ArrayPattern":
            if not isinstance(value, Arr):
                raise Unsupported("array destructuring of a non-array")
            for k, element in enumerate(target.elements):
                if element is None:
                    continue
                if element.type in ("RestElement", "AssignmentPattern"):
                    raise Unsupported("rest or default in destructuring")
                item = value.items[k] if k < len(value.items) else Const(UNDEFINED)
                self._bind_pattern(element, item, env, frame)
        else:
            raise Unsupported(f"binding pattern {target.type}")

    def _jump(self, node: Any, env: Env) -> None:
        if node.label is not None:
            raise Unsupported("labelled break/continue")
        if not self._loops or self._loops[-1].fn is not self._fns[-1]:
            raise Unsupported("break/continue outside a loop")
        self._write_back(self._loops[-1], env)
        self.emit("break" if node.type == "BreakStatement" else "continue")
        env.dead = True

    # -- branches ----------------------------------------------------------------------------------

    def _if(self, node: Any, env: Env) -> None:
        test = self.test(node.test, env)
        if isinstance(test, Const):
            chosen = node.consequent if test.value else node.alternate
            if chosen is not None:
                self._block([chosen], env)
            return
        self.branch(
            test.code,
            env,
            lambda e: self._block([node.consequent], e),
            (lambda e: self._block([node.alternate], e)) if node.alternate is not None else None,
        )

    def branch(
        self,
        cond: str,
        env: Env,
        then_fn: Callable[[Env], Value | None],
        else_fn: Callable[[Env], Value | None] | None,
    ) -> Value | None:
        """Emit `if cond: ... else: ...`, merge the variables of both paths; returns the merged value."""
        e1, e2 = env.copy(), env.copy()
        b1, v1 = self.capture(lambda: then_fn(e1))
        b2, v2 = self.capture(lambda: else_fn(e2) if else_fn else None)
        merged = env.copy()
        if e1.dead and e2.dead:
            merged.dead = True
        elif e1.dead or e2.dead:
            merged.adopt(e2 if e1.dead else e1)
        else:
            for mine, f1, f2 in zip(merged.frames, e1.frames, e2.frames, strict=True):
                for name in set(f1.vars) | set(f2.vars):
                    a, b = f1.vars.get(name), f2.vars.get(name)
                    if a is None or b is None:
                        mine.vars[name] = Conflict(f"{name} is declared on one path only")
                    else:
                        mine.vars[name] = self.unify(a, b, b1, b2)
        result: Value | None = None
        if v1 is not None and v2 is not None:
            result = (v2 if e1.dead else v1) if e1.dead or e2.dead else self.unify(v1, v2, b1, b2)
        self.out.block(f"if {cond}:", b1)
        if b2.lines:
            self.out.block("else:", b2)
        env.adopt(merged)
        return result

    def unify(self, a: Value, b: Value, b1: Buffer, b2: Buffer) -> Value:
        """One value for `a` (path 1) and `b` (path 2), assigning fresh locals at the end of each path."""
        if a is b or _identical(a, b):
            return a
        if is_number(a) and is_number(b):
            name = self.tmp("m")
            b1.add(f"{name} = {num_code(a)}")
            b2.add(f"{name} = {num_code(b)}")
            return Num(name)
        if is_bool(a) and is_bool(b):
            name = self.tmp("m")
            b1.add(f"{name} = {bool_code(a)}")
            b2.add(f"{name} = {bool_code(b)}")
            return Bool(name)
        if isinstance(a, Arr) and isinstance(b, Arr) and len(a.items) == len(b.items):
            items = tuple(self.unify(x, y, b1, b2) for x, y in zip(a.items, b.items, strict=True))
            if any(isinstance(i, Conflict) for i in items):
                return Conflict("an array differs between paths")
            return Arr(items, a.ident if a.ident == b.ident else new_id(), a.frozen or b.frozen)
        if isinstance(a, Obj) and isinstance(b, Obj) and a.fields.keys() == b.fields.keys():
            fields = {k: self.unify(a.fields[k], b.fields[k], b1, b2) for k in a.fields}
            if any(isinstance(i, Conflict) for i in fields.values()):
                return Conflict("an object differs between paths")
            return Obj(fields, a.frozen or b.frozen)
        return Conflict(f"{describe(a)} on one path, {describe(b)} on the other")

    def _fresh_locals(self, v: Value) -> Value:
        if is_number(v):
            return Num(self.tmp("r"))
        if is_bool(v):
            return Bool(self.tmp("r"))
        if isinstance(v, Arr):
            return Arr(tuple(self._fresh_locals(i) for i in v.items))
        if isinstance(v, Obj):
            return Obj({k: self._fresh_locals(i) for k, i in v.fields.items()})
        raise Unsupported(f"{describe(v)} cannot be held in a local")

    def _assign_like(self, target: Value, v: Value, buf: Buffer) -> None:
        """Assign `v` to the locals of `target` (same shape), or raise Unsupported."""
        if isinstance(target, Num) and is_number(v):
            if num_code(v) != target.code:
                buf.add(f"{target.code} = {num_code(v)}")
        elif isinstance(target, Bool) and is_bool(v):
            if bool_code(v) != target.code:
                buf.add(f"{target.code} = {bool_code(v)}")
        elif isinstance(target, Arr) and isinstance(v, Arr) and len(target.items) == len(v.items):
            for t, i in zip(target.items, v.items, strict=True):
                self._assign_like(t, i, buf)
        elif isinstance(target, Obj) and isinstance(v, Obj) and target.fields.keys() == v.fields.keys():
            for k in target.fields:
                self._assign_like(target.fields[k], v.fields[k], buf)
        else:
            raise Unsupported(f"a value changes from {describe(target)} to {describe(v)}")

    # -- loops -------------------------------------------------------------------------------------

    def _for(self, node: Any, env: Env) -> None:
        frame = Frame({})
        env.frames.append(frame)
        try:
            if node.init is not None:
                if node.init.type == "VariableDeclaration":
                    self._declaration(node.init, env)
                else:
                    self.expr(node.init, env)
            self._loop(env, node.test, node.update, node.body, do_while=False)
        finally:
            env.frames.pop()

    def _loop(self, env: Env, test: Any, update: Any, body: Any, do_while: bool) -> None:
        names = assigned_names([n for n in (test, update, body) if n is not None])
        carried: dict[tuple[int, str], Value] = {}
        for name in sorted(names):
            frame = env.find(name)
            if frame is None:
                continue  # an assignment to a global: unsupported when compiled
            value = frame.vars[name]
            if _runtime_shape(value):
                head = self._fresh_locals(value)
                self._assign_like(head, value, self.out)
            elif isinstance(value, Func | Viz | Builtin):
                head = value  # must not change inside the loop (checked at write-back)
            else:
                head = Conflict(f"{name} changes inside a loop")
            frame.vars[name] = head
            carried[(frame.id, name)] = head
        fn = self._fns[-1]
        loop = LoopCtx(fn, carried, {(f.id, k): v for f in env.frames for k, v in f.vars.items()})
        first = self.tmp("first") if (update is not None or do_while) else ""
        if first:
            self.emit(f"{first} = True")
        body_env = env.copy()

        def loop_body() -> None:
            self.emit("_it += 1")
            self.emit(f"if _it > budget: return {EXIT_BUDGET}")
            late_test = do_while
            if first:
                step = Buffer()
                self._buffers.append(step)
                try:
                    if update is not None:
                        self.expr(update, body_env)
                        self._write_back(loop, body_env)
                    if late_test:
                        self._loop_test(test, body_env, carried)
                finally:
                    self._buffers.pop()
                self.out.block(f"if not {first}:", step)
                self.emit(f"{first} = False")
                _restore(body_env, carried)
            if not late_test and test is not None:
                self._loop_test(test, body_env, carried)
            self._block([body], body_env)
            if not body_env.dead:
                self._write_back(loop, body_env)

        self._loops.append(loop)
        fn.loop_depth += 1
        returned_before = fn.returned_in_loop
        fn.returned_in_loop = False
        try:
            buf, _ = self.capture(loop_body)
        finally:
            self._loops.pop()
            fn.loop_depth -= 1
        self.out.block("while True:", buf)
        if fn.returned_in_loop:
            self.emit(f"if {fn.done}: break")
        fn.returned_in_loop = fn.returned_in_loop or returned_before
        if fn.loop_depth == 0:
            fn.returned_in_loop = False
        _restore(env, carried)

    def _loop_test(self, test: Any, env: Env, carried: dict[tuple[int, str], Value]) -> None:
        before = {key: _lookup(env, key) for key in carried}
        t = self.test(test, env)
        if any(_lookup(env, key) is not value for key, value in before.items()):
            raise Unsupported("a loop condition that assigns")
        if isinstance(t, Const):
            if not t.value:
                self.emit("break")
        else:
            self.emit(f"if not {t.code}: break")

    def _write_back(self, loop: LoopCtx, env: Env) -> None:
        for frame in env.frames:
            for name, value in frame.vars.items():
                key = (frame.id, name)
                if key in loop.outer and key not in loop.carried and loop.outer[key] is not value:
                    raise Unsupported(f"{name} changes inside a loop through a call")
        for key, head in loop.carried.items():
            current = _lookup(env, key)
            if current is head:
                continue
            if isinstance(head, Conflict):
                continue
            if isinstance(head, Func | Viz | Builtin):
                if not _identical(head, current):
                    raise Unsupported("a function or visualizer variable changes inside a loop")
                continue
            self._assign_like(head, current, self.out)

    # -- expressions -------------------------------------------------------------------------------

    def expr(self, node: Any, env: Env) -> Value:
        method = getattr(self, "_e_" + node.type, None)
        if method is None:
            raise Unsupported(f"expression {node.type}")
        return method(node, env)

    def _e_Literal(self, node: Any, env: Env) -> Value:
        if getattr(node, "regex", None) is not None:
            raise Unsupported("regular expression")
        v = node.value
        if v is None:
            if node.raw != "null":
                raise Unsupported(f"literal {node.raw}")
            return Const(None)
        if isinstance(v, bool | str):
            return Const(v)
        if isinstance(v, int | float):
            return Const(float(v))
        raise Unsupported(f"literal {node.raw}")

    def _e_Identifier(self, node: Any, env: Env) -> Value:
        value = self.lookup(node.name, env)
        if isinstance(value, Conflict):
            raise Unsupported(value.reason)
        return value

    def lookup(self, name: str, env: Env) -> Value:
        frame = env.find(name)
        if frame is not None:
            return frame.vars[name]
        if name == "undefined":
            return Const(UNDEFINED)
        if name == "NaN":
            return Const(math.nan)
        if name == "Infinity":
            return Const(math.inf)
        return self.resolve_global(name)

    def _e_ArrayExpression(self, node: Any, env: Env) -> Value:
        items: list[Value] = []
        for element in node.elements:
            if element is None:
                raise Unsupported("array hole")
            if element.type == "SpreadElement":
                spread = self.expr(element.argument, env)
                if not isinstance(spread, Arr):
                    raise Unsupported("spread of a non-array")
                items.extend(spread.items)
            else:
                items.append(self.expr(element, env))
        return Arr(tuple(items))

    def _e_ObjectExpression(self, node: Any, env: Env) -> Value:
        fields: dict[str, Value] = {}
        for prop in node.properties:
            if prop.type != "Property" or prop.computed or prop.kind != "init" or prop.method:
                raise Unsupported("object literal with computed, spread or method properties")
            key = prop.key.name if prop.key.type == "Identifier" else prop.key.value
            if not isinstance(key, str) or key == "__proto__":
                raise Unsupported("object literal key")
            fields[key] = self.expr(prop.value, env)
        return Obj(fields)

    def _e_FunctionExpression(self, node: Any, env: Env) -> Value:
        return Func(node, tuple(f.id for f in env.frames), "")

    _e_ArrowFunctionExpression = _e_FunctionExpression

    def _e_SequenceExpression(self, node: Any, env: Env) -> Value:
        value: Value = Const(UNDEFINED)
        for item in node.expressions:
            value = self.expr(item, env)
        return value

    def _e_UnaryExpression(self, node: Any, env: Env) -> Value:
        op = node.operator
        if op == "typeof":
            if node.argument.type == "Identifier" and env.find(node.argument.name) is None:
                try:
                    v = self.lookup(node.argument.name, env)
                except Unsupported:
                    raise Unsupported("typeof of an unknown global") from None
            else:
                v = self.expr(node.argument, env)
            return Const(library.type_of(v))
        if op == "delete":
            raise Unsupported("delete")
        v = self.expr(node.argument, env)
        if op == "void":
            return Const(UNDEFINED)
        if op == "!":
            t = library.truthy(self, v)
            return Const(not t.value) if isinstance(t, Const) else self.bool(f"not {t.code}")
        if op == "-":
            x = library.to_number(self, v)
            return Const(-x.value) if isinstance(x, Const) else self.num(f"-{x.code}")
        if op == "+":
            return library.to_number(self, v)
        if op == "~":
            return library.bitwise(self, "~", v, None)
        raise Unsupported(f"unary {op}")

    def _e_BinaryExpression(self, node: Any, env: Env) -> Value:
        left = self.expr(node.left, env)
        right = self.expr(node.right, env)
        return library.binary(self, node.operator, left, right)

    def _e_LogicalExpression(self, node: Any, env: Env) -> Value:
        left = self.expr(node.left, env)
        op = node.operator
        if op == "??":
            if isinstance(left, Const) and (left.value is None or left.value is UNDEFINED):
                return self.expr(node.right, env)
            if isinstance(left, Conflict):
                raise Unsupported(left.reason)
            return left
        t = library.truthy(self, left)
        if isinstance(t, Const):
            take_right = t.value if op == "&&" else not t.value
            return self.expr(node.right, env) if take_right else left
        if op == "&&":
            result = self.branch(t.code, env, lambda e: self.expr(node.right, e), lambda e: left)
        else:
            result = self.branch(t.code, env, lambda e: left, lambda e: self.expr(node.right, e))
        return _readable(result)

    def test(self, node: Any, env: Env) -> Const | Bool:
        """The truth value of `node` as a condition (&&, || and ! need no common value type here)."""
        if node.type == "LogicalExpression" and node.operator in ("&&", "||"):
            left = self.test(node.left, env)
            if isinstance(left, Const):
                if left.value == (node.operator == "&&"):
                    return self.test(node.right, env)
                return left
            if node.operator == "&&":
                result = self.branch(left.code, env, lambda e: self.test(node.right, e), lambda e: Const(False))
            else:
                result = self.branch(left.code, env, lambda e: Const(True), lambda e: self.test(node.right, e))
            value = _readable(result)
            assert isinstance(value, Const | Bool)
            return value
        if node.type == "UnaryExpression" and node.operator == "!":
            inner = self.test(node.argument, env)
            return Const(not inner.value) if isinstance(inner, Const) else self.bool(f"not {inner.code}")
        return library.truthy(self, self.expr(node, env))

    def _e_ConditionalExpression(self, node: Any, env: Env) -> Value:
        t = self.test(node.test, env)
        if isinstance(t, Const):
            return self.expr(node.consequent if t.value else node.alternate, env)
        result = self.branch(
            t.code, env, lambda e: self.expr(node.consequent, e), lambda e: self.expr(node.alternate, e)
        )
        return _readable(result)

    def _e_AssignmentExpression(self, node: Any, env: Env) -> Value:
        op = node.operator
        target = node.left
        if target.type == "Identifier":
            frame = env.find(target.name)
            if frame is None:
                raise Unsupported(f"assignment to the global {target.name}")
            if op == "=":
                value = self.expr(node.right, env)
            elif op in ("&&=", "||=", "??="):
                raise Unsupported("logical assignment")
            else:
                old = frame.vars[target.name]
                if isinstance(old, Conflict):
                    raise Unsupported(old.reason)
                value = library.binary(self, op[:-1], old, self.expr(node.right, env))
            frame = env.find(target.name)
            assert frame is not None
            frame.vars[target.name] = value
            return value
        if target.type == "MemberExpression" and op == "=":
            obj = self.expr(target.object, env)
            key = self._member_key(target, env)
            value = self.expr(node.right, env)
            library.set_member(self, obj, key, value, env)
            return value
        raise Unsupported(f"assignment to {target.type}")

    def _e_UpdateExpression(self, node: Any, env: Env) -> Value:
        target = node.argument
        if target.type != "Identifier":
            raise Unsupported("++/-- on a property")
        frame = env.find(target.name)
        if frame is None:
            raise Unsupported(f"assignment to the global {target.name}")
        old = frame.vars[target.name]
        if isinstance(old, Conflict):
            raise Unsupported(old.reason)
        old_num = library.to_number(self, old)
        new = library.binary(self, "+" if node.operator == "++" else "-", old_num, Const(1.0))
        frame.vars[target.name] = new
        return new if node.prefix else old_num

    def _member_key(self, node: Any, env: Env) -> Value:
        if not node.computed:
            return Const(node.property.name)
        return self.expr(node.property, env)

    def _e_MemberExpression(self, node: Any, env: Env) -> Value:
        obj = self.expr(node.object, env)
        return library.get_member(self, obj, self._member_key(node, env))

    def _e_CallExpression(self, node: Any, env: Env) -> Value:
        callee = node.callee
        if callee.type == "MemberExpression":
            obj = self.expr(callee.object, env)
            key = self._member_key(callee, env)
            fn = library.get_member(self, obj, key, for_call=True)
        else:
            fn = self.expr(callee, env)
        args = []
        for arg in node.arguments:
            if arg.type == "SpreadElement":
                spread = self.expr(arg.argument, env)
                if not isinstance(spread, Arr):
                    raise Unsupported("spread of a non-array in a call")
                args.extend(spread.items)
            else:
                args.append(self.expr(arg, env))
        return self.call(fn, args, env)


def _restore(env: Env, carried: dict[tuple[int, str], Value]) -> None:
    for (frame_id, name), head in carried.items():
        for frame in env.frames:
            if frame.id == frame_id:
                frame.vars[name] = head


def _lookup(env: Env, key: tuple[int, str]) -> Value:
    for frame in env.frames:
        if frame.id == key[0]:
            return frame.vars[key[1]]
    raise AssertionError("frame vanished")


def _runtime_shape(v: Value) -> bool:
    """Can `v` live in kernel locals (numbers, booleans, arrays/objects of them)?"""
    if is_number(v) or is_bool(v):
        return True
    if isinstance(v, Arr):
        return bool(v.items) and all(_runtime_shape(i) for i in v.items)
    if isinstance(v, Obj):
        return bool(v.fields) and all(_runtime_shape(i) for i in v.fields.values())
    return False


def _identical(a: Value | None, b: Value | None) -> bool:
    if a is b:
        return True
    if isinstance(a, Const) and isinstance(b, Const):
        return a.same(b)
    if (isinstance(a, Num) and isinstance(b, Num)) or (isinstance(a, Bool) and isinstance(b, Bool)):
        return a.code == b.code
    if isinstance(a, Func) and isinstance(b, Func):
        return a.node is b.node and a.frames == b.frames
    if isinstance(a, Builtin) and isinstance(b, Builtin):
        return a.name == b.name
    if isinstance(a, Sample | Samples | Scenes | Scene | SceneDate | Namespace) and type(a) is type(b):
        return vars(a) == vars(b)
    return False


def _readable(v: Value | None) -> Value:
    if v is None:
        raise Unsupported("expression without a value")
    if isinstance(v, Conflict):
        raise Unsupported(v.reason)
    return v


__all__ = ["Compiler", "InputShape", "Output", "float_literal"]
