"""``phasegate mcp`` driven as an agent drives it: a subprocess spoken to by the MCP SDK's
own stdio client (``mcp.client.stdio.stdio_client`` + ``ClientSession``).

What ``validate`` and ``findings`` return must equal ``phasegate validate --format json``
on the same workspace in the same state (after a first run: see the ``taskboard``
fixture). Two runs never agree on how each check's result was obtained —
whether it ran or came from the result cache, the programs it started, their exit codes
and durations, the tool version read while running — so the ``evidence`` fields that
say so (:data:`VOLATILE_EVIDENCE`) are removed from both sides before comparing; every
other field, and every other evidence field, must be equal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp.server.mcpserver", reason="the MCP SDK (phasegate[mcp]) is needed")

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from phasegate.checks.implementation.stubs import Stubs
from phasegate.config_loader import load_config
from phasegate.report.trace import build_traceability

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "taskboard"
TOOLS = {
    "gate_status",
    "validate",
    "findings",
    "explain_check",
    "trace_requirement",
    "start_session",
    "resume_session",
    "rework",
    "report_path",
}
RESOURCES = {"phasegate://requirements", "phasegate://session"}
# How a result was obtained, which differs between any two runs (see the module's doc).
VOLATILE_EVIDENCE = {"how", "rule", "commands", "exit_codes", "duration_s", "tool_version"}
VOLATILE_EVIDENCE |= {"inputs_hash"}


def _copy_example(tmp_path: Path, name: str = "taskboard") -> Path:
    dest = tmp_path / name
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".phasegate", "__pycache__"))
    return dest


@pytest.fixture(scope="module")
def taskboard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example workspace shared by the tests that do not change it,
    validated once: a first run records history that later runs depend on (the files
    TEST-COVERAGE saw pass), so only later runs are compared with each other."""
    root = _copy_example(tmp_path_factory.mktemp("mcp"))
    cli_validate(root)
    return root


@asynccontextmanager
async def connect(root: Path, *extra: str) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "phasegate", "mcp", "--workspace", str(root), *extra],
        env=dict(os.environ),
        cwd=str(root.parent),
    )
    with (root.parent / f"{root.name}-mcp.log").open("a") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


def cli_validate(root: Path, *args: str) -> dict[str, Any]:
    res = subprocess.run(
        [sys.executable, "-m", "phasegate", "validate", str(root), "--format", "json", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode in (0, 1), res.stderr
    doc: dict[str, Any] = json.loads(res.stdout)
    return doc


def normalized(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(doc))
    for phase in out["phases"]:
        for check in phase["checks"]:
            evidence = check.get("evidence")
            if isinstance(evidence, dict):
                check["evidence"] = {
                    k: v for k, v in evidence.items() if k not in VOLATILE_EVIDENCE
                }
    return out


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where two JSON values differ, for a readable failure."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [d for k in keys for d in differences(a.get(k), b.get(k), f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {a!r:.200} != {b!r:.200}"]


def assert_same(got: dict[str, Any], expected: dict[str, Any]) -> None:
    got, expected = normalized(got), normalized(expected)
    assert got == expected, "\n".join(differences(got, expected))


def cli_findings(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**f, "phase": phase["name"], "check": check["id"]}
        for phase in doc["phases"]
        for check in phase["checks"]
        for f in check["findings"]
    ]


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def call_error(session: ClientSession, tool: str, **arguments: Any) -> str:
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    text = result.content[0]
    assert text.type == "text"
    return text.text


# -- listing ---------------------------------------------------------------------------
async def test_lists_typed_tools_and_resources(taskboard: Path) -> None:
    async with connect(taskboard) as session:
        tools = (await session.list_tools()).tools
        assert {t.name for t in tools} == TOOLS
        for tool in tools:
            assert tool.input_schema["type"] == "object", tool.name
            assert tool.output_schema is not None, tool.name
            assert tool.output_schema["type"] == "object", tool.name
            assert tool.description, tool.name
        by_name = {t.name: t for t in tools}
        assert by_name["validate"].output_schema is not None
        assert {"workspace", "phases"} <= set(by_name["validate"].output_schema["required"])
        assert by_name["explain_check"].input_schema["required"] == ["id"]
        assert by_name["start_session"].input_schema["required"] == ["requirement"]
        resources = (await session.list_resources()).resources
        assert {str(r.uri) for r in resources} == RESOURCES


# -- the same answers as the CLI ----------------------------------------------------------
async def test_validate_equals_the_cli_json(taskboard: Path) -> None:
    expected = cli_validate(taskboard)
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async with connect(taskboard) as session:
        result = await session.call_tool("validate", {}, progress_callback=on_progress)
        assert not result.is_error, result.content
        assert result.structured_content is not None
        assert_same(result.structured_content, expected)
        assert [p["name"] for p in expected["phases"]] == [
            "requirements",
            "design",
            "implementation",
            "testing",
            "deployment",
        ]

        one = await call(session, "validate", phase="implementation")
        assert normalized(one)["phases"] == normalized(expected)["phases"][2:3]

    # phase by phase: one notification before the gates and one after each
    values = [v for v, _t, _m in progress]
    assert values == sorted(set(values))
    assert len(progress) == 1 + len(expected["phases"])
    assert all(total == len(expected["phases"]) for _v, total, _m in progress)
    for phase, (_v, _t, message) in zip(expected["phases"], progress[1:], strict=True):
        assert message is not None and message.startswith(
            f"{phase['name']}: gate {phase['status']}"
        )


async def test_findings_equal_the_cli_json(taskboard: Path) -> None:
    expected = cli_findings(cli_validate(taskboard))
    assert expected, "the example workspace has findings on purpose"
    async with connect(taskboard) as session:
        everything = await call(session, "findings", limit=10_000)
        assert everything["total"] == everything["returned"] == len(expected)
        assert not everything["truncated"]
        assert everything["new_code"] is None
        got = everything["findings"]
        assert [{k: v for k, v in f.items() if k != "id"} for f in got] == expected
        assert all(len(f["id"]) == 12 for f in got)

        some = await call(session, "findings", limit=2)
        assert some["findings"] == got[:2]
        assert some["total"] == len(expected) and some["truncated"]

        folder = await call(session, "findings", path="taskboard/")
        mine = [f for f in got if f["path"].startswith("taskboard/")]
        assert mine and folder["findings"] == mine
        one_file = await call(session, "findings", path=str(taskboard / "taskboard/service.py"))
        assert one_file["findings"] == [f for f in got if f["path"] == "taskboard/service.py"]

        phase = await call(session, "findings", phase="design")
        assert phase["findings"] == [f for f in got if f["phase"] == "design"]

        message = await call_error(session, "findings", new_only=True)
        assert "new-code mode" in message


async def test_explain_check(taskboard: Path) -> None:
    async with connect(taskboard) as session:
        await call(session, "validate", phase="implementation")
        explained = await call(session, "explain_check", id="IMPL-STUB")
        assert explained["id"] == explained["kind"] == "IMPL-STUB"
        assert explained["title"] == Stubs.title
        assert explained["description"] == Stubs.description.strip()
        assert explained["docs_url"] == Stubs.docs_url("IMPL-STUB")
        assert explained["docs_url"].endswith("#impl-stub")
        assert explained["scope"] == "file"
        assert {o["name"] for o in explained["options"]} == set(Stubs.Options.model_fields)
        [place] = explained["configured"]
        assert place["phase"] == "implementation" and place["gate"] == "exit"
        assert place["weight"] == Stubs.default_weight
        assert place["blocking"] == Stubs.default_blocking
        last = place["last_result"]
        assert last is not None and last["current"] is True
        assert last["status"] == "failed" and last["findings"] >= 1
        assert "reopen_task" in last["top_findings"][0]["message"]

        # case does not matter; a check kind that is not configured is still explained
        assert (await call(session, "explain_check", id="impl-stub"))["id"] == "IMPL-STUB"
        other = await call(session, "explain_check", id="GATE-INTEGRITY")
        assert other["configured"] == [] and "not configured" in other["note"]


async def test_trace_requirement(taskboard: Path) -> None:
    rows = build_traceability(taskboard, load_config(taskboard)).rows
    row = next(r for r in rows if r.id == "REQ-001")
    async with connect(taskboard) as session:
        traced = await call(session, "trace_requirement", id="REQ-001")
        assert traced["id"] == "REQ-001"
        assert traced["requirements_files"] == ["docs/requirements.md"]
        [match] = traced["matches"]
        assert match == row.model_dump()
        assert match["location"].startswith("docs/requirements.md:")
        assert match["design"] and "taskboard/models.py" in match["code"]
        assert set(match["gaps"]) == {g for g in ("design", "code", "tests") if not match[g]}

        message = await call_error(session, "trace_requirement", id="REQ-999")
        assert "REQ-999 is not defined" in message and "REQ-001" in message


async def test_gate_status_and_resources_without_a_session(taskboard: Path) -> None:
    async with connect(taskboard) as session:
        status = await call(session, "gate_status")
        assert status["session"] is None and status["status"] is None
        assert status["phases"] == [] and status["message"].startswith("no session")

        text = await session.read_resource("phasegate://requirements")
        [content] = text.contents
        assert content.mime_type == "text/markdown"
        assert getattr(content, "text", None) == (taskboard / "docs/requirements.md").read_text()

        summary = await session.read_resource("phasegate://session")
        [content] = summary.contents
        assert content.mime_type == "application/json"
        data = json.loads(getattr(content, "text", ""))
        assert data["session"] is None and data["workspace"] == str(taskboard)


# -- errors ------------------------------------------------------------------------------
async def test_errors_are_tool_errors_and_the_server_goes_on(tmp_path: Path) -> None:
    root = _copy_example(tmp_path)
    async with connect(root) as session:
        message = await call_error(session, "explain_check", id="NO-SUCH-CHECK")
        assert "unknown check 'NO-SUCH-CHECK'" in message and "IMPL-STUB" in message
        message = await call_error(session, "validate", phase="nope")
        assert "unknown phase 'nope'" in message
        message = await call_error(session, "resume_session")
        assert "session" in message
        message = await call_error(session, "report_path")
        assert "session" in message

        (root / "phasegate.toml").write_text("thresholds = [2.0]\n[[phases]]\nname = 1\n")
        for tool in ("validate", "findings", "explain_check", "gate_status"):
            args = {"id": "IMPL-STUB"} if tool == "explain_check" else {}
            message = await call_error(session, tool, **args)
            assert "configuration is invalid" in message and "phasegate.toml" in message, tool

        (root / "phasegate.toml").write_text(
            '[[phases]]\nname = "implementation"\n[[phases.checks]]\nid = "NOT-A-KIND"\n'
        )
        message = await call_error(session, "validate")
        assert "NOT-A-KIND" in message
        # still serving
        assert {t.name for t in (await session.list_tools()).tools} == TOOLS


async def test_stdout_carries_only_the_protocol(tmp_path: Path) -> None:
    """Raw JSON-RPC on the pipes, as an older client (protocol 2025-06-18) speaks it,
    while the gates run the workspace's own tests: every line out is a message."""
    root = _copy_example(tmp_path)
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "validate"}},
    ]
    log = tmp_path / "mcp.log"
    with log.open("wb") as errlog:
        proc = subprocess.Popen(
            [sys.executable, "-m", "phasegate", "mcp", "-w", str(root)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errlog,
        )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        for message in messages:
            proc.stdin.write(json.dumps(message).encode() + b"\n")
            proc.stdin.flush()
        replies: dict[int, dict[str, Any]] = {}
        while 2 not in replies:
            line = proc.stdout.readline()
            assert line, log.read_text()
            reply = json.loads(line)  # nothing but JSON-RPC messages
            assert reply["jsonrpc"] == "2.0"
            if "id" in reply:
                replies[reply["id"]] = reply
        proc.stdin.close()  # the client goes: the server ends
        rest = proc.stdout.read()
        assert proc.wait(timeout=60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for line in rest.splitlines():
        assert json.loads(line)["jsonrpc"] == "2.0"
    result = replies[2]["result"]
    assert not result.get("isError")
    assert {p["name"] for p in result["structuredContent"]["phases"]} >= {"testing"}


# -- sessions and trust --------------------------------------------------------------------
async def test_untrusted_server_sessions(tmp_path: Path) -> None:
    root = _copy_example(tmp_path)
    expected = cli_validate(root, "--untrusted")
    progress: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async with connect(root, "--untrusted") as session:
        validated = await call(session, "validate")
        assert_same(validated, expected)
        pytest_check = next(
            c for p in validated["phases"] for c in p["checks"] if c["id"] == "TEST-PYTEST"
        )
        assert pytest_check["status"] == "skipped"

        started = await session.call_tool(
            "start_session",
            {"requirement": "Create a task management system", "session_id": "s-mcp-1"},
            progress_callback=on_progress,
        )
        assert not started.is_error, started.content
        summary = started.structured_content
        assert summary is not None
        assert summary["session"] == "s-mcp-1" and summary["status"] == "waiting"
        by_name = {p["name"]: p for p in summary["phases"]}
        assert by_name["requirements"]["status"] == "completed"
        assert by_name["implementation"]["status"] == "stalled"
        assert "IMPL-STUB" in by_name["implementation"]["failed_checks"]
        # the command persona runs a program the workspace configures: not started
        assert any(p.startswith("backend_developer:") for p in summary["skipped_personas"])
        assert any(p.startswith("implementation: gate") for p in progress)
        stub = next(f for f in summary["open_findings"] if f["check"] == "IMPL-STUB")

        status = await call(session, "gate_status")
        assert status["session"] == "s-mcp-1"
        assert [p["status"] for p in status["phases"]] == [p["status"] for p in summary["phases"]]
        assert stub in status["open_findings"]
        resource = await session.read_resource("phasegate://session")
        assert json.loads(getattr(resource.contents[0], "text", ""))["session"] == "s-mcp-1"

        message = await call_error(session, "rework", phase="implementation", personas=["nobody"])
        assert "unknown persona(s) nobody" in message
        reworked = await call(session, "rework", phase="implementation", finding_ids=[stub["id"]])
        assert reworked["session"] == "s-mcp-1"
        assert any(p.startswith("backend_developer:") for p in reworked["skipped_personas"])
        impl = next(p for p in reworked["phases"] if p["name"] == "implementation")
        assert impl["iterations"] == by_name["implementation"]["iterations"] + 1

        resumed = await call(session, "resume_session")
        assert resumed["session"] == "s-mcp-1" and resumed["status"] == "waiting"

        report = await call(session, "report_path")
        assert report["session"] == "s-mcp-1" and report["format"] == "html"
        path = Path(report["path"])
        assert path == root / ".phasegate/sessions/s-mcp-1/report.html"
        assert path.read_text().lstrip().lower().startswith("<!doctype html")

        message = await call_error(
            session, "start_session", requirement="again", session_id="s-mcp-1"
        )
        assert "already exists" in message


def test_without_the_sdk_it_exits_2(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['mcp'] = None; sys.argv = ['phasegate', 'mcp']; "
        "from phasegate.cli import main; main()"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 2
    assert "install phasegate[mcp]" in res.stderr
    assert res.stdout == ""


async def test_the_running_server_answers_the_agent_hook(tmp_path: Path) -> None:
    """An agent runs `phasegate mcp` for its whole session: while it runs, the hook's
    PostToolUse is answered by it on the workspace's local socket, and equals what the
    hook computes alone."""
    from phasegate import localsock

    if not localsock.supported():
        pytest.skip("no Unix sockets")
    root = _copy_example(tmp_path).resolve()
    target = root / "taskboard" / "service.py"
    event = {
        "session_id": "s",
        "cwd": str(root),
        "hook_event_name": "PostToolUse",
        "tool_name": "Write",
        "tool_input": {"file_path": str(target), "content": ""},
    }

    def hook() -> str:
        res = subprocess.run(
            [sys.executable, "-m", "phasegate", "hook", "--agent", "claude"],
            input=json.dumps(event),
            capture_output=True,
            text=True,
            cwd=root,
            env={k: v for k, v in os.environ.items() if not k.endswith("_PROJECT_DIR")},
            timeout=300,
        )
        assert res.returncode == 0 and res.stderr == "", res.stderr
        return res.stdout

    hook()  # the hook's own index of the checks
    with target.open("a") as fh:
        fh.write("\n\ndef pending() -> None:\n    raise NotImplementedError\n")
    async with connect(root) as session:
        await call(session, "gate_status")
        ping = localsock.ask(root, {"op": "ping"})
        assert ping is not None
        through_server = hook()
        after = localsock.ask(root, {"op": "ping"})
        assert after is not None and after["answered"] == ping["answered"] + 1
    assert localsock.ask(root, {"op": "ping"}) is None  # the socket went with the server
    assert "IMPL-STUB" in through_server and "pending" in through_server
    (root / ".phasegate" / "hooks" / "memo.json").unlink(missing_ok=True)
    assert hook() == through_server
