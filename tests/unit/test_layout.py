"""The boundaries of docs/architecture.md, checked rather than hoped for."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IO_MODULES = {
    "litestar",
    "sqlalchemy",
    "asyncpg",
    "firebase_admin",
    "httpx",
    "geoalchemy2",
    "app",
    "geo",
    "notifications",
    "socket",
    "requests",
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_matching_is_pure() -> None:
    files = list((ROOT / "matching").rglob("*.py"))
    assert files, "matching/ must exist"
    for path in files:
        assert not (_imports(path) & IO_MODULES), (
            f"{path} imports I/O: {_imports(path) & IO_MODULES}"
        )


def test_controllers_hold_no_sql() -> None:
    for path in (ROOT / "app").rglob("controller*.py"):
        source = path.read_text()
        assert "sqlalchemy import" not in source.replace("sqlalchemy.ext.asyncio import", ""), path
        assert "text(" not in source, path


def test_modules_stay_small() -> None:
    for package in ("app", "matching", "geo", "notifications", "infra"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations/versions" in str(path):  # generated table definitions
                continue
            assert len(path.read_text().splitlines()) <= 400, f"{path} is over 400 lines"


# -- which package may import which ------------------------------------------------------------
OURS = {"app", "matching", "geo", "notifications", "infra"}
# Lower packages never import higher ones: matching is pure; geo and notifications are
# adapters the app composes; infra runs the private cluster and knows no domain.
MAY_IMPORT = {
    "matching": set(),
    "geo": {"matching"},
    "notifications": {"matching"},
    "infra": set(),
    "app": OURS,
}


def _python_files(package: str) -> list[Path]:
    return [p for p in (ROOT / package).rglob("*.py") if "migrations/versions" not in p.as_posix()]


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imported_modules(path: Path) -> set[str]:
    """Every module of ours a file imports, at any depth (lazy imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {m for m in found if m.split(".")[0] in OURS}


def test_packages_depend_one_way() -> None:
    for package, allowed in MAY_IMPORT.items():
        for path in _python_files(package):
            for module in _imported_modules(path):
                top = module.split(".")[0]
                assert top == package or top in allowed, f"{path} imports {module}"


def _unit(module: str) -> str:
    """The unit whose cycles count: app's subpackages and modules, or a whole lower package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "app" and len(parts) > 1 else parts[0]


def _graph() -> dict[str, set[str]]:
    known = {_module_of(p) for package in OURS for p in _python_files(package)}
    graph: dict[str, set[str]] = {}
    for package in OURS:
        for path in _python_files(package):
            source = _unit(_module_of(path))
            targets = {_unit(m) for m in _imported_modules(path) if m in known}
            graph.setdefault(source, set()).update(targets - {source})
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_between_packages() -> None:
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


_POSTGIS_CALL = re.compile(r"\bST_[A-Z][A-Za-z0-9]*\b")


def test_postgis_is_called_only_in_geo() -> None:
    """Spatial SQL lives in geo/ (migrations define columns and indexes, not queries)."""
    for package in ("app", "matching", "notifications", "infra"):
        for path in _python_files(package):
            calls = set(_POSTGIS_CALL.findall(path.read_text()))
            assert not calls, f"{path} calls {sorted(calls)}: move it to geo/"


_ROUTES = {"get", "post", "put", "patch", "delete", "head", "route", "websocket"}
MAX_HANDLER_STATEMENTS = 6  # decode, call one use case, shape the answer; no policy


def _route_handlers(path: Path) -> list[ast.AsyncFunctionDef | ast.FunctionDef]:
    def is_route(d: ast.expr) -> bool:
        target = d.func if isinstance(d, ast.Call) else d
        return isinstance(target, ast.Name) and target.id in _ROUTES

    return [
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        and any(is_route(d) for d in node.decorator_list)
    ]


def test_handlers_are_thin() -> None:
    paths = [*(ROOT / "app").rglob("controller*.py"), *(ROOT / "app").rglob("page.py")]
    handlers = [(path, h) for path in paths for h in _route_handlers(path)]
    assert len(handlers) > 50, "the handler finder lost the routes"
    for path, handler in handlers:
        body = handler.body
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        assert len(body) <= MAX_HANDLER_STATEMENTS, (
            f"{path}:{handler.lineno} {handler.name} has {len(body)} statements: "
            "move the work into its use case"
        )
