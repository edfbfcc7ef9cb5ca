"""Units of the language server that need no client: settings, positions, the serve
command over TCP."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def test_a_one_file_change_publishes_findings_before_rescoring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first stage re-analyses the changed file only (its findings, no result); the
    second re-scores the check over all its files — the part that grows with the
    workspace — and is what updates the score."""
    from phasegate.live.engine import Engine
    from phasegate.lsp.settings import Settings
    from phasegate.proc import CancelToken

    for i in range(30):
        (tmp_path / f"m{i}.py").write_text(f"def f{i}() -> int:\n    return {i}\n")
    eng = Engine(tmp_path, Settings())
    assert eng.load_config() and eng.live is not None
    live = eng.live
    (rc,) = [rc for rc in live.checks.values() if rc.config.id == "IMPL-STUB"]
    live.commit(live.compute(rc, None, CancelToken()))
    before = live.results[rc.key]
    assert before.score == 1.0 and not before.findings

    scored: list[int] = []
    score_files = rc.check.score_files

    def counting(ctx: Any, per_file: dict[str, Any]) -> Any:
        scored.append(len(per_file))
        return score_files(ctx, per_file)

    monkeypatch.setattr(rc.check, "score_files", counting)
    (tmp_path / "m3.py").write_text("def f3() -> int:\n    pass\n")
    eng.workspace.notify_changed({"m3.py"})
    first, pending = live.analyse_changes(rc, {"m3.py"}, CancelToken())
    assert scored == []  # nothing scored over the 30 files yet
    assert first.result is None and pending is not None
    assert list(first.contributions) == ["m3.py"] and first.analysed == 1
    assert live.commit(first) == {"m3.py"}
    assert [f.code for _rc, f in live.findings_for("m3.py")] == ["IMPL-STUB"]
    assert live.results[rc.key] is before  # the score follows in the second stage
    final = live.rescore(pending, CancelToken())
    assert scored == [30]
    assert final.result is not None and final.result.score < 1.0
    assert live.commit(final) == set()  # no finding moved: nothing to republish
    assert live.results[rc.key] is final.result
    assert [f.path for f in final.result.findings] == ["m3.py"]
