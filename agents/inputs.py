"""Check a graph's input at its entry, before any model call.

A missing or mistyped field is named, with what it must be. A text longer than
``MAX_CHARS``, or than the largest context window of the chain that reads it
first, is refused with both numbers: sent on, it would only come back as an
engine's raw refusal from deep inside the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.messages.utils import count_tokens_approximately

from agents.llm import chain_backends
from backends.chat import context_window
from backends.errors import InputError

__all__ = ["MAX_CHARS", "check_fits", "newest_request", "text_field"]

MAX_CHARS = 20_000
# No backend's window is smaller (backends.toml's context_length >= 256): a text this
# short fits anywhere, and no server need be asked for its window.
SMALLEST_WINDOW = 256


def text_field(state: Mapping[str, Any], field: str) -> str:
    """Return the input's text ``field``, or raise ``InputError`` saying what it must be."""
    value = state.get(field)
    shape = f'send {{"{field}": "your text"}}, at most {MAX_CHARS} characters'
    if value is None:
        raise InputError(f"the input has no {field!r}: {shape}", field=field)
    if not isinstance(value, str):
        raise InputError(f"{field!r} must be a text, not {type(value).__name__}: {shape}",
                         field=field)
    if not value.strip():
        raise InputError(f"{field!r} is empty: {shape}", field=field)
    if len(value) > MAX_CHARS:
        raise InputError(f"{field!r} has {len(value)} characters; the limit is {MAX_CHARS}",
                         field=field)
    return value


def newest_request(messages: Any) -> str:
    """Return the text of the newest user message of a ``messages`` input."""
    shape = ('send {"messages": [{"role": "user", "content": "your text"}]}, at most '
             f"{MAX_CHARS} characters a message")
    if not isinstance(messages, Sequence) or isinstance(messages, str) or not messages:
        raise InputError(f"the input needs a non-empty 'messages' list: {shape}",
                         field="messages")
    humans = [m for m in messages if isinstance(m, HumanMessage)]
    if not humans:
        raise InputError(f"'messages' holds no user message to answer: {shape}",
                         field="messages")
    return text_field({"messages": _text(humans[-1])}, "messages")


def _text(message: BaseMessage) -> Any:
    content = message.content
    if isinstance(content, list):
        return "".join(part if isinstance(part, str) else str(part.get("text", ""))
                       for part in content)
    return content


async def check_fits(text: str, *, field: str, chain: str, key: str, local_only: bool) -> None:
    """Refuse ``text`` if it is longer than every context window of ``chain``.

    Tokens are counted approximately (about four characters a token), as the chat
    graph counts its history.
    """
    tokens = count_tokens_approximately([HumanMessage(text)])
    if tokens <= SMALLEST_WINDOW:
        return
    backends = await chain_backends(chain, key=key, local_only=local_only)
    window = max([await context_window(cfg) for cfg in backends])
    if tokens > window:
        raise InputError(
            f"{field!r} is about {tokens} tokens, more than the context window of "
            f"{key}={chain!r} ({window} tokens); shorten it, or choose a backend with a "
            "larger window", field=field)
