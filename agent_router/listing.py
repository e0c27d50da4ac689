"""``agent-router backends`` and ``agent-router tools``: what is configured, and is it up."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from agent_router.tables import Commands, render_table
from backends.errors import AppError

__all__ = ["add_checks", "backends_command", "tools_command"]


async def _backend_rows(names: Sequence[str]) -> list[tuple[Any, Any, Any]]:
    from backends.chat import health, model_info
    from backends.config import load_config

    config = load_config()

    async def check(name: str) -> tuple[Any, Any, Any]:
        cfg = config.backends[name]
        status = await health(cfg)
        info: object = None
        if status.reachable:
            try:
                info = await model_info(cfg)
            except (AppError, OSError, ValueError, KeyError) as exc:
                info = exc
        return cfg, status, info

    return list(await asyncio.gather(*(check(name) for name in names)))


def backends_command(args: argparse.Namespace) -> int:
    """Check every configured backend; print a table, the chains, and restart warnings."""
    from backends.config import load_config
    from backends.reload import stale_servers

    config = load_config()
    rows = asyncio.run(_backend_rows(sorted(config.backends)))
    table = []
    for cfg, status, info in rows:
        context = getattr(info, "context_length", None)
        state = ("up" if status.model_loaded else "model missing") if status.reachable else "down"
        table.append((cfg.name, cfg.kind, getattr(cfg, "base_url", "in-process"),
                      state, f"{status.latency_ms:.0f}", str(context or "-"),
                      "yes" if cfg.local else "no", status.detail[:60]))
    print(render_table(("backend", "kind", "url", "status", "ms", "context", "local", "note"),
                       table))
    print()
    for chain, members in sorted(config.chains.items()):
        print(f"chain {chain}: {' -> '.join(members)}")
    for server in stale_servers(config):
        print(f"warning: the server with pid {server.pid} (started {server.started}) read "
              f"{' and '.join(server.changed)} of {config.source} before its last edit; "
              "restart it to apply them", file=sys.stderr)
    down = {cfg.name for cfg, status, _ in rows if not status.reachable}
    first_down = sorted({m[0] for m in config.chains.values()} & down)
    if args.strict and first_down:
        print(f"error: first backend of a chain is down: {', '.join(first_down)}",
              file=sys.stderr)
        return 1
    return 0


def tools_command(args: argparse.Namespace) -> int:
    """List the registered tools: risk, network, timeout and what each does."""
    from tools.base import tool_info
    from tools.registry import TOOLS

    rows = []
    for name, tool in sorted(TOOLS.items()):
        info = tool_info(tool)
        rows.append((name, info.risk, "yes" if info.network else "no", f"{info.timeout_s:g}",
                     tool.description.split(". ")[0][:70]))
    print(render_table(("tool", "risk", "network", "timeout s", "description"), rows))
    return 0


def add_checks(commands: Commands) -> None:
    """Add ``backends`` and ``tools``."""
    backends = commands.add_parser("backends", help="check every configured backend")
    backends.add_argument("--strict", action="store_true",
                          help="exit 1 if the first backend of any chain is down")
    backends.set_defaults(run=backends_command)

    tools = commands.add_parser("tools", help="list the registered tools")
    tools.set_defaults(run=tools_command)
