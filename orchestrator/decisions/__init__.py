"""Pure decisions: functions of what is known (the plan, the journal's state, the time)
returning actions. No I/O here; the runtime applies what they return."""

__all__ = ["actions", "checklist", "go_no_go", "retro", "scheduler", "triage", "verdicts"]
