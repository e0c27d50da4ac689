"""Node logic of the agent graphs: one package per graph, what they share at the top.

``plan_execute``, ``react``, ``router`` and ``chat`` each hold their graph's state,
nodes, route functions and prompts. Shared by all of them: ``context`` (the run
settings Studio shows as a form), ``llm`` (model calls through backend chains),
``metrics``, ``sync`` (``graph.invoke`` for async nodes), ``approval``,
``toolset``, ``numbers`` (reading numbers and dates) and ``answer_check``.
"""

from agents.context import Context, run_context
from agents.metrics import NodeMetric, summarize

__all__ = ["Context", "NodeMetric", "run_context", "summarize"]
