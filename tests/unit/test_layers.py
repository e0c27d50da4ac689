"""Dependencies point one way: graphs -> agents -> backends/tools.

Every module is parsed, not imported, so an import hidden inside a function body
counts as much as one at the top of the file.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Each layer, and the top-level packages it must never import.
FORBIDDEN = {
    "agents": {"graphs", "agent_router"},
    "backends": {"graphs", "agent_router", "agents"},
    "tools": {"graphs", "agent_router", "agents"},
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
                          "pass the dependency in from graphs/ instead")


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


@pytest.mark.parametrize("layer", ["agents", "graphs"])
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
