"""Agent backends: the interface, and the manual and scripted backends."""

from agents.base import Agent, AgentContext, Blocker, HandoffReport, TaskBrief, Validation
from agents.manual import ManualAgent
from agents.scripted import DEFAULT_SCRIPT, ScriptedAgent, ScriptError

__all__ = [
    "DEFAULT_SCRIPT",
    "Agent",
    "AgentContext",
    "Blocker",
    "HandoffReport",
    "ManualAgent",
    "ScriptError",
    "ScriptedAgent",
    "TaskBrief",
    "Validation",
]
