"""What serves the graphs and their models, beside the graphs themselves.

``serving.vllm`` sets up, starts and stops a real vLLM server on this machine;
``serving.api`` holds the LangGraph server's own pieces (API-key auth, durable
checkpointers); ``serving.procfs`` reads a process's memory from ``/proc`` for them
and for the benchmark. Nothing here imports ``agents`` or ``graphs``.
"""

__all__: list[str] = []
