"""A local server speaking the OpenAI chat-completions wire protocol, scripted per test.

``POST /v1/chat/completions`` takes the same JSON request as OpenAI's API and answers with
the same JSON response (or OpenAI-shaped error bodies), on 127.0.0.1 and a random port,
from a stdlib ``http.server`` in a thread. Each request takes the next scripted
:class:`Reply`; every request body is kept for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str | None = None  # the assistant message content
    status: int = 200
    error: str = ""  # message of an error body (status >= 400)
    delay: float = 0.0  # seconds to wait before answering
    raw: bytes | None = None  # send these bytes as the body instead
    finish_reason: str = "stop"
    reject_response_format: bool = False  # 400 when response_format is sent


@dataclass
class LLMServer:
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    port: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def next_reply(self) -> Reply:
        if not self.replies:
            return Reply(status=500, error="no scripted reply left")
        return self.replies.pop(0)


def _completion(model: str, content: str | None, finish_reason: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        "system_fingerprint": "fp_test",
    }


def _error_body(status: int, message: str) -> dict[str, Any]:
    kind = {
        400: "invalid_request_error",
        401: "authentication_error",
        429: "rate_limit_exceeded",
    }.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


def _handler(server: LLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, json.dumps(_error_body(404, "not found")).encode())
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._send(400, json.dumps(_error_body(400, "invalid JSON body")).encode())
                return
            server.requests.append(body)
            server.headers.append({k.lower(): v for k, v in self.headers.items()})
            reply = server.next_reply()
            if reply.delay:
                server._stop.wait(reply.delay)
            if reply.reject_response_format and "response_format" in body:
                msg = "response_format is not supported by this model"
                self._send(400, json.dumps(_error_body(400, msg)).encode())
                return
            if reply.raw is not None:
                self._send(reply.status, reply.raw)
                return
            if reply.status >= 400:
                extra = {"retry-after": "0"} if reply.status == 429 else None
                err = json.dumps(_error_body(reply.status, reply.error or "error")).encode()
                self._send(reply.status, err, extra)
                return
            out = _completion(str(body.get("model", "")), reply.content, reply.finish_reason)
            self._send(200, json.dumps(out).encode())

    return Handler


@contextmanager
def llm_server(*replies: Reply) -> Iterator[LLMServer]:
    """Start a scripted server on 127.0.0.1 (random port); stop it on exit."""
    state = LLMServer(replies=list(replies))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state._stop.set()  # wake sleeping handlers
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
