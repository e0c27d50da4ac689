"""The ``agent-router`` command line, and only that: ``cli`` parses and dispatches.

What the commands run lives in the other packages: the graphs, ``bench`` (the
benchmark), ``evals`` (the answer-quality eval) and ``serving`` (a real vLLM server).
"""

__all__: list[str] = []
