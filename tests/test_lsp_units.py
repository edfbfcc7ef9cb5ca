"""Units of the language server that need no client: settings, positions, the serve
command over TCP."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from phasegate.lsp.diagnostics import LineMap
from phasegate.lsp.settings import parse_settings
from phasegate.model import Range


def test_settings_defaults_and_bad_values() -> None:
    s = parse_settings(None)
    assert s.trusted is True and s.debounce == 0.15 and s.watch == "auto"
    s = parse_settings(
        {
            "trusted": False,
            "interpreter": "/usr/bin/python3",
            "settings": {"debounceMs": 50, "diagnosticsMode": "pull", "watch": "server"},
        }
    )
    assert (s.trusted, s.interpreter, s.debounce) == (False, "/usr/bin/python3", 0.05)
    assert (s.diagnostics_mode, s.watch) == ("pull", "server")
    s = parse_settings({"trusted": "yes", "settings": {"watch": "sometimes", "debounceMs": -4}})
    assert s.trusted is True and s.watch == "auto" and s.debounce == 0.0
    assert any("trusted" in w for w in s.warnings) and any("watch" in w for w in s.warnings)
    assert parse_settings([1, 2]).warnings


class Utf16:
    @staticmethod
    def client_num_units(text: str) -> int:
        return sum(2 if ord(c) > 0xFFFF else 1 for c in text)


def test_line_map_clamps_and_converts_to_client_units() -> None:
    lm = LineMap("a😀b\nxy\n", Utf16())
    # end of line (the engine's 10_000) and a line past the end are clamped
    r = lm.range(Range.lines(0))
    assert (r.start.character, r.end.character) == (0, 4)  # the emoji is 2 UTF-16 units
    r = lm.range(Range.span(0, 2, 0, 3))
    assert (r.start.character, r.end.character) == (3, 4)
    r = lm.range(Range.lines(40))
    assert (r.start.line, r.start.character) == (2, 0)
    assert lm.range(Range.span(1, 5, 1, 1)).end.character == 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _rpc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, msg: dict) -> dict:
    body = json.dumps(msg).encode()
    writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    while True:
        header = await reader.readuntil(b"\r\n\r\n")
        length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
        reply = json.loads(await reader.readexactly(length))
        if reply.get("id") == msg["id"]:
            return reply


@pytest.mark.timeout(60)
async def test_serve_over_tcp(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "phasegate", "serve", "--tcp", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            raise AssertionError("the server did not listen")
        init = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}},
        }
        reply = await asyncio.wait_for(_rpc(reader, writer, init), 30)
        caps = reply["result"]["capabilities"]
        assert reply["result"]["serverInfo"]["name"] == "phasegate"
        assert "phasegate.status" in caps["executeCommandProvider"]["commands"]
        assert caps["codeActionProvider"] and caps["hoverProvider"]
        writer.close()
    finally:
        proc.kill()
        proc.wait()
