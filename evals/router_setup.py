"""The backends a router evaluation runs on: a small model, and a larger one it escalates to.

On a machine with GPU servers the larger chain is a remote server; here it is a
second embedded engine with the larger model, flagged ``local = false`` so that
it stands in for one: a sensitive request that reaches it counts as a privacy
failure, exactly as it would with a real remote server.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["LARGE_CHAIN", "write_router_backends"]

LARGE_CHAIN = "large"


def write_router_backends(folder: Path, small: str, large: str) -> Path:
    """Write the router eval's backends.toml into ``folder``; return its path.

    Args:
        folder: where the file goes (the run's own output folder).
        small: catalogue name or GGUF path of the model that routes and answers.
        large: catalogue name or GGUF path of the model escalations go to.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "backends.toml"
    path.write_text(f"""# Written by `agent-router eval --graph router`.
[chains]
planner = ["small"]
drafter = ["small"]
answer = ["small"]
{LARGE_CHAIN} = ["{LARGE_CHAIN}-model"]

[backends.small]
kind = "embedded"
timeout_s = 600
[backends.small.engine]
model_path = {json.dumps(small)}

[backends.{LARGE_CHAIN}-model]
kind = "embedded"
local = false  # stands in for a remote server: sensitive requests must never reach it
timeout_s = 900
[backends.{LARGE_CHAIN}-model.engine]
model_path = {json.dumps(large)}
""", encoding="utf-8")
    return path
