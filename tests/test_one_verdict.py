"""One verdict on every surface.

One workspace (a copy of the bundled example, whose gates fail with findings of several
checks) is judged by the four faces over the engine: ``phasegate validate``, the
language server's diagnostics, the MCP server's ``validate``/``findings`` tools and the
agent hook. They must agree on the set of (check, path, line) and on each gate's verdict
and threshold. The workspace is judged untrusted everywhere, so exactly the checks that
run no workspace code are compared (the editor runs only those on open).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_lsp_helpers import start

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "taskboard"

pytestmark = pytest.mark.timeout(600)

Key = tuple[str, str, int]  # check, workspace-relative path, 1-based line


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("verdict") / "taskboard"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".phasegate"))
    return root


def cli_json(root: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "phasegate",
            "validate",
            str(root),
            "--untrusted",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr  # the example's gates fail
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def keys_of(doc: dict[str, Any]) -> set[Key]:
    """The findings on files that exist (a missing document's finding is shown on
    another file by the editor: compared apart)."""
    root = Path(doc["workspace"])
    return {
        (c["id"], f["path"], f["range"]["start"]["line"] + 1)
        for ph in doc["phases"]
        for c in ph["checks"]
        for f in c["findings"]
        if (root / f["path"]).is_file()
    }


def gates_of(doc: dict[str, Any]) -> dict[str, tuple[str, float]]:
    return {ph["name"]: (ph["status"], ph["threshold"]) for ph in doc["phases"]}


@pytest.fixture(scope="module")
def cli(workspace: Path) -> dict[str, Any]:
    return cli_json(workspace)


async def test_the_language_server_shows_the_same_findings(
    workspace: Path, cli: dict[str, Any]
) -> None:
    expected = keys_of(cli)
    paths = {p for _c, p, _l in expected}
    async with start(workspace, options={"trusted": False, "settings": {"watch": "off"}}) as s:
        await s.settle(timeout=300)
        shown = {
            (str(d.code), rel, d.range.start.line + 1)
            for rel in paths
            for d in s.diags(rel)
            if not d.message.startswith(f"{rel}: ")  # not a missing-file finding
        }
    assert shown == expected


def mcp_call(root: Path, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Call MCP tools on ``phasegate mcp --untrusted`` with the SDK's own stdio client."""
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    async def main() -> list[Any]:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "phasegate", "mcp", "--workspace", str(root), "--untrusted"],
            env=dict(os.environ),
        )
        out: list[Any] = []
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            for name, args in calls:
                result = await session.call_tool(name, args)
                assert not result.is_error, result.content
                out.append(result.structured_content)
        return out

    return anyio.run(main)


def test_the_mcp_server_gives_the_same_verdict(workspace: Path, cli: dict[str, Any]) -> None:
    pytest.importorskip("mcp")
    validated, found = mcp_call(workspace, [("validate", {}), ("findings", {"limit": 10_000})])
    assert keys_of(validated) == keys_of(cli)
    assert gates_of(validated) == gates_of(cli)
    items = found["findings"]
    assert not found["truncated"]
    assert {
        (f["check"], f["path"], f["range"]["start"]["line"] + 1)
        for f in items
        if (workspace / f["path"]).is_file()
    } == keys_of(cli)


def run_hook(root: Path, event: dict[str, Any], *args: str) -> dict[str, Any] | None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PROJECT_DIR")}
    proc = subprocess.run(
        [sys.executable, "-m", "phasegate", "hook", "--untrusted", *args],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    out = proc.stdout.strip()
    return json.loads(out) if out else None


LINE = re.compile(r"^- (?P<path>[^:]+):(?P<line>\d+):\d+: (?P<code>[A-Z][A-Z0-9-]*) ", re.M)


def test_the_hook_reports_the_same_findings_and_gate(workspace: Path, cli: dict[str, Any]) -> None:
    expected = keys_of(cli)
    py_files = sorted({p for _c, p, _l in expected if p.endswith(".py")})
    assert py_files, "the example has Python findings"
    for rel in py_files:
        event = {
            "session_id": "verdict",
            "cwd": str(workspace),
            "hook_event_name": "PostToolUse",
            "tool_name": "Edit",
            "tool_input": {"file_path": str(workspace / rel), "old_string": "", "new_string": ""},
            "tool_response": {"filePath": str(workspace / rel), "success": True},
        }
        answer = run_hook(workspace, event)
        assert answer is not None, f"the hook said nothing about {rel}"
        text = answer["hookSpecificOutput"]["additionalContext"]
        reported = {(m["code"], m["path"], int(m["line"])) for m in LINE.finditer(text)}
        # the hook runs the fast checks of the edited file: each of its findings is the
        # CLI's, and it reports every CLI finding of that file from those checks
        assert reported, text
        assert reported <= expected, (reported - expected, text)
        of_file = {k for k in expected if k[1] == rel and k[0] in {c for c, _p, _l in reported}}
        if "more: run" not in text:
            assert reported == of_file, text

    stop = {
        "session_id": "verdict",
        "cwd": str(workspace),
        "hook_event_name": "Stop",
        "stop_hook_active": False,
    }
    answer = run_hook(workspace, stop, "--mode", "validate")
    failing = [name for name, (status, _thr) in gates_of(cli).items() if status == "failed"]
    assert failing
    assert answer is not None and answer.get("decision") == "block"
    for name in failing:
        assert name in answer["reason"], answer["reason"]
