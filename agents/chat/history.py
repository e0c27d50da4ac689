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

from collections.abc import Sequence

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, trim_messages
from langchain_core.messages.utils import count_tokens_approximately

from agents.chat.prompts import CHAT_SYSTEM
from backends.errors import ContextTooLong, GraphConfigError

__all__ = ["history_budget", "trim_history"]

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
