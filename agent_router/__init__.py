"""Command-line entry point of llm-agent-router (``agent-router``)."""

__all__: list[str] = []
