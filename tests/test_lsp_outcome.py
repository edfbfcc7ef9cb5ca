"""Every long command ends with its outcome (the status object's ``lastRun``), and the
status gives each gate's verdict as ``phasegate validate`` does.

A session that stalls at a phase while one of its personas fails (a program that is not
installed) says where it stopped, why the persona failed, and which document to open;
the failure is also logged as a warning. Validate counts the findings that appeared and
went. A refused command is an outcome too. Without a session the gates are scored
against the last threshold of the schedule, and a gate that passes while some of its
checks did not run is not a pass: its verdict is unknown. While checks run, the progress
names the ones still running.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from test_lsp_commands import expect_error
from test_lsp_helpers import CLIENTS, make_workspace, start, wait_for

from phasegate.lsp.sessions import describe, persona_reason
from phasegate.model import Event

pytestmark = pytest.mark.timeout(180)

MISSING = "phasegate_missing_scanner"
STALLING_CONFIG = f"""\
[personas.security_specialist]
kind = "command"
role = "Runs the security scanner on the design."
options = {{ command = [{sys.executable!r}, "-m", "{MISSING}"], stdin = false }}
"""


def stalling_workspace(tmp_path: Path) -> Path:
    """Requirements that pass, no design, and a design persona that cannot run: a session
    completes the requirements and stalls at the design."""
    return make_workspace(tmp_path, {"phasegate.toml": STALLING_CONFIG})


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_a_stalled_session_says_where_it_stopped_and_why(
    tmp_path: Path, client_name: str
) -> None:
    root = stalling_workspace(tmp_path)
    async with start(root, client_name, {"settings": {"watch": "off"}}) as s:
        await s.settle()
        assert (await s.command("phasegate.status"))["lastRun"] is None
        st = await s.command(
            "phasegate.startSession", {"requirement": "Keep a list", "sessionId": "s1"}
        )
        run = st["lastRun"]
        assert run["command"] == "startSession" and run["result"] == "done"
        assert run["error"] is None and run["id"] == 1
        assert run["session"]["id"] == "s1" and run["session"]["status"] == "waiting"
        assert (run["phase"], run["phaseTitle"], run["phaseStatus"]) == (
            "design",
            "Design",
            "stalled",
        )
        assert run["verdict"] == "failed" and run["score"] < run["threshold"]
        failures = run["personaFailures"]
        assert failures and {f["persona"] for f in failures} == {"security_specialist"}
        assert all(f"No module named {MISSING}" in f["reason"] for f in failures)
        assert all(f["phase"] == "design" and not f["skipped"] for f in failures)
        assert [f["iteration"] for f in failures] == list(range(1, len(failures) + 1))
        # the document the stalled phase waits on, at one of its findings
        assert run["open"]["path"] == "docs/design.md"
        assert (root / "docs/design.md").is_file()
        assert run["summary"].startswith("Design stalled at ")
        assert "security_specialist" in run["summary"]
        assert run["findings"]["total"] > 0 and run["findings"]["new"] > 0

        # the steps are logged in words, the persona's failure as a warning with its error
        logs = [(m.type, m.message) for m in s.client.log_messages]
        assert any(t == types.MessageType.Info and "session: design: started" in m for t, m in logs)
        assert any(
            t == types.MessageType.Warning and "security_specialist failed" in m and MISSING in m
            for t, m in logs
        )
        assert logs[-1][1].endswith(run["summary"])

        # the outcome stays until the next command ends
        later = await s.command("phasegate.status")
        assert later["lastRun"] == run


async def test_validate_counts_the_findings_that_came_and_went(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    async with start(root, options={"settings": {"watch": "off"}}) as s:
        await s.settle()
        first = (await s.command("phasegate.validate"))["lastRun"]
        assert first["command"] == "validate" and first["session"] is None
        assert first["gates"]["total"] == 5
        assert first["gates"]["failed"] >= 1 and first["phase"] is not None
        assert first["summary"].startswith(f"{first['gates']['failed']} of 5 gates fail")

        # changed behind the server's back (no save, no watcher): the requirements get
        # the section they lacked (a finding goes), app.py a stub (a finding comes)
        req = root / "docs/requirements.md"
        req.write_text(
            req.read_text(encoding="utf-8") + "\n## Non-functional requirements\n\nFast.\n",
            encoding="utf-8",
        )
        app = root / "app.py"
        app.write_text(
            app.read_text(encoding="utf-8") + "\n\ndef later() -> None:\n    pass\n",
            encoding="utf-8",
        )
        second = (await s.command("phasegate.validate"))["lastRun"]
        assert second["id"] == first["id"] + 1
        new, fixed = second["findings"]["new"], second["findings"]["fixed"]
        assert new >= 1 and fixed >= 1, second["findings"]
        assert second["findings"]["total"] == first["findings"]["total"] + new - fixed
        # limited to a phase: the outcome is about that phase's gate
        third = (await s.command("phasegate.validate", {"phase": "implementation"}))["lastRun"]
        assert third["gates"]["total"] == 1 and third["phase"] == "implementation"
        assert third["findings"]["new"] == 0 and third["findings"]["fixed"] == 0


async def test_a_refused_command_is_an_outcome_too(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    async with start(root, options={"settings": {"watch": "off"}}) as s:
        await s.settle()
        await s.command("phasegate.startSession", {"requirement": "Keep a list", "sessionId": "s1"})
        message = await expect_error(
            s.command("phasegate.startSession", {"requirement": "Again", "sessionId": "s1"}),
            -32803,
        )
        run = (await s.command("phasegate.status"))["lastRun"]
        assert run["command"] == "startSession" and run["result"] == "failed"
        assert run["error"] == message and run["summary"] == f"failed: {message}"


THRESHOLDS = "thresholds = [0.5, 0.7]\n"
TESTS = """\
from app import add


def test_add() -> None:
    '''REQ-001, REQ-002: added items are listed.'''
    items: list[str] = []
    add(items, "a")
    assert items == ["a"]
"""


async def test_without_a_session_gates_use_the_last_threshold_and_what_did_not_run_is_unknown(
    tmp_path: Path,
) -> None:
    root = make_workspace(tmp_path, {"phasegate.toml": THRESHOLDS, "tests/test_app.py": TESTS})
    async with start(root, options={"trusted": False, "settings": {"watch": "off"}}) as s:
        await s.settle()
        st = await s.command("phasegate.status")
    assert {p["threshold"] for p in st["phases"]} == {0.7}
    testing = next(p for p in st["phases"] if p["name"] == "testing")
    # the tests cannot run untrusted: the gate passes on the checks that ran (as
    # `validate --untrusted` says), but the verdict is not a pass
    assert {"TEST-PYTEST", "TEST-COVERAGE"} <= set(testing["notRun"])
    assert testing["passed"] is True and testing["verdict"] == "unknown"
    for p in st["phases"]:
        if not p["notRun"] and p["passed"] is not None:
            assert p["verdict"] == ("passed" if p["passed"] else "failed"), p


# A per-file check, and a check whose program waits until the test lets it end: while it
# waits, the progress must name it, and it alone (the per-file check is done).
WAITING = "import pathlib, time\nwhile not pathlib.Path('go').exists(): time.sleep(0.02)"
SLOW_CHECK = f"""\
[[phases]]
name = "implementation"
personas = ["backend_developer"]

[[phases.checks]]
id = "IMPL-SYNTAX"

[[phases.checks]]
id = "SLOW"
kind = "command"
inputs = ["README.md"]
options = {{ command = [{sys.executable!r}, "-c", {WAITING!r}] }}
"""


async def test_validate_progress_names_the_checks_still_running(tmp_path: Path) -> None:
    root = make_workspace(tmp_path, {"phasegate.toml": SLOW_CHECK})
    async with start(root, options={"settings": {"watch": "off", "runOnOpen": False}}) as s:
        await s.settle()

        def messages() -> list[str]:
            return [
                r.message
                for reports in s.client.progress_reports.values()
                for r in reports
                if isinstance(r, types.WorkDoneProgressReport) and r.message
            ]

        validate = asyncio.ensure_future(s.command("phasegate.validate"))
        try:
            await wait_for(lambda: "SLOW running (1/2 done)" in messages(), 60, "SLOW named alone")
        finally:
            (root / "go").write_text("", encoding="utf-8")
        await asyncio.wait_for(validate, 60)
    seen = messages()
    assert not any(m.startswith("SLOW running") for m in seen[seen.index("2/2 checks done") :])
    assert seen[-1] == "2/2 checks done", seen


def test_persona_errors_are_told_in_one_line() -> None:
    error = "security_specialist: python3 exited with code 1:\n/usr/bin/python3: No module named x"
    assert (
        persona_reason(error, "security_specialist")
        == "python3 exited with code 1: /usr/bin/python3: No module named x"
    )
    assert persona_reason("", "p") == "failed"
    assert persona_reason("timed out after 5s", "p") == "timed out after 5s"
    ev = Event(
        kind="persona_finished",
        phase="design",
        data={"persona": "security_specialist", "ok": False, "error": error},
    )
    assert describe(ev) == (
        "design: security_specialist failed: python3 exited with code 1: "
        "/usr/bin/python3: No module named x"
    )
    skipped = Event(
        kind="persona_finished",
        phase="design",
        data={"persona": "p", "ok": True, "skipped": "untrusted workspace"},
    )
    assert describe(skipped) == "design: p not run: untrusted workspace"
    started = Event(
        kind="iteration_started", phase="design", data={"reason": "iteration 2: rework"}
    )
    assert describe(started) == "design: iteration 2: rework"
