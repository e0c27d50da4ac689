"""Dependencies point one way, and no two packages import each other.

    agent_router (the command) -> evals, bench, serving, graphs, ...
    evals -> bench (the commit a run records), graphs, agents, backends
    bench -> serving (a real vLLM, /proc), agents (our layer's overhead), backends
    serving -> backends
    graphs -> agents -> backends/tools

Every module is parsed, not imported, so an import hidden inside a function body
counts as much as one at the top of the file.
"""

import ast
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The installed top-level packages, as pyproject.toml ships them.
PACKAGES = sorted(
    pattern.rstrip("*") for pattern in tomllib.loads(
        (ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
)

# Each layer, and the top-level packages it must never import.
FORBIDDEN = {
    "agents": {"graphs", "agent_router", "bench", "evals", "serving"},
    "backends": {"graphs", "agent_router", "agents", "bench", "evals", "serving"},
    "tools": {"graphs", "agent_router", "agents", "bench", "evals", "serving"},
    "graphs": {"agent_router", "bench", "evals", "serving"},
    "serving": {"agents", "graphs", "agent_router", "bench", "evals"},
    "bench": {"agent_router", "evals", "graphs"},
    "evals": {"agent_router"},
}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """Return (line, top-level package) for each absolute import in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def package_imports() -> dict[str, dict[str, list[str]]]:
    """Map each package to the other packages it imports, each with where (file:line)."""
    graph: dict[str, dict[str, list[str]]] = {package: {} for package in PACKAGES}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, imported in imported_packages(path):
                if imported in graph and imported != package:
                    graph[package].setdefault(imported, []).append(
                        f"{path.relative_to(ROOT)}:{line}")
    return graph


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """Return one cycle as ``[a, b, ..., a]``, or None when the graph has none."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                return [*path[path.index(nxt):], nxt]
            if nxt not in done:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def test_every_layer_named_is_a_shipped_package():
    assert set(FORBIDDEN) <= set(PACKAGES)
    assert all((ROOT / package / "__init__.py").is_file() for package in PACKAGES), PACKAGES


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_never_imports_the_layers_above_it(layer):
    modules = sorted((ROOT / layer).rglob("*.py"))
    assert modules, f"no modules found under {layer}/"
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {package}"
        for path in modules
        for line, package in imported_packages(path)
        if package in FORBIDDEN[layer]
    ]
    assert upward == [], (f"{layer}/ must not import {sorted(FORBIDDEN[layer])}; "
                          "dependencies point one way (see this module's docstring)")


def test_no_packages_import_each_other_even_through_others():
    graph = package_imports()
    cycle = find_cycle(graph)
    assert cycle is None, (
        "import cycle between packages: " + " -> ".join(cycle) + "; "
        + "; ".join(f"{a} imports {b} at {', '.join(graph[a][b])}"
                    for a, b in zip(cycle, cycle[1:], strict=False)))


def test_the_cycle_check_names_the_cycle():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"cli": ["bench"], "bench": ["cli"]}) == ["bench", "cli", "bench"]
    assert find_cycle({"cli": ["bench", "serving"], "bench": ["serving"], "serving": []}) is None


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "node.py"
    module.write_text("def node():\n    from graphs.plan_execute import graph\n")
    assert imported_packages(module) == [(2, "graphs")]


# Each graph's package under agents/, and the arrows allowed between them: the
# router's direct answers use the chat graph's prompt.
GRAPH_PACKAGES = ("plan_execute", "react", "router", "chat")
BETWEEN_GRAPHS = {("router", "chat")}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Return (line, dotted module) for each absolute import in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def agents_part(module: str) -> str | None:
    """Return the graph package of an ``agents`` module, ``shared`` for the rest, else None."""
    parts = module.split(".")
    if parts[0] != "agents":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in GRAPH_PACKAGES else "shared"


def test_every_graph_has_its_own_package_under_agents():
    for package in GRAPH_PACKAGES:
        assert (ROOT / "agents" / package / "__init__.py").is_file()
        assert (ROOT / "agents" / package / "state.py").is_file(), f"{package} keeps its state"


def test_graph_packages_use_the_shared_modules_and_each_other_only_one_way():
    wrong = []
    for path in sorted((ROOT / "agents").rglob("*.py")):
        here = agents_part(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for line, module in imported_modules(path):
            there = agents_part(module)
            if there in (None, "shared", here):
                continue
            if here == "shared" or (here, there) not in BETWEEN_GRAPHS:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({here}) imports {module}")
    assert wrong == [], "shared agents modules import no graph package, and graph packages " \
                        f"import each other only along {sorted(BETWEEN_GRAPHS)}"


@pytest.mark.parametrize("layer", ["agents", "graphs", "backends", "tools", "agent_router",
                                   "bench", "evals", "serving", "scripts"])
def test_modules_and_functions_stay_small(layer):
    too_big = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        source = path.read_text()
        if len(source.splitlines()) > 300:
            too_big.append(f"{path.relative_to(ROOT)}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) \
                    and node.end_lineno and node.end_lineno - node.lineno >= 50:
                too_big.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: "
                               f"{node.end_lineno - node.lineno + 1} lines")
    assert too_big == [], "the style's limits: 300 lines a module, 50 a function"
