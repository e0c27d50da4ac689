"""Wiring changes show up in review as a diff of the Mermaid drawing."""

from pathlib import Path

import pytest

from graphs.chat import graph as chat
from graphs.plan_execute import graph as plan_execute
from graphs.react_agent import graph as react_agent
from graphs.router import graph as router

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize(("name", "graph"), [("chat", chat), ("plan_execute", plan_execute),
                                             ("react_agent", react_agent), ("router", router)])
def test_drawing_matches_snapshot(name, graph):
    drawing = graph.get_graph().draw_mermaid()
    expected = (SNAPSHOTS / f"{name}.mmd").read_text()
    assert drawing == expected, f"update tests/unit/snapshots/{name}.mmd if the change is meant"
