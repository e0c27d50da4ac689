"""Prompt text of the chat graph (the router's direct answers use it too).

Fixed text with no timestamps or ids, so every request starts with the same
bytes and the server's prefix cache reuses them.
"""

__all__ = ["CHAT_SYSTEM"]

CHAT_SYSTEM = """You are a helpful assistant running on the user's own machine.
Answer briefly and plainly."""
