"""Pick the planner's worked examples that are most like the question.

A small model copies the example nearest its question (which tool, how many
steps) far more readily than it follows a description: with only the fixed
examples, SmolLM2-135M planned 1 of 8 dev unit questions on ``unit_convert``,
with the two most similar also shown, 7 of 8. So ``write_plan`` sends the
closest examples as exchanges after the fixed system prompt, which stays
byte-stable for the prefix cache. Similarity is TF-IDF cosine over words, operators
and adjacent pairs of them, every number folded into one token: deterministic, cheap
and the same on every backend. It only picks what the model is shown; the plan is
the model's.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import pairwise

from agents.plan_execute.worked_examples import PLANNER_EXAMPLES, PLANNER_EXTRA_EXAMPLES, Example

__all__ = ["enabled_examples", "nearest_examples"]

_WORD = re.compile(r"\d[\d,.]*|[^\W\d_]+|[-+*/%$°]")


def _terms(text: str) -> set[str]:
    words = ["#" if w[0].isdigit() else w for w in _WORD.findall(text.casefold())]
    return set(words) | {f"{a} {b}" for a, b in pairwise(words)}


def _vector(terms: set[str], idf: dict[str, float]) -> dict[str, float]:
    # A term no example has says nothing about which example is closer.
    weights = {t: idf[t] for t in terms if t in idf}
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    return {t: w / norm for t, w in weights.items()}


def enabled_examples(examples: Iterable[Example], tool_names: Iterable[str]
                     ) -> tuple[Example, ...]:
    """Return the examples whose every tool is enabled: the model copies what it is shown."""
    enabled = set(tool_names)
    return tuple(example for example in examples
                 if {step["tool"] for step in example[1]} <= enabled)


@lru_cache(maxsize=64)
def _index(tool_names: tuple[str, ...]
           ) -> tuple[tuple[Example, ...], tuple[dict[str, float], ...], dict[str, float]]:
    pool = enabled_examples((*PLANNER_EXAMPLES, *PLANNER_EXTRA_EXAMPLES), tool_names)
    terms = [_terms(question) for question, _ in pool]
    counts = Counter(t for example_terms in terms for t in example_terms)
    idf = {t: math.log((1 + len(pool)) / (1 + c)) + 1.0 for t, c in counts.items()}
    return pool, tuple(_vector(t, idf) for t in terms), idf


def nearest_examples(question: str, tool_names: Sequence[str], count: int) -> list[Example]:
    """Return the ``count`` examples most like ``question``, the most similar last.

    Only examples whose tools are all in ``tool_names`` are candidates, and none with
    more steps than the closest one. Ties keep the examples' own order, so the same
    question always gets the same examples.
    """
    pool, vectors, idf = _index(tuple(sorted(tool_names)))
    if count <= 0 or not pool:
        return []
    query = _vector(_terms(question), idf)
    scores = [sum(w * vector.get(t, 0.0) for t, w in query.items()) for vector in vectors]
    ranked = sorted(range(len(pool)), key=lambda i: (-scores[i], i))
    # The model copies the number of steps of any example it is shown, so a question
    # whose closest example has one step is shown no longer plan.
    most_steps = len(pool[ranked[0]][1])
    chosen = [i for i in ranked if len(pool[i][1]) <= most_steps][:count]
    return [pool[i] for i in reversed(chosen)]
