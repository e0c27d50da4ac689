"""The chat graph's state, node, history trimming and prompt."""

from agents.chat.history import history_budget, trim_history
from agents.chat.nodes import write_reply
from agents.chat.state import ChatInput, ChatOutput, ChatState

__all__ = [
    "ChatInput",
    "ChatOutput",
    "ChatState",
    "history_budget",
    "trim_history",
    "write_reply",
]
