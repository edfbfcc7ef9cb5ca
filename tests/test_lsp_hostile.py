"""Hostile input to the language server, spoken to as a real ``phasegate serve`` process
over stdio (raw bytes in, framed messages out): every request is answered, also a
malformed one, and an input that cannot be read as LSP messages any more ends the server
with exit code 2 instead of leaving it alive and deaf (docs/lsp-protocol.md, "Malformed
input")."""

from __future__ import annotations

import asyncio
import json
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

from phasegate.lsp.transport import (
    EXIT_CORRUPT_INPUT,
    MAX_CONTENT_LENGTH,
    FramingError,
    read_message,
)

pytestmark = pytest.mark.timeout(120)

SERVER = [sys.executable, "-m", "phasegate", "serve"]
WAIT = 30.0  # seconds for an answer (a loaded CI machine), never reached when all is well


def frame(obj: Any) -> bytes:
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def framed(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _read_frames(stream: IO[bytes], out: queue.Queue[dict[str, Any] | None]) -> None:
    """Parse what the server writes (strictly: the server must frame correctly)."""
    while True:
        length = None
        while True:
            line = stream.readline()
            if not line:
                out.put(None)
                return
            if line == b"\r\n":
                break
            name, _, value = line.decode("ascii").partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
        assert length is not None, "the server wrote a header block without Content-Length"
        out.put(json.loads(stream.read(length)))


class RawServer:
    """``phasegate serve`` on stdio, written to byte by byte."""

    def __init__(self, root: Path, cmd: list[str] | None = None) -> None:
        self.root = root
        self.log = open(root.parent / f"{root.name}-server.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd or SERVER, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self.eof = False
        threading.Thread(
            target=_read_frames, args=(self.proc.stdout, self.messages), daemon=True
        ).start()

    def write(self, data: bytes) -> None:
        self.stdin.write(data)
        self.stdin.flush()

    def send(self, obj: Any) -> None:
        self.write(frame(obj))

    def close_input(self) -> None:
        self.stdin.close()

    def next(self, timeout: float = WAIT) -> dict[str, Any] | None:
        """The next message (None when the server closed its output)."""
        msg = self.messages.get(timeout=timeout)
        if msg is None:
            self.eof = True
        return msg

    def answer(self, msg_id: Any, timeout: float = WAIT) -> dict[str, Any]:
        """The response with this id; notifications meanwhile are kept."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no answer to request {msg_id!r} in {timeout} s")
            try:
                msg = self.next(left)
            except queue.Empty:
                continue
            if msg is None:
                raise AssertionError(f"the server closed its output before answering {msg_id!r}")
            if "method" in msg:
                if "id" in msg:  # a request of the server's (progress, registration)
                    self.send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
                else:
                    self.notifications.append(msg)
                continue
            if msg.get("id") == msg_id:
                return msg
            raise AssertionError(f"unexpected response {msg} while waiting for {msg_id!r}")

    def request(self, msg_id: Any, method: str, params: Any = None) -> dict[str, Any]:
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return self.answer(msg_id)

    def initialize(self) -> None:
        params = {"processId": None, "rootUri": self.root.as_uri(), "capabilities": {}}
        reply = self.request(
            "init",
            "initialize",
            {**params, "initializationOptions": {"settings": {"watch": "off", "runOnOpen": False}}},
        )
        assert "result" in reply, reply
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    def wait_exit(self, timeout: float = WAIT) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the server is still running {timeout} s later (it should have exited)"
            ) from None

    def drain_notifications(self) -> list[dict[str, Any]]:
        """Every notification until the server closed its output."""
        while not self.eof:
            try:
                msg = self.next(WAIT)
            except queue.Empty:
                break
            if msg is not None and "method" in msg and "id" not in msg:
                self.notifications.append(msg)
        return self.notifications

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()


@pytest.fixture
def server(tmp_path: Path) -> Any:
    root = tmp_path / "ws"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "requirements.md").write_text("# Requirements\n\n### REQ-001: Add\n")
    s = RawServer(root)
    try:
        yield s
    finally:
        s.stop()


def assert_error(reply: dict[str, Any], code: int, *words: str) -> None:
    assert "result" not in reply, reply
    err = reply["error"]
    assert err["code"] == code, reply
    msg = err["message"]
    assert isinstance(msg, str) and msg and "\n" not in msg and "Traceback" not in msg, reply
    for w in words:
        assert w in msg, (w, reply)


def text_doc(root: Path) -> dict[str, str]:
    return {"uri": (root / "docs" / "requirements.md").as_uri()}


def test_requests_with_invalid_params_are_answered_invalid_params(server: RawServer) -> None:
    server.initialize()
    doc = text_doc(server.root)
    pos0 = {"line": 0, "character": 0}
    cases: list[tuple[str, Any, tuple[str, ...]]] = [
        (
            "textDocument/hover",
            {"textDocument": doc, "position": {"line": -1, "character": 0}},
            ("textDocument/hover", "-1", "params.position"),
        ),
        ("textDocument/hover", "x", ("params must be a JSON object",)),
        ("textDocument/hover", None, ("params must be a JSON object",)),
        (
            "textDocument/definition",
            {"textDocument": doc, "position": {"line": 0, "character": "a"}},
            ("textDocument/definition",),
        ),
        (
            "textDocument/codeAction",
            {
                "textDocument": doc,
                "range": {"start": pos0, "end": pos0},
                "context": {"diagnostics": [{"range": "x", "message": "m"}]},
            },
            ("params.context.diagnostics[0].range",),
        ),
        (
            "workspace/executeCommand",
            {"command": "phasegate.validate", "arguments": [{"phase": 3}]},
            ("'phase'",),
        ),
        ("workspace/executeCommand", {"command": "phasegate.status", "arguments": [1, 2]}, ()),
        ("workspace/executeCommand", {"command": "phasegate.report", "arguments": "x"}, ()),
        (
            "workspace/executeCommand",
            {
                "command": "phasegate.rework",
                "arguments": [{"phase": "requirements", "x": 1, "findingIds": "F1"}],
            },
            ("findingIds",),
        ),
        ("workspace/executeCommand", {"command": 5}, ()),
    ]
    for i, (method, params, words) in enumerate(cases):
        reply = server.request(100 + i, method, params)
        assert_error(reply, -32602, *words)
    # still alive, still answering
    stats = server.request("s", "phasegate/stats")
    assert "busy" in stats["result"]


def test_malformed_messages_are_answered_and_the_server_carries_on(server: RawServer) -> None:
    server.initialize()
    server.write(framed(b"{not json"))
    assert_error(server.answer(None), -32700, "not valid JSON")
    server.write(framed(b"\xff\xfe{}"))
    assert_error(server.answer(None), -32700, "UTF-8")
    server.write(framed(b"[" * 100_000 + b"]" * 100_000))
    assert_error(server.answer(None), -32700)
    server.write(framed(b""))  # an empty body is framed correctly: a parse error
    assert_error(server.answer(None), -32700)
    server.send([{"jsonrpc": "2.0", "id": 1, "method": "phasegate/stats"}])
    assert_error(server.answer(None), -32600, "batches")
    server.send({"id": 7, "method": "phasegate/stats"})
    assert_error(server.answer(7), -32600, "jsonrpc")
    server.send({"jsonrpc": "2.0", "id": 1.5, "method": "phasegate/stats"})
    assert_error(server.answer(None), -32600, "id")
    server.send({"jsonrpc": "2.0", "id": None, "method": "phasegate/stats"})
    assert_error(server.answer(None), -32600, "id")
    server.send({"jsonrpc": "2.0", "id": 8, "method": 5})
    assert_error(server.answer(8), -32600, "method")
    server.send(
        {
            "jsonrpc": "2.0",
            "id": 9,
            "method": "textDocument/didSave",
            "params": {"textDocument": text_doc(server.root)},
        }
    )
    assert_error(server.answer(9), -32600, "notification")
    server.send({"jsonrpc": "2.0", "id": 10, "method": "no/such/method"})
    assert_error(server.answer(10), -32601)
    # notifications with bad params are dropped (never answered), and nothing breaks
    server.send({"jsonrpc": "2.0", "method": "textDocument/didSave", "params": "x"})
    server.send({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": [1]}})
    server.send({"jsonrpc": "2.0", "method": "textDocument/hover", "params": {}})
    server.send({"jsonrpc": "2.0", "id": 11, "result": 1})  # a response nobody asked for
    reply = server.request(12, "phasegate/stats")
    assert "busy" in reply["result"]
    # after shutdown, a request is answered InvalidRequest, and exit ends the server with 0
    assert server.request(13, "shutdown")["result"] is None
    assert_error(server.request(14, "phasegate/stats"), -32600, "shutting down")
    server.send({"jsonrpc": "2.0", "method": "exit"})
    assert server.wait_exit() == 0


def test_exit_without_shutdown_exits_1(server: RawServer) -> None:
    """The LSP's rule (pygls computed the code and then exited with 0)."""
    server.initialize()
    server.send({"jsonrpc": "2.0", "method": "exit"})
    assert server.wait_exit() == 1


def test_the_input_ending_between_messages_exits_0(server: RawServer) -> None:
    server.initialize()
    server.close_input()
    assert server.wait_exit() == 0


LENIENT = [
    b"content-length: %d\r\n\r\n",  # header names are case-insensitive
    b"Content-Length:%d\r\n\r\n",  # no space
    b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: %d\r\n\r\n",
    b"Content-Length: %d\r\nX-Whatever: 1\r\n\r\n",  # an unknown header
    b"\r\n\r\nContent-Length: %d\r\n\r\n",  # empty lines between messages
    b"Content-Length: %d\n\n",  # bare newlines
    b"Content-Length: %d\r\nContent-Length: %d\r\n\r\n",  # repeated, the same
]


def test_valid_framing_variants_are_read(server: RawServer) -> None:
    for i, header in enumerate(LENIENT):
        body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "phasegate/stats"}).encode()
        n = header.count(b"%d")
        server.write(header % ((len(body),) * n) + body)
        assert "result" in server.answer(i)


CORRUPT = {
    "not a number": b"Content-Length: abc\r\n\r\n{}",
    "negative": b"Content-Length: -5\r\n\r\n{}",
    "too large": b"Content-Length: %d\r\n\r\n{}" % (MAX_CONTENT_LENGTH + 1),
    "no length": b"Content-Type: application/vscode-jsonrpc\r\n\r\n{}",
    "not a header": b'{"jsonrpc": "2.0", "id": 1, "method": "shutdown"}\r\n\r\n',
    "two lengths": b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    "binary": b"\x00\x01\x02\r\n\r\n",
}


@pytest.mark.parametrize("what", list(CORRUPT))
def test_corrupt_framing_ends_the_server_with_exit_code_2(server: RawServer, what: str) -> None:
    """The client keeps the pipe open and sends a valid request after the bad header:
    the server does not guess where the next message starts; it says why and exits."""
    server.initialize()
    assert "result" in server.request(1, "phasegate/stats")
    server.write(CORRUPT[what] + frame({"jsonrpc": "2.0", "id": 2, "method": "phasegate/stats"}))
    assert server.wait_exit() == EXIT_CORRUPT_INPUT
    logs = [
        n["params"]["message"]
        for n in server.drain_notifications()
        if n["method"] == "window/logMessage" and n["params"]["type"] == 1
    ]
    assert any("unreadable input" in m and "exits with code 2" in m for m in logs), logs


def test_a_message_cut_short_by_the_end_of_the_input_exits_2(server: RawServer) -> None:
    server.initialize()
    assert "result" in server.request(1, "phasegate/stats")
    server.write(b'Content-Length: 500\r\n\r\n{"jsonrpc": "2.0", "id": 2')
    server.close_input()
    assert server.wait_exit() == EXIT_CORRUPT_INPUT


def test_the_input_ending_inside_a_header_exits_2(server: RawServer) -> None:
    server.initialize()
    server.write(b"Content-Length: 20\r\n")
    server.close_input()
    assert server.wait_exit() == EXIT_CORRUPT_INPUT


def test_corrupt_framing_over_tcp_ends_the_server_with_exit_code_2(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    proc = subprocess.Popen(
        [*SERVER, "--tcp", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + WAIT
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with conn:
            conn.sendall(frame({"jsonrpc": "2.0", "id": 1, "method": "phasegate/stats"}))
            conn.sendall(b"Content-Length: abc\r\n\r\n{}")
            assert proc.wait(WAIT) == EXIT_CORRUPT_INPUT
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


# -- the reader itself (no process) --------------------------------------------------------
class MemoryReader:
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def readline(self, limit: int) -> bytes:
        i = self.data.find(b"\n", 0, limit)
        n = limit if i < 0 else i + 1
        line, self.data = self.data[:n], self.data[n:]
        return line

    async def read(self, n: int) -> bytes:
        chunk, self.data = self.data[:n], self.data[n:]
        return chunk


def _read_all(data: bytes) -> list[bytes]:
    async def main() -> list[bytes]:
        reader = MemoryReader(data)
        out = []
        while (body := await read_message(reader)) is not None:
            out.append(body)
        return out

    return asyncio.run(main())


def test_reader_reads_messages_back_to_back() -> None:
    a, b = b'{"a": 1}', b'{"b": "\xc3\xa9"}'  # the length counts bytes, not characters
    assert _read_all(framed(a) + framed(b) + b"\r\n" + framed(b"")) == [a, b, b""]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"Content-Length: 1x\r\n\r\n{}", "invalid Content-Length"),
        (b"Content-Length: \r\n\r\n", "invalid Content-Length"),
        (b"Content-Length: 12345678901234\r\n\r\n", "invalid Content-Length"),
        (b"X: 1\r\n\r\n{}", "no Content-Length"),
        (b"Content-Length: 4\r\n\r\n{}", "2 bytes short"),
        (b"Content-Length: 4\r\n", "ended inside a message header"),
        (b"Content-Len", "ended inside a header line"),
        (b"A" * 10_000, "longer than"),
        (b"".join(b"X-%d: 1\r\n" % i for i in range(40)) + b"\r\n", "more than 32 lines"),
        (b": 1\r\n\r\n", "not a message header"),
    ],
)
def test_reader_refuses_corrupt_framing(data: bytes, words: str) -> None:
    with pytest.raises(FramingError, match=words):
        _read_all(data)
