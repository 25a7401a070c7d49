"""A scripted Anthropic Messages API on 127.0.0.1, for the real ``anthropic`` client.

Tests queue responses; each ``POST /v1/messages`` takes the next one (or ``default`` when
the queue is empty) and records the request body, so a test can assert on what was sent:
how many calls, which turns, which headers. Responses are plain JSON (no streaming).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ids = itertools.count(1)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # a dict is sent as JSON, a str as it is (broken JSON on purpose)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def message(
    *content: dict[str, Any],
    stop_reason: str = "tool_use",
    input_tokens: int = 100,
    output_tokens: int = 50,
    cache_write: int = 0,
    cache_read: int = 0,
) -> Reply:
    return Reply(
        body={
            "id": f"msg_{next(_ids):06d}",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": list(content),
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cache_creation_input_tokens": cache_write,
                "cache_read_input_tokens": cache_read,
            },
        }
    )


def tool(name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": f"toolu_{next(_ids):06d}", "name": name, "input": arguments}


def text(words: str) -> dict[str, Any]:
    return {"type": "text", "text": words}


def error(status: int, kind: str = "api_error", retry_after: float | None = None) -> Reply:
    headers = {} if retry_after is None else {"retry-after-ms": f"{retry_after * 1000:.0f}"}
    body = {"type": "error", "error": {"type": kind, "message": f"scripted {status}"}}
    return Reply(status=status, body=body, headers=headers)


class MessagesAPI:
    def __init__(self) -> None:
        self.queue: list[Reply] = []
        self.default: Reply = error(500)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Condition()
        self._closed = threading.Event()  # wakes a reply still waiting out its delay
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # Handler threads are joined by close(): a hanging reply must not write into a closed
        # connection later and print its traceback into whichever test runs by then.
        self._server.daemon_threads = False
        self._server.block_on_close = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self.queue.extend(replies)

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            self._lock.notify_all()
            return self.queue.pop(0) if self.queue else self.default

    def wait_for_requests(self, count: int, timeout: float = 20.0) -> None:
        """Block (in a worker thread) until ``count`` requests have arrived."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.requests) >= count, timeout):
                raise TimeoutError(f"{len(self.requests)} of {count} requests arrived")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

            def do_POST(self) -> None:
                size = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(size)
                if self.path.split("?")[0] != "/v1/messages":
                    self.send_error(404)
                    return
                reply = api._next(json.loads(raw), {k.lower(): v for k, v in self.headers.items()})
                if reply.delay and api._closed.wait(reply.delay):
                    return  # closed while the client waited: it has gone away
                data = (
                    reply.body.encode()
                    if isinstance(reply.body, str)
                    else json.dumps(reply.body).encode()
                )
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped waiting (a daemon stopped mid-call)

        return Handler

    def start(self) -> MessagesAPI:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()


def serve() -> Iterator[MessagesAPI]:
    api = MessagesAPI().start()
    try:
        yield api
    finally:
        api.close()
