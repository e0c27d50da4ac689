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
