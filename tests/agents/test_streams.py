"""The stream readers on their own: the documented fields, and nothing else relied on
(docs/coding-agents.md)."""

from __future__ import annotations

from agents.streams import claude_event, claude_tokens, codex_event, codex_tokens_for_price


def test_claude_code_events() -> None:
    init = claude_event({"type": "system", "subtype": "init", "session_id": "s1", "tools": []})
    assert init.session == "s1"
    said = claude_event(
        {
            "type": "assistant",
            "message": {
                "content": [
                    {"type": "text", "text": "Line one\nline two " + "x" * 300},
                    {"type": "tool_use", "name": "Bash", "input": {"command": "make test"}},
                    {"type": "thinking", "thinking": "…"},  # not shown
                ]
            },
        }
    )
    assert said.summary.startswith("says: Line one line two x")
    assert said.summary.endswith("; tool Bash make test")
    result = claude_event(
        {
            "type": "result",
            "subtype": "error_max_turns",
            "is_error": True,
            "total_cost_usd": 0.25,
            "num_turns": 9,
            "usage": {"input_tokens": 5, "output_tokens": 7, "cache_read_input_tokens": 11},
            "new_field": {"ignored": True},
        }
    )
    assert (result.result, result.is_error, result.cost_total) == ("error_max_turns", True, 0.25)
    assert claude_tokens({"input_tokens": 5, "output_tokens": 7}) == {
        "input": 5,
        "output": 7,
        "cache_write": 0,
        "cache_read": 0,
    }
    assert claude_event({"type": "rate_limit_event"}).unknown
    assert not claude_event({"type": "stream_event", "event": {}}).unknown


def test_codex_events() -> None:
    assert codex_event({"type": "thread.started", "thread_id": "t1"}).session == "t1"
    item = {"type": "item.completed", "item": {"type": "agent_message", "text": "All done"}}
    assert (codex_event(item).summary, codex_event(item).text) == ("says: All done", "All done")
    turn = codex_event(
        {
            "type": "turn.completed",
            "usage": {
                "input_tokens": 100,
                "cached_input_tokens": 40,
                "output_tokens": 30,
                "reasoning_output_tokens": 10,
            },
        }
    )
    assert codex_tokens_for_price(turn.usage_total) == {"input": 60, "cache_read": 40, "output": 30}
    failed = codex_event({"type": "turn.failed", "error": {"message": "stream disconnected"}})
    assert failed.error == "stream disconnected"
    assert codex_event({"type": "item.started", "item": {}}).summary == ""
    assert codex_event({"type": "session.configured"}).unknown
    assert codex_event({"type": "turn.completed", "usage": "junk"}).usage_total == {
        "input": 0,
        "cache_read": 0,
        "output": 0,
        "reasoning": 0,
    }
