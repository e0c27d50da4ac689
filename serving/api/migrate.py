"""Bring a database to what Aegra needs, once, before any instance starts.

Run under the Python of Aegra's virtualenv (``serving.api.aegra.migrate`` does, and so
do the systemd unit and the Compose file in ``deploy/``)::

    PYTHONPATH=<checkout> <aegra-venv>/bin/python -m serving.api.migrate

with the instances' environment (``DATABASE_URL``, ``AEGRA_CONFIG``). It does three things:

1. ``aegra db upgrade``: Aegra's own tables, through Alembic, to the head revision.
2. LangGraph's checkpoint and store tables, and
3. the default assistant of each graph in ``AEGRA_CONFIG``.

Aegra writes (2) and (3) when an instance starts, not in its migration, and two
instances starting at once on a new database both try to write them. With Aegra 0.11.0
one of them then fails: ``UniqueViolation`` on ``pg_type`` (and the instance hangs
instead of exiting) or on ``assistant_pkey`` (it exits). Writing them here, through
Aegra's own start-up code, leaves the instances nothing to create.

All three are safe to repeat. Nothing from this project is imported: the module only
drives ``aegra_api``, which exists in Aegra's virtualenv alone.
"""

from __future__ import annotations

import asyncio

__all__ = ["main"]


async def _first_start_writes() -> None:
    from aegra_api.core.database import db_manager
    from aegra_api.services.langgraph_service import get_langgraph_service

    # The checkpointer's and the store's setup(), with the store index of AEGRA_CONFIG.
    await db_manager.initialize()
    try:
        # Loads the graphs of AEGRA_CONFIG and writes their default assistants.
        await get_langgraph_service().initialize()
    finally:
        await db_manager.close()


def main() -> None:
    """Migrate Aegra's schema, then write what an instance's first start would."""
    from aegra_api.core.migrations import run_migrations

    run_migrations()
    asyncio.run(_first_start_writes())
    print("Database ready: Aegra's schema, LangGraph's checkpoint and store tables, and "
          "the graphs' default assistants.")


if __name__ == "__main__":
    main()
