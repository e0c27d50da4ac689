"""The LangGraph server's own pieces: API-key auth and durable checkpointers.

``auth`` is loaded by path from ``langgraph.auth.json``; ``persistence`` opens the
SQLite or PostgreSQL checkpointers that scripts and services compile graphs with.
"""

__all__: list[str] = []
