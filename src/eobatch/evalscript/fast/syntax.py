"""Parsing with esprima (cached per source) and the syntactic facts the compiler needs."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import esprima

from eobatch.evalscript.fast.values import Unsupported

MAX_SOURCE_CHARS = 32_000  # bigger scripts (e.g. generated decision trees) stay in V8: parse cost


def children(node: Any) -> Iterator[Any]:
    """The AST nodes directly below `node`."""
    for key, value in vars(node).items():
        if key in ("range", "loc", "type"):
            continue
        if isinstance(value, list):
            for item in value:
                if hasattr(item, "type"):
                    yield item
        elif hasattr(value, "type"):
            yield value


def walk(node: Any, *, into_functions: bool = True) -> Iterator[Any]:
    yield node
    for child in children(node):
        if not into_functions and child.type in (
            "FunctionDeclaration",
            "FunctionExpression",
            "ArrowFunctionExpression",
        ):
            continue
        yield from walk(child, into_functions=into_functions)


def hoisted(body: Any) -> list[str]:
    """Names declared with `var` in a function body (not in nested functions)."""
    names: list[str] = []
    for node in walk(body, into_functions=False):
        if node.type == "VariableDeclaration" and node.kind == "var":
            for decl in node.declarations:
                names.extend(_pattern_names(decl.id))
    return names


def block_declarations(body: list[Any]) -> tuple[list[str], list[Any]]:
    """(let/const/class names, function declarations) declared directly in a block."""
    lexical: list[str] = []
    functions: list[Any] = []
    for node in body:
        if node.type == "VariableDeclaration" and node.kind != "var":
            for decl in node.declarations:
                lexical.extend(_pattern_names(decl.id))
        elif node.type == "ClassDeclaration":
            lexical.append(node.id.name)
        elif node.type == "FunctionDeclaration":
            functions.append(node)
    return lexical, functions


def _pattern_names(target: Any) -> list[str]:
    if target.type == "Identifier":
        return [target.name]
    if target.type == "ArrayPattern":
        return [n for e in target.elements if e is not None for n in _pattern_names(e)]
    if target.type == "ObjectPattern":
        return [n for p in target.properties for n in _pattern_names(getattr(p, "value", p))]
    if target.type in ("RestElement",):
        return _pattern_names(target.argument)
    if target.type == "AssignmentPattern":
        return _pattern_names(target.left)
    return []


def _base_name(node: Any) -> str | None:
    while node.type == "MemberExpression":
        node = node.object
    return node.name if node.type == "Identifier" else None


MUTATING_METHODS = frozenset(["push", "pop", "shift", "unshift", "splice", "sort", "reverse", "fill", "copyWithin"])


def _method_name(member: Any) -> str | None:
    if not member.computed:
        return member.property.name
    prop = member.property
    return prop.value if prop.type == "Literal" and isinstance(prop.value, str) else None


def assigned_names(nodes: list[Any]) -> set[str]:
    """Variables a piece of code may change: assignments, ++/--, `var`, and receivers of method calls."""
    names: set[str] = set()
    for root in nodes:
        for node in walk(root):
            if node.type == "AssignmentExpression":
                name = _base_name(node.left)
                if name:
                    names.add(name)
                names.update(_pattern_names(node.left))
            elif node.type == "UpdateExpression":
                name = _base_name(node.argument)
                if name:
                    names.add(name)
            elif node.type == "VariableDeclaration":
                for decl in node.declarations:
                    names.update(_pattern_names(decl.id))
            elif (
                node.type == "CallExpression"
                and node.callee.type == "MemberExpression"
                and _method_name(node.callee) in MUTATING_METHODS
            ):
                name = _base_name(node.callee.object)
                if name:
                    names.add(name)
    return names


_FUNCTIONS = ("FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression")


def _declared_in(fn: Any) -> set[str]:
    """Names a function declares anywhere in its own body (params, var, let/const, inner functions)."""
    names = {n for p in fn.params for n in _pattern_names(p)}
    for node in walk(fn.body, into_functions=False):
        if node.type == "VariableDeclaration":
            for decl in node.declarations:
                names.update(_pattern_names(decl.id))
        elif node.type in ("FunctionDeclaration", "ClassDeclaration") and node is not fn and node.id is not None:
            names.add(node.id.name)
    return names


def global_writes(tree: Any) -> set[str]:
    """Names that code inside functions assigns without declaring them in any enclosing function.

    An approximation in both directions is safe for the compiler: a write it misses is refused when
    compiled (assignment to an unknown global), an extra name only makes reads of it unsupported.
    """
    found: set[str] = set()

    def visit(node: Any, scopes: tuple[set[str], ...]) -> None:
        if node.type in _FUNCTIONS:
            scopes = (*scopes, _declared_in(node))
        elif scopes and node.type in ("AssignmentExpression", "UpdateExpression"):
            target = node.left if node.type == "AssignmentExpression" else node.argument
            if target.type == "Identifier" and not any(target.name in s for s in scopes):
                found.add(target.name)
        for child in children(node):
            visit(child, scopes)

    visit(tree, ())
    return found


class Script:
    """A parsed evalscript: top-level functions by name, with their source text."""

    def __init__(self, source: str):
        self.source = source
        try:
            self.tree = esprima.parseScript(source, {"range": True})
        except Exception as exc:  # esprima raises its own Error type for syntax it does not know
            raise Unsupported(f"the parser does not accept the script: {exc}") from None
        self._functions: dict[str, Any] = {}
        self._by_text: dict[str, Any] = {}
        for node in self.tree.body:
            if node.type == "FunctionDeclaration":
                self._functions[node.id.name] = node  # the last declaration wins, as in JS
                self._by_text[self.text(node)] = node
            elif node.type == "VariableDeclaration":
                for decl in node.declarations:
                    init = decl.init
                    if init is not None and init.type in ("FunctionExpression", "ArrowFunctionExpression"):
                        self._by_text[self.text(init)] = init
        self.global_writes = global_writes(self.tree)
        self._returns: dict[int, int] = {}
        self._dynamic: dict[int, bool] = {}

    def text(self, node: Any) -> str:
        start, end = node.range
        return self.source[start:end]

    def function(self, name: str) -> Any | None:
        """The top-level `function name(...)` declaration."""
        return self._functions.get(name)

    def function_with_text(self, text: str) -> Any | None:
        """The top-level function whose source text is exactly `text` (V8's Function#toString)."""
        return self._by_text.get(text)

    def count_returns(self, body: Any) -> int:
        key = id(body)
        if key not in self._returns:
            self._returns[key] = sum(1 for n in walk(body, into_functions=False) if n.type == "ReturnStatement")
        return self._returns[key]

    def uses_arguments(self, fn: Any) -> bool:
        """`arguments`, `this`, `eval` or `new.target` anywhere in a function body."""
        key = id(fn)
        if key not in self._dynamic:
            found = False
            for node in walk(fn.body, into_functions=False):
                dynamic_name = node.type == "Identifier" and node.name in ("arguments", "eval")
                if node.type in ("ThisExpression", "MetaProperty") or dynamic_name:
                    found = True
            self._dynamic[key] = found
        return self._dynamic[key]


@functools.lru_cache(maxsize=64)
def parse(source: str) -> Script:
    """Parse once per process and source; Unsupported for sources the compiler does not take."""
    if len(source) > MAX_SOURCE_CHARS:
        raise Unsupported(f"the script is longer than {MAX_SOURCE_CHARS} characters")
    return Script(source)
