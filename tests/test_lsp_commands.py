"""Every command of docs/lsp-protocol.md through workspace/executeCommand, progress, and
cancellation (stopSession, $/cancelRequest, superseded runs)."""

from __future__ import annotations

import ast
import asyncio
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from test_lsp_helpers import CLIENTS, make_workspace, start, wait_for

pytestmark = pytest.mark.timeout(180)

PHASE_STATUSES = {"pending", "in_progress", "completed", "stalled", "blocked", "regressed"}


def check_status(st: dict[str, Any], root: Path) -> None:
    """The status object's shape, exactly as docs/lsp-protocol.md gives it."""
    assert {"workspace", "trusted", "session", "phases"} <= set(st)
    assert Path(st["workspace"]) == root.resolve()
    assert isinstance(st["trusted"], bool)
    if st["session"] is not None:
        assert {"id", "requirement", "status", "current_phase", "global_iterations"} <= set(
            st["session"]
        )
    assert [p["name"] for p in st["phases"]] == [
        "requirements",
        "design",
        "implementation",
        "testing",
        "deployment",
    ]
    for p in st["phases"]:
        assert {
            "name",
            "title",
            "status",
            "score",
            "threshold",
            "iteration",
            "passed",
            "checks",
        } <= (set(p))
        assert p["status"] in PHASE_STATUSES
        assert p["score"] is None or 0.0 <= p["score"] <= 1.0
        assert isinstance(p["iteration"], int)
        for c in p["checks"]:
            keys = {"id", "passed", "score", "blocking", "owner", "skipped", "error", "findings"}
            assert keys <= set(c)
            for f in c["findings"]:
                assert {"id", "path", "range", "severity", "message", "code"} <= set(f)
                assert f["severity"] in (1, 2, 3, 4) and f["code"] == c["id"]


def action_command(a: types.CodeAction | types.Command) -> tuple[str, list[Any]]:
    """(command, arguments) of a code action. pygls' client reads a CodeAction that has a
    nested command and no edit as a Command whose ``command`` is the whole action as text
    (see real-clients.md): undo that."""
    if isinstance(a, types.CodeAction):
        assert a.command is not None
        return a.command.command, list(a.command.arguments or [])
    if a.arguments is None and a.command.startswith("{"):
        inner = ast.literal_eval(a.command)["command"]
        if isinstance(inner, dict):
            return inner["command"], inner["arguments"]
        return inner, ast.literal_eval(a.command)["arguments"]
    return a.command, list(a.arguments or [])


async def expect_error(coro: Any, code: int) -> str:
    with pytest.raises(JsonRpcException) as exc:
        await coro
    assert exc.value.code == code, exc.value
    return str(exc.value.message)


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_every_contract_command(tmp_path: Path, client_name: str) -> None:
    root = make_workspace(tmp_path)
    async with start(root, client_name) as s:
        await s.settle()
        st = await s.command("phasegate.status")
        check_status(st, root)
        assert st["session"] is None
        assert await s.command("phasegate.listSessions") == []

        st = await s.command("phasegate.validate", {"phase": "requirements"})
        check_status(st, root)
        req = st["phases"][0]
        assert req["passed"] is not None and req["checks"]
        assert any(c["id"] == "REQ-SECTIONS" and c["findings"] for c in req["checks"])
        await expect_error(s.command("phasegate.validate", {"phase": "nope"}), -32602)
        check_status(await s.command("phasegate.runGates"), root)
        msg = await expect_error(s.command("phasegate.rework", {"phase": "design"}), -32803)
        assert "session" in msg

        st = await s.command(
            "phasegate.startSession", {"requirement": "Keep a list of items", "sessionId": "s1"}
        )
        check_status(st, root)
        assert st["session"]["id"] == "s1"
        assert st["session"]["requirement"] == "Keep a list of items"
        assert st["session"]["status"] in ("running", "waiting", "completed", "stopped")
        sessions = await s.command("phasegate.listSessions")
        assert [(x["id"], x["active"]) for x in sessions] == [("s1", True)]
        assert {"id", "requirement", "status", "updated_at", "active"} <= set(sessions[0])

        check_status(await s.command("phasegate.runGates"), root)

        # with a session, diagnostics offer rework as code actions
        await wait_for(lambda: bool(s.diags("docs/requirements.md")), what="diagnostics")
        d = s.diags("docs/requirements.md")[0]
        actions = await s.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(s.uri("docs/requirements.md")),
                range=d.range,
                context=types.CodeActionContext(diagnostics=[d]),
            )
        )
        titles = {a.title: a for a in actions or []}
        owner = d.data["owner"]
        # the owner is the scaffold persona, which only writes missing files: reworking
        # this finding with it would change nothing, so it is not offered
        assert not [t for t in titles if t.startswith("Rework with")], titles
        assert "Rework phase Requirements" in titles
        assert action_command(titles["Rework phase Requirements"])[1] == [{"phase": "requirements"}]
        name = "phasegate.rework"
        args = [{"phase": "requirements", "persona": owner, "findingIds": [d.data["findingId"]]}]
        check_status(await s.command(name, args[0]), root)
        check_status(await s.command("phasegate.rework", {"phase": "requirements"}), root)
        check_status(await s.command("phasegate.resumeSession"), root)
        check_status(await s.command("phasegate.remediate", {"phase": "requirements"}), root)
        st = await s.command("phasegate.stopSession")
        check_status(st, root)
        for fmt in ("json", "html"):
            rep = await s.command("phasegate.report", {"format": fmt})
            assert Path(rep["path"]).is_file() and rep["path"].endswith("." + fmt)
        await expect_error(s.command("phasegate.report", {"format": "pdf"}), -32602)
        await expect_error(s.command("phasegate.startSession", {"requirement": " "}), -32602)
        await expect_error(
            s.command("phasegate.startSession", {"requirement": "x", "sessionId": "../x"}),
            -32602,
        )

        # progress: each long command had begin ... end
        ends = [
            r
            for reports in s.client.progress_reports.values()
            for r in reports
            if isinstance(r, types.WorkDoneProgressEnd)
        ]
        begins = [
            r
            for reports in s.client.progress_reports.values()
            for r in reports
            if isinstance(r, types.WorkDoneProgressBegin)
        ]
        assert len(begins) >= 6 and len(ends) == len(begins)
        assert any(
            isinstance(r, types.WorkDoneProgressReport) and r.message
            for reports in s.client.progress_reports.values()
            for r in reports
        )
        # the status notification was pushed, with the same shape
        await wait_for(lambda: bool(s.statuses), what="status notification")
        check_status(s.statuses[-1], root)
        assert s.statuses[-1]["session"]["id"] == "s1"


SLOW_CONFIG = """\
[[phases]]
name = "requirements"
personas = ["requirement_analyst"]

[[phases.checks]]
id = "REQ-SECTIONS"

[[phases.checks]]
id = "SLOW"
kind = "command"
inputs = ["slow/*.txt"]
options = {{ command = [{python!r}, "-c", {script!r}] }}
"""
SLOW_SCRIPT = (
    "import os, time, pathlib; "
    "pathlib.Path('pids').mkdir(exist_ok=True); "
    "pathlib.Path('pids', str(os.getpid())).write_text('x'); "
    "time.sleep(60)"
)


def slow_workspace(tmp_path: Path) -> Path:
    config = SLOW_CONFIG.format(python=sys.executable, script=SLOW_SCRIPT)
    root = make_workspace(tmp_path, {"phasegate.toml": config, "slow/a.txt": "a\n"})
    (root / ".gitignore").write_text("pids/\n", encoding="utf-8")
    return root


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (killed, not reaped yet) is not running
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def pids(root: Path) -> list[int]:
    d = root / "pids"
    return sorted(int(p.name) for p in d.iterdir()) if d.is_dir() else []


async def test_stop_session_stops_a_long_command_and_kills_its_processes(tmp_path: Path) -> None:
    root = slow_workspace(tmp_path)
    async with start(
        root, options={"settings": {"watch": "off", "runWorkspaceChecksOnOpen": False}}
    ) as s:
        await s.settle()
        validate = asyncio.ensure_future(s.command("phasegate.validate"))
        await wait_for(lambda: bool(pids(root)), what="the slow check to start")
        st = await s.command("phasegate.status")
        assert st["running"] == "validate"
        st = await s.command("phasegate.stopSession")
        result = await asyncio.wait_for(validate, 20)
        assert result["running"] is None
        (pid,) = pids(root)
        await wait_for(lambda: not alive(pid), what="the slow check's process to die")


async def test_cancel_request_cancels_a_long_command(tmp_path: Path) -> None:
    root = slow_workspace(tmp_path)
    async with start(
        root, options={"settings": {"watch": "off", "runWorkspaceChecksOnOpen": False}}
    ) as s:
        await s.settle()
        msg_id = str(uuid.uuid4())
        fut = asyncio.ensure_future(
            s.client.protocol.send_request_async(
                types.WORKSPACE_EXECUTE_COMMAND,
                types.ExecuteCommandParams(command="phasegate.validate"),
                msg_id=msg_id,
            )
        )
        await wait_for(lambda: bool(pids(root)), what="the slow check to start")
        s.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
        await expect_error(asyncio.wait_for(fut, 20), -32800)
        (pid,) = pids(root)
        await wait_for(lambda: not alive(pid), what="the slow check's process to die")
        st = await s.command("phasegate.status")
        assert st["running"] is None


async def test_a_superseded_run_is_cancelled_and_its_result_dropped(tmp_path: Path) -> None:
    root = slow_workspace(tmp_path)
    async with start(
        root,
        options={"settings": {"watch": "off", "runWorkspaceChecksOnOpen": False, "debounceMs": 50}},
    ) as s:
        await s.settle()
        s.save("slow/a.txt", "b\n")
        await wait_for(lambda: len(pids(root)) == 1, what="the first run")
        first = pids(root)[0]
        s.save("slow/a.txt", "c\n")
        await wait_for(lambda: len(pids(root)) == 2, what="the second run")
        await wait_for(lambda: not alive(first), what="the superseded run's process to die")
        st = await s.stats()
        slow_jobs = [j for j in st["history"] if "requirements:SLOW" in j["checks"]]
        assert slow_jobs and slow_jobs[-1]["cancelled"] is True
        status = await s.command("phasegate.status")
        (slow,) = [c for c in status["phases"][0]["checks"] if c["id"] == "SLOW"]
        # no result was committed from the killed run: still "not run yet"
        assert slow["skipped"] and slow["error"] is None
        assert any(j["trigger"] == "save" for j in st["history"])


async def test_progress_cancel_stops_a_long_command(tmp_path: Path) -> None:
    root = slow_workspace(tmp_path)
    async with start(
        root, options={"settings": {"watch": "off", "runWorkspaceChecksOnOpen": False}}
    ) as s:
        await s.settle()
        validate = asyncio.ensure_future(s.command("phasegate.validate"))
        await wait_for(lambda: bool(pids(root)), what="the slow check to start")
        tokens = [
            t
            for t, reports in s.client.progress_reports.items()
            if any(isinstance(r, types.WorkDoneProgressBegin) and r.cancellable for r in reports)
        ]
        assert len(tokens) == 1
        s.client.window_work_done_progress_cancel(
            types.WorkDoneProgressCancelParams(token=tokens[0])
        )
        result = await asyncio.wait_for(validate, 20)
        assert result["running"] is None
        (pid,) = pids(root)
        await wait_for(lambda: not alive(pid), what="the slow check's process to die")
        await wait_for(
            lambda: any(
                isinstance(r, types.WorkDoneProgressEnd)
                for r in s.client.progress_reports[tokens[0]]
            ),
            what="progress end",
        )


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_rework_action_offered_once_per_persona_with_all_finding_ids(
    tmp_path: Path, client_name: str
) -> None:
    from phasegate.model import PhaseState, SessionState
    from phasegate.store import SessionStore

    # A README without install and usage sections: two DEP-README findings on its first
    # line, and the missing deployment files shown there too — all devops_engineer's.
    root = make_workspace(tmp_path, {"README.md": "# Listkeeper\n"})
    store = SessionStore(root)
    names = ["requirements", "design", "implementation", "testing", "deployment"]
    store.create(
        SessionState(id="s1", requirement="Keep a list", phases=[PhaseState(name=n) for n in names])
    )
    store.set_active("s1")
    async with start(root, client_name, {"settings": {"watch": "off"}}) as s:
        await s.settle()
        await wait_for(
            lambda: sum(d.code == "DEP-README" for d in s.diags("README.md")) == 2,
            what="two DEP-README findings",
        )
        line0 = [d for d in s.diags("README.md") if d.range.start.line == 0]
        devops = [d for d in line0 if d.data and d.data["owner"] == "devops_engineer"]
        assert len(devops) >= 3 and {d.data["phase"] for d in devops} == {"deployment"}
        actions = await s.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(s.uri("README.md")),
                range=line0[0].range,
                context=types.CodeActionContext(diagnostics=line0),
            )
        )
        titles = [a.title for a in actions or []]
        rework = [a for a in actions or [] if a.title.startswith("Rework with ")]
        # devops_engineer is a scaffold persona, which can write the missing files and
        # append the README's missing sections; the title says what it does
        title = "Rework with devops_engineer — scaffold: writes templates, never rewrites a file"
        assert titles.count(title) == 1, titles
        (devops_action,) = [a for a in rework if a.title == title]
        name, args = action_command(devops_action)
        assert name == "phasegate.rework"
        assert args[0]["phase"] == "deployment" and args[0]["persona"] == "devops_engineer"
        assert sorted(args[0]["findingIds"]) == sorted(d.data["findingId"] for d in devops)
        # the fixes are still offered one per finding
        fixes = [t for t in titles if t.startswith("Apply fix: ")]
        assert len(fixes) == sum(1 for d in line0 if d.data and d.data["fix"])
        check_status(await s.command(name, args[0]), root)


async def test_an_engine_error_is_answered_with_its_message(tmp_path: Path) -> None:
    """Errors raised by the engine inside a long command reach the client as RequestFailed
    with the engine's own sentence, and the server stays usable."""
    root = make_workspace(tmp_path)
    async with start(root) as s:
        await s.settle()
        msg = await expect_error(
            s.command("phasegate.resumeSession", {"sessionId": "no-such-session"}), -32803
        )
        assert "no-such-session" in msg
        st = await s.command("phasegate.status")
        assert st["running"] is None and st["session"] is None


async def test_rework_is_offered_only_by_a_persona_that_can_act_and_says_what_runs(
    tmp_path: Path,
) -> None:
    """A stub's owner as the scaffold persona: no rework (it cannot implement code); as a
    command persona (a coding agent): "Rework with backend_developer — runs `…`"."""
    from phasegate.model import PhaseState, SessionState
    from phasegate.store import SessionStore

    stub = "def total(items: list[int]) -> int:\n    raise NotImplementedError\n"
    root = make_workspace(tmp_path, {"app.py": stub})
    store = SessionStore(root)
    names = ["requirements", "design", "implementation", "testing", "deployment"]
    store.create(
        SessionState(id="s1", requirement="Sum", phases=[PhaseState(name=n) for n in names])
    )
    store.set_active("s1")

    async def stub_actions() -> list[str]:
        async with start(root, options={"settings": {"watch": "off"}}) as s:
            await s.settle()
            await wait_for(lambda: "IMPL-STUB" in s.codes("app.py"), what="IMPL-STUB")
            d = next(d for d in s.diags("app.py") if d.code == "IMPL-STUB")
            actions = await s.client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(s.uri("app.py")),
                    range=d.range,
                    context=types.CodeActionContext(diagnostics=[d]),
                )
            )
            return [a.title for a in actions or []]

    scaffold = await stub_actions()
    assert not [t for t in scaffold if t.startswith("Rework with")], scaffold
    assert "Suppress IMPL-STUB on this line" in " | ".join(scaffold) or any(
        t.startswith("Suppress") for t in scaffold
    )
    config = root / "phasegate.toml"
    agent = (
        '\n[personas.backend_developer]\nkind = "command"\n'
        'options = { command = ["claude", "-p", "{prompt}"] }\n'
    )
    if config.exists():
        config.write_text(config.read_text() + agent)
    else:
        config.write_text(agent)
    with_agent = await stub_actions()
    assert "Rework with backend_developer — runs `claude -p …`" in with_agent, with_agent
