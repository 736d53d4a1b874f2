"""The code's shape, checked as CI checks behaviour: the import rules between packages (import-linter, the
contracts in pyproject.toml: the layers among them), no import cycle between modules, ruff, no function
longer than 60 lines, and the engine's tests needing the engine alone."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PACKAGES = ("counting", "config", "models", "services", "tasks", "worker", "scheduler", "api", "cli", "cvr", "report")
MAX_FUNCTION_LINES = 60
# What the engine's tests must not import: the server stack, and every package of the project but the engine.
SERVER_STACK = ("sqlalchemy", "celery", "kombu", "redis", "psycopg", "fastapi", "starlette", "alembic")
NOT_THE_ENGINE = tuple(p for p in PACKAGES if p != "counting")


def _run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=600, **kwargs)


def test_import_contracts_hold():
    run = _run(str(BIN / "lint-imports"), "--no-cache")
    assert run.returncode == 0, run.stdout + run.stderr


def import_cycles() -> list[list[str]]:
    """Every set of the project's modules that import one another in a ring (a strongly connected
    component of the import graph, imports inside functions included), by Tarjan's algorithm."""
    import grimp  # import-linter's own graph of the imports

    graph = grimp.build_graph(*PACKAGES)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.partition(".")[0] not in PACKAGES:
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            ring = []
            while True:
                member = stack.pop()
                ring.append(member)
                if member == module:
                    break
            if len(ring) > 1:
                cycles.append(sorted(ring))

    for module in sorted(graph.modules):
        if module.partition(".")[0] in PACKAGES and module not in index:
            visit(module)
    return cycles


def test_no_module_imports_itself_through_others():
    cycles = import_cycles()
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(ring) for ring in cycles)


def test_ruff_finds_nothing():
    run = _run(sys.executable, "-m", "ruff", "check", "--no-cache", ".")
    assert run.returncode == 0, run.stdout + run.stderr


def long_functions() -> dict[str, int]:
    """{"path:qualified name": lines} of every function of the project (migrations aside) over the limit."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(), str(path))
            for scope, node in _functions(tree, ""):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found[f"{path.relative_to(REPO).as_posix()}:{scope}{node.name}"] = lines
    return found


def _functions(node: ast.AST, scope: str):
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield scope, child
            yield from _functions(child, f"{scope}{child.name}.")
        elif isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{scope}{child.name}.")
        else:
            yield from _functions(child, scope)


def test_no_function_is_longer_than_60_lines():
    offenders = long_functions()
    assert not offenders, "\n".join(f"{name}: {lines} lines (at most {MAX_FUNCTION_LINES})"
                                    for name, lines in sorted(offenders.items()))


def server_fixtures() -> set[str]:
    """The names of the fixtures that start or reach a server (tests/servers.py)."""
    tree = ast.parse((REPO / "tests" / "servers.py").read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)
            and any("fixture" in ast.unparse(d) for d in node.decorator_list)}


def test_the_engine_tests_need_the_engine_alone(tmp_path):
    """Collected with every other package of the project and the server stack unimportable, no engine test
    asks for a server fixture. With the engine's import contract (which forbids the server stack in any
    import of `counting`, in a function too), this is what running them without it would show, at a
    fraction of the cost of running the engine's tests a second time."""
    # A plugin loaded before the root conftest makes every other package unimportable and records any
    # attempt, so that an ImportError caught on the way still fails the run.
    (tmp_path / "engine_alone.py").write_text(textwrap.dedent(f"""
        import sys

        BLOCKED = {set(SERVER_STACK + NOT_THE_ENGINE)!r}
        SERVER_FIXTURES = {server_fixtures()!r}
        already = BLOCKED & {{name.partition(".")[0] for name in sys.modules}}
        attempts = []


        class Refuse:
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] in BLOCKED:
                    attempts.append(name)
                    raise ImportError(f"{{name}} is not part of the engine")
                return None


        sys.meta_path.insert(0, Refuse())


        def pytest_collection_finish(session):
            for item in session.items:
                if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
                    attempts.append(f"{{item.nodeid}} asks for a server fixture")


        def pytest_sessionfinish(session, exitstatus):
            if already or attempts:
                print(f"imported beside the engine: {{sorted(already)}}, attempted: {{sorted(set(attempts))}}")
                session.exitstatus = 1
    """))
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    # With autoloading off, pytest-celery and schemathesis (test dependencies of the server side) stay out;
    # hypothesis's plugin is the engine tests' own.
    run = _run(sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider", "-p", "engine_alone",
               "-p", "_hypothesis_pytestplugin", "tests/engine", env=env)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert " tests collected" in run.stdout, run.stdout[-2000:]
