"""Reopening a workspace: the last findings come from the cache at once, only checks whose
inputs changed since re-run, and a completed phase that fails now shows as regressed."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_lsp_helpers import CLIENTS, make_workspace, start, wait_for

from phasegate.checks.base import registered_checks
from phasegate.model import PhaseState, PhaseStatus, SessionState, SessionStatus
from phasegate.store import SessionStore

pytestmark = pytest.mark.timeout(120)

PHASES = ["requirements", "design", "implementation", "testing", "deployment"]
# checks that run the workspace's own code (its tests): not cached when they cannot run
WORKSPACE_CODE = {n for n, c in registered_checks().items() if c.runs_workspace_code}


def make_session(root: Path) -> None:
    """A session whose requirements phase is completed, as the executor leaves it."""
    store = SessionStore(root)
    phases = [PhaseState(name=n) for n in PHASES]
    phases[0].status = PhaseStatus.COMPLETED
    phases[0].last_threshold = 0.6
    phases[1].status = PhaseStatus.IN_PROGRESS
    store.create(
        SessionState(
            id="s1",
            requirement="Keep a list",
            status=SessionStatus.STOPPED,
            current_phase="design",
            phases=phases,
        )
    )
    store.set_active("s1")


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_reopen_republishes_from_cache_and_reruns_only_changes(
    tmp_path: Path, client_name: str
) -> None:
    root = make_workspace(tmp_path)
    options = {"settings": {"watch": "off"}}
    async with start(root, client_name, options) as s:
        await s.settle()
        first = s.diags("docs/requirements.md")
        assert first
    make_session(root)

    # reopen, nothing changed: every result comes from the cache, no check runs
    async with start(root, client_name, options) as s:
        await wait_for(lambda: bool(s.diags("docs/requirements.md")), what="diagnostics")
        st = await s.settle()
        ran = {a["check"] for j in st["history"] for a in j["analysed"] if a["count"]}
        assert ran <= WORKSPACE_CODE  # the in-process checks all came from the cache
        assert st["firstPublishS"] is not None
        assert {d.code for d in s.diags("docs/requirements.md")} == {d.code for d in first}
        status = await s.command("phasegate.status")
        assert status["session"]["id"] == "s1"
        assert status["phases"][0]["status"] == "completed"
        assert status["phases"][0]["passed"] is True

    # changed while closed: only the checks reading that file run again
    (root / "app.py").write_text("def add(x: int) -> int:\n    pass\n", encoding="utf-8")
    async with start(root, client_name, options) as s:
        await wait_for(lambda: "IMPL-STUB" in s.codes("app.py"), what="new finding")
        st = await s.settle()
        ran = {a["check"] for j in st["history"] for a in j["analysed"] if a["count"]}
        assert {"IMPL-STUB", "IMPL-SYNTAX", "IMPL-LINT"} <= ran
        assert ran <= {"IMPL-SYNTAX", "IMPL-STUB", "IMPL-LINT"} | WORKSPACE_CODE

        # a completed phase whose gate fails now is shown as regressed at once
        s.save("docs/requirements.md", "# Nothing here\n")
        await wait_for(lambda: "REQ-IDS" in s.codes("docs/requirements.md"), what="REQ-IDS")
        await s.settle()
        status = await s.command("phasegate.status")
        req = status["phases"][0]
        assert req["passed"] is False and req["status"] == "regressed"
        await wait_for(
            lambda: bool(s.statuses) and s.statuses[-1]["phases"][0]["status"] == "regressed",
            what="regressed in the pushed status",
        )
