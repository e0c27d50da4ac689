"""How much of a conversation to send: each backend's window, and the newest turns that fit.

The checkpointed state keeps the whole conversation; only what is *sent* is
trimmed. The prompt is the fixed system prompt followed by the newest whole
turns that fit the real context window of the backend it is sent to (each
backend of the chain gets its own cut), so it is always a suffix of
the history behind the same system bytes, and the server's prefix cache keeps
hitting on the system prompt (and, while nothing is dropped, on all earlier turns).

Tokens are counted with ``count_tokens_approximately`` (about four characters a
token plus a few per message), not with the server's tokenizer. The budget keeps
a safety margin for that; text that tokenizes far denser than prose (long digit
strings, non-Latin scripts) can still overflow, and then the server's refusal
arrives as ``ContextTooLong`` from the chain.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, trim_messages
from langchain_core.messages.utils import count_tokens_approximately

from agents.chat.prompts import CHAT_SYSTEM
from backends.chat import model_info
from backends.errors import BackendError, ContextTooLong, GraphConfigError
from backends.settings import BackendConfig, OllamaBackend

__all__ = ["DEFAULT_CONTEXT_LENGTH", "context_window", "history_budget", "trim_history"]

logger = logging.getLogger(__name__)

# Used when neither the server nor backends.toml states a context length.
DEFAULT_CONTEXT_LENGTH = 2048

# Real context lengths, per backend settings (hashable and frozen, so an edited
# backends.toml is asked again). Only answers from a server are cached.
_context_lengths: dict[BackendConfig, int] = {}


async def context_window(cfg: BackendConfig) -> int:
    """Return ``cfg``'s context window in tokens, as its server reports it.

    Falls back to the ``context_length`` in backends.toml, then to
    ``DEFAULT_CONTEXT_LENGTH``, when the server cannot say or cannot be reached
    (then the chain's fallback decides who answers). May start the embedded engine.
    """
    cached = _context_lengths.get(cfg)
    if cached is not None:
        return cached
    try:
        reported = (await model_info(cfg)).context_length
    except (httpx.HTTPError, BackendError, KeyError, ValueError) as exc:
        logger.warning("cannot read the context length of backend %r (%s: %s); assuming %d",
                       cfg.name, type(exc).__name__, exc,
                       cfg.context_length or DEFAULT_CONTEXT_LENGTH)
        return cfg.context_length or DEFAULT_CONTEXT_LENGTH
    if reported is None:
        return cfg.context_length or DEFAULT_CONTEXT_LENGTH
    if isinstance(cfg, OllamaBackend):
        # /api/show reports what the model was trained for; Ollama serves num_ctx.
        reported = min(reported, cfg.num_ctx)
    _context_lengths[cfg] = reported
    return reported


def history_budget(context_length: int, max_tokens: int) -> int:
    """Return the tokens the prompt may use: the window less the reply and a margin.

    The margin (an eighth of the window, at least 64 tokens) absorbs the chat
    template's own tokens and the error of the approximate token count.
    """
    return context_length - max_tokens - max(64, context_length // 8)


def trim_history(
    history: Sequence[BaseMessage], *, budget: int, backend: str, model: str | None = None,
    system: str = CHAT_SYSTEM,
) -> list[BaseMessage]:
    """Return the system prompt plus the newest whole turns of ``history`` within ``budget``.

    The kept history is a suffix of ``history`` that starts on a human message,
    so no reply is ever sent without the message it answers.

    Args:
        history: the whole conversation, oldest first.
        budget: most tokens (approximately counted) the prompt may use, system included.
        backend: the backend the prompt is for, named in the error.
        model: its model, if known, named in the error.
        system: the fixed system prompt sent first.

    Raises:
        ContextTooLong: the system prompt and the newest human message alone do not fit.
        GraphConfigError: ``history`` holds no human message.
    """
    prompt = trim_messages(
        [SystemMessage(system), *history], max_tokens=max(budget, 0),
        token_counter=count_tokens_approximately, strategy="last", include_system=True,
        start_on="human", allow_partial=False,
    )
    newest_human = max((i for i, m in enumerate(history) if isinstance(m, HumanMessage)),
                       default=None)
    if newest_human is None:
        raise GraphConfigError("the conversation has no human message to answer; send "
                               '{"messages": [{"role": "user", "content": "..."}]}',
                               key="messages")
    if len(prompt) - 1 < len(history) - newest_human:
        needed = count_tokens_approximately([SystemMessage(system), *history[newest_human:]])
        raise ContextTooLong(
            f"the newest message needs about {needed} tokens with the system prompt "
            f"(approximate count), but only {budget} fit the context window after "
            "reserving the reply and a safety margin; shorten the message, lower "
            "max_answer_tokens, or choose a chat_backend with a larger context window",
            backend=backend, model=model)
    return prompt
