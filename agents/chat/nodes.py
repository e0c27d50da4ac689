"""Node of the chat graph: answer the newest message with as much history as fits.

The checkpointed state keeps the whole conversation; only what is *sent* is
trimmed, for each backend the chain tries (``agents.chat.history``).
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agents.chat.history import history_budget, trim_history
from agents.chat.state import ChatState
from agents.context import Context, run_context
from agents.inputs import check_fits, newest_request
from agents.llm import call_model
from agents.metrics import summarize
from backends.chat import context_window
from backends.settings import BackendConfig, GenerationParams

__all__ = ["write_reply"]


async def write_reply(state: ChatState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Answer the newest message on the chat chain, with the history that fits."""
    context = run_context(runtime.context)
    request = newest_request(state.get("messages"))
    await check_fits(request, field="messages", chain=context.chat_backend, key="chat_backend",
                     local_only=context.local_only)
    history = state["messages"]
    writer = get_stream_writer()

    async def prompt_for(cfg: BackendConfig) -> list[BaseMessage]:
        # Trimmed for each backend the chain tries, so a fallback to a smaller
        # window sends less history instead of failing on a prompt sized for another.
        budget = history_budget(await context_window(cfg), context.max_answer_tokens)
        prompt = trim_history(history, budget=budget, backend=cfg.name,
                              model=getattr(cfg, "model", None))
        dropped = len(history) - (len(prompt) - 1)
        if dropped:
            writer({"event": "history_trimmed", "backend": cfg.name, "budget": budget,
                    "sent": len(prompt) - 1, "dropped": dropped})
        return prompt

    reply, metric = await call_model(
        "write_reply", chain=context.chat_backend, key="chat_backend",
        params=GenerationParams(temperature=context.temperature,
                                max_tokens=context.max_answer_tokens),
        messages=prompt_for, local_only=context.local_only,
    )
    summary = summarize([*state.get("metrics", []), metric])
    return {"messages": [reply], "metrics": [metric], "summary": summary}
