"""Bring a database to what Aegra needs, once, before any instance starts.

Run under the Python of Aegra's virtualenv (``serving.api.aegra.migrate`` does, and so
do the systemd unit and the Compose file in ``deploy/``)::

    .venv-aegra/bin/python -m serving.api.migrate

with the instances' environment (``DATABASE_URL``, ``AEGRA_CONFIG``). It does two things:

1. ``aegra db upgrade``: Aegra's own tables, through Alembic, to the head revision.
2. LangGraph's checkpoint and store tables. Aegra creates these when an instance
   starts, not in its migration, and two instances starting at once on a new database
   both try to create them. One then fails with ``UniqueViolation`` on ``pg_type`` and
   hangs instead of exiting (seen with Aegra 0.11.0). Creating them here, through
   Aegra's own start-up code, leaves the instances nothing to create.

Both steps are safe to repeat. Nothing from this project is imported: the module only
drives ``aegra_api``, which exists in Aegra's virtualenv alone.
"""

from __future__ import annotations

import asyncio

__all__ = ["main"]


async def _create_langgraph_tables() -> None:
    from aegra_api.core.database import db_manager

    # The checkpointer's and the store's setup(), with the store index of AEGRA_CONFIG.
    await db_manager.initialize()
    await db_manager.close()


def main() -> None:
    """Migrate Aegra's schema, then create LangGraph's tables."""
    from aegra_api.core.migrations import run_migrations

    run_migrations()
    asyncio.run(_create_langgraph_tables())
    print("Database upgraded: Aegra's schema and LangGraph's checkpoint and store tables.")


if __name__ == "__main__":
    main()
