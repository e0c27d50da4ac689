"""Answer quality: the project's question set run through a graph, scored and reported.

``agent-router eval`` (``make eval``) runs ``cli``: ``questions`` loads the set
(``questions.jsonl``), ``run`` runs it for each k, ``score`` checks each answer against
the expected values and the tool results, ``report`` writes ``results.json`` and
``report.md``, ``meta`` records the backends and models it ran on.
"""

__all__: list[str] = []
