"""The tool-calling (ReAct) agent's state, nodes, actions and prompts."""

from agents.react.nodes import act, route_after_think, think
from agents.react.state import ReactInput, ReactOutput, ReactState

__all__ = ["ReactInput", "ReactOutput", "ReactState", "act", "route_after_think", "think"]
