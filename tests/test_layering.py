"""The layers keep to their jobs, checked on the source itself (its syntax trees):

* the engine (analysis, tasks, v2 outputs, the scheduler) and the tile pipeline read the typed plan,
  never the wire dictionaries: no `x.get("key")` or `x["key"]` with a literal key;
* `domain/` imports nothing that does I/O: only the standard library's pure modules, pydantic and
  eobatch's own errors and domain;
* "is this a grid tile?" has one answer, the plan's (`BatchPlan.grid is None` for a GeoPackage feature
  or a Process API window): the engine, the pipeline and the API compare no tile's `grid_id` to tell;
* the engine's modules import no cycle (counting imports inside functions too): an implementation
  imports its interface, never the other way round;
* all SQL lives in `store/`: the API, the CLI, the engine, the webhooks and the service assembly build
  no queries (no SQLAlchemy imports beyond its exceptions and the `Session` type) and call nothing on a
  session or a connection (`execute`, `query`, `get`, `add`, ...): they pass the session to a repository;
* the API and the CLI see no database rows: they import neither `eobatch.store.models` nor SQLAlchemy
  at all (not even its exceptions or the `Session` type); the store hands them read models
  (`domain/records.py`, `domain/batch_collections.py`) and names the database's outage exceptions
  (`store.db.OUTAGES`);
* the API holds no session either: it opens no unit of work itself (no `.session()` call) but asks the
  store to run one (`Database.run(store_function, ...)`). The API still names `Database`: the app factory
  builds it and hands it to the services. The CLI, a short-lived process of its own, still opens its
  units of work and passes each session straight to store functions (the SQL check above holds for it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "eobatch"

# string-keyed lookups that are not into wire dictionaries: (file, key)
NOT_WIRE = {
    ("processing/encode.py", "interleave"),  # GDAL creation options built in the same function
    ("engine/execution.py", "eobatch.storage.objects"),  # sys.modules
    ("engine/scheduler.py", "status"),  # the scheduler's own health snapshot
    *(("engine/sandbox.py", key) for key in ("timeout_s", "max_memory_mb", "source", "response_ids")),
    *(("engine/sandbox.py", key) for key in ("band_lookup", "time_range", "sample")),  # its message to the worker
    ("engine/sandbox.py", "outputs_only"),  # the create-time check's message to the worker
    ("engine/worker.py", "sys_path"),  # the spawn message of a worker process
    ("engine/worker.py", "imports"),
}
DOMAIN_IMPORTS = {
    "__future__",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "math",
    "typing",
    "pydantic",
    "eobatch.errors",
    "eobatch.domain",
}


# where no SQL may be written: everything that talks to the database through store/ repositories
SQL_FREE = ("api", "cli.py", "engine", "webhooks", "service.py")
# what these may still import from SQLAlchemy: its exceptions (to tell a database outage) and the type
SQLALCHEMY_ALLOWED = ("sqlalchemy.exc", "sqlalchemy.orm.Session")
# methods that run or stage SQL, whatever the receiver is called
SQL_METHODS = {"execute", "query", "scalars", "scalar", "scalar_one", "scalar_one_or_none", "add_all", "merge"}
SESSION_NAMES = {"session"}


def _files(*packages: str) -> list[Path]:
    paths = (SRC / package for package in packages)
    return sorted(q for p in paths for q in ([p] if p.is_file() else p.rglob("*.py")))


def literal_key_lookups(path: Path) -> list[tuple[int, str]]:
    """(line, key) of every `.get("key")` call and `["key"]` read in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "pop", "setdefault")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            found.append((node.lineno, node.slice.value))
    return found


@pytest.mark.parametrize("path", _files("engine", "processing"), ids=lambda p: str(p.relative_to(SRC)))
def test_the_engine_and_the_pipeline_read_the_plan_not_wire_dictionaries(path: Path):
    name = str(path.relative_to(SRC))
    lookups = [(line, key) for line, key in literal_key_lookups(path) if (name, key) not in NOT_WIRE]
    assert not lookups, f"{name} looks keys up in dictionaries (read the plan instead): {lookups}"


def imported_modules(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules.append("." * node.level + (node.module or ""))
    return modules


@pytest.mark.parametrize("path", _files("domain"), ids=lambda p: str(p.relative_to(SRC)))
def test_the_domain_imports_nothing_that_does_io(path: Path):
    outside = [m for m in imported_modules(path) if not any(m == a or m.startswith(a + ".") for a in DOMAIN_IMPORTS)]
    assert not outside, f"{path.relative_to(SRC)} imports {outside}; the domain must stay free of I/O"


def import_graph(root: Path) -> dict[str, set[str]]:
    """{module: the modules it imports} for the modules under `root` (a package folder), named from it."""
    package = root.name
    names = {
        p: ".".join((package, *p.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
        for p in root.rglob("*.py")
    }
    graph: dict[str, set[str]] = {name: set() for name in names.values()}
    for path, name in names.items():
        imported = {m.removeprefix("eobatch.") for m in imported_modules(path)}
        graph[name] = {m for m in imported if m in graph and m != name}
    return graph


def engine_import_cycles(root: Path) -> list[list[str]]:
    """The groups of modules under `root` that import each other in a circle."""
    graph = import_graph(root)
    cycles, order, low, stack, seen = [], {}, {}, [], set()

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        order[v] = low[v] = len(order)
        stack.append(v)
        seen.add(v)
        for w in sorted(graph[v]):
            if w not in order:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in seen:
                low[v] = min(low[v], order[w])
        if low[v] == order[v]:
            group = []
            while True:
                w = stack.pop()
                seen.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in order:
            visit(v)
    return cycles


def test_the_engine_imports_no_cycle():
    assert engine_import_cycles(SRC / "engine") == []


def grid_id_comparisons(path: Path) -> list[int]:
    """Lines that compare with the no-grid marker (`GEOPACKAGE_GRID_ID`, `NO_GRID_ID`, or a `grid_id` with -1)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            sides = (node.left, *node.comparators)
            names = {s.attr if isinstance(s, ast.Attribute) else getattr(s, "id", None) for s in sides}
            negative = any(isinstance(s, ast.UnaryOp) and isinstance(s.op, ast.USub) for s in sides)
            if names & {"GEOPACKAGE_GRID_ID", "NO_GRID_ID"} or ("grid_id" in names and negative):
                found.append(node.lineno)
    return sorted(found)


@pytest.mark.parametrize("path", _files("engine", "processing", "api"), ids=lambda p: str(p.relative_to(SRC)))
def test_grid_tiles_are_told_by_the_plan(path: Path):
    lines = grid_id_comparisons(path)
    assert not lines, f"{path.relative_to(SRC)} tells a grid tile by its grid_id (ask BatchPlan.grid): lines {lines}"


def sql_uses(path: Path) -> list[tuple[int, str]]:
    """(line, what) of every SQLAlchemy import beyond SQLALCHEMY_ALLOWED, every call of a method that runs
    SQL and every call on a variable named like a session."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            names = []
        for name in names:
            if name.split(".")[0] == "sqlalchemy" and not any(
                name == a or name.startswith(a + ".") for a in SQLALCHEMY_ALLOWED
            ):
                found.append((node.lineno, f"import {name}"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            if node.func.attr in SQL_METHODS or (isinstance(receiver, ast.Name) and receiver.id in SESSION_NAMES):
                found.append((node.lineno, f".{node.func.attr}()"))
    return found


@pytest.mark.parametrize("path", _files(*SQL_FREE), ids=lambda p: str(p.relative_to(SRC)))
def test_sql_lives_in_the_store(path: Path):
    uses = sql_uses(path)
    assert not uses, f"{path.relative_to(SRC)} writes SQL (move it into a store/ repository): {uses}"


# what renders and prints the store's data without ever holding a row: the store hands these read models.
# They still open a unit of work (`Database.session()`) and pass it straight to store functions.
ROW_FREE = ("api", "cli.py")
ROW_MODULES = ("eobatch.store.models", "sqlalchemy")


def row_imports(path: Path) -> list[tuple[int, str]]:
    """(line, name) of every import, at any depth (inside functions too), of the ORM models or SQLAlchemy."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        hits = {n for n in names if any(n == m or n.startswith(m + ".") for m in ROW_MODULES)}
        found += [(node.lineno, n) for n in sorted(hits)[:1]]
    return found


@pytest.mark.parametrize("path", _files(*ROW_FREE), ids=lambda p: str(p.relative_to(SRC)))
def test_the_api_and_the_cli_see_read_models_not_rows(path: Path):
    imports = row_imports(path)
    assert not imports, (
        f"{path.relative_to(SRC)} imports the ORM or SQLAlchemy (take a read model from a store/ function): {imports}"
    )


def session_opens(path: Path) -> list[int]:
    """Lines that open a unit of work (`x.session()`, on whatever `x`)."""
    tree = ast.parse(path.read_text())
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "session"
    )


@pytest.mark.parametrize("path", _files("api"), ids=lambda p: str(p.relative_to(SRC)))
def test_the_api_holds_no_session(path: Path):
    lines = session_opens(path)
    assert not lines, f"{path.relative_to(SRC)} opens a session (call Database.run(store_function, ...)): lines {lines}"


def test_the_session_check_sees_a_unit_of_work(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(database, app):\n"
        "    with database.session() as s:\n"
        "        pass\n"
        "    with app.state.database.session():\n"
        "        pass\n"
        "    return database.run(len, 'session')\n"
    )
    assert session_opens(sample) == [2, 4]


def test_the_row_check_sees_model_and_sqlalchemy_imports(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from eobatch.store import models, requests\n"
        "from eobatch.store.records import request_record\n"
        "def f():\n"
        "    from eobatch.store.models import Tile\n"
        "    import sqlalchemy.exc\n"
        "    from sqlalchemy.orm import Session\n"
        "    from eobatch.domain.records import TileRecord\n"
    )
    assert row_imports(sample) == [
        (1, "eobatch.store.models"),
        (4, "eobatch.store.models"),
        (5, "sqlalchemy.exc"),
        (6, "sqlalchemy.orm"),
    ]


def test_the_checks_see_what_they_look_for(tmp_path: Path):
    """The walkers find a wire lookup and a forbidden import when there is one."""
    sample = tmp_path / "sample.py"
    sample.write_text('import obstore\nfrom eobatch.storage import x\ndef f(d):\n    return d.get("output")["url"]\n')
    assert sorted(literal_key_lookups(sample)) == [(4, "output"), (4, "url")]
    assert imported_modules(sample) == ["obstore", "eobatch.storage"]


def test_the_cycle_check_sees_a_cycle(tmp_path: Path):
    root = tmp_path / "engine"
    root.mkdir()
    (root / "executors.py").write_text("def make():\n    from eobatch.engine.pool import Pool\n")
    (root / "pool.py").write_text("from eobatch.engine.executors import Unavailable\n")
    (root / "other.py").write_text("from eobatch.engine import pool\n")
    assert engine_import_cycles(root) == [["engine.executors", "engine.pool"]]


def test_the_grid_check_sees_a_grid_id_test(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(tile, plan):\n"
        "    if tile.grid_id in (3, 4) or plan.grid is None:\n"
        "        return tile.grid_id == GEOPACKAGE_GRID_ID\n"
        "    return tile.grid_id != -1\n"
    )
    assert grid_id_comparisons(sample) == [3, 4]


def test_the_sql_check_sees_queries(tmp_path: Path):
    """The walker finds the query api/events.py once built, and lets exceptions and the Session type pass."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from sqlalchemy import func, select\n"
        "from sqlalchemy.exc import DBAPIError\n"
        "from sqlalchemy.orm import Session\n"
        "def f(session: Session, db):\n"
        "    with db.session() as s:\n"
        "        s.execute(select(func.count()))\n"
        "    return session.get(object, 1)\n"
    )
    assert sorted(sql_uses(sample)) == [
        (1, "import sqlalchemy.func"),
        (1, "import sqlalchemy.select"),
        (6, ".execute()"),
        (7, ".get()"),
    ]
