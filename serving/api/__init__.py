"""Serving the graphs over the LangGraph API: auth, checkpointers, and the Aegra server.

``auth`` is loaded by path from ``langgraph.auth.json`` (by `langgraph dev` and by Aegra);
``persistence`` opens the SQLite or PostgreSQL checkpointers that scripts and services
compile graphs with. The Aegra server (``agent-router serve api``): ``venv`` (its own
Python 3.12 virtualenv), ``stack`` (a local PostgreSQL and Redis), ``children`` (their
process groups), ``aegra`` (settings, migration, one instance) and ``serve`` (the command).
"""

__all__: list[str] = []
