"""Chat with memory: one node answers each new message of a thread.

START -> write_reply -> END

Memory comes from the checkpointer: the LangGraph server brings its own, and
``serving.api.persistence`` compiles ``build_chat()`` with a SQLite file for scripts.
The module-level ``graph`` has none, so on its own each call starts a new conversation.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agents.chat import ChatInput, ChatOutput, ChatState, write_reply
from agents.context import Context
from agents.sync import sync_and_async

__all__ = ["build_chat", "graph"]

ChatBuilder = StateGraph[ChatState, Context, ChatInput, ChatOutput]


def build_chat() -> ChatBuilder:
    """Return the uncompiled chat graph."""
    builder = StateGraph(ChatState, context_schema=Context, input_schema=ChatInput,
                         output_schema=ChatOutput)
    builder.add_node("write_reply", sync_and_async(write_reply))
    builder.add_edge(START, "write_reply")
    builder.add_edge("write_reply", END)
    return builder


# One reply per turn: anything past a handful of supersteps is a bug.
RECURSION_LIMIT = 5

graph = build_chat().compile(name="chat").with_config(recursion_limit=RECURSION_LIMIT)
