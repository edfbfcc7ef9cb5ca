"""Workspace trust: untrusted, nothing the workspace configures runs; in-process checks do."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from test_lsp_helpers import CLIENTS, make_workspace, start, wait_for

pytestmark = pytest.mark.timeout(120)

CONFIG = """\
[[phases]]
name = "requirements"
personas = ["requirement_analyst"]

[[phases.checks]]
id = "REQ-SECTIONS"

[[phases.checks]]
id = "MARK"
kind = "command"
inputs = ["docs/*.md"]
options = {{ command = [{python!r}, "-c", "open('ran-check', 'w').write('x')"] }}

[personas.requirement_analyst]
kind = "command"
options = {{ command = [{python!r}, "-c", "open('ran-persona', 'w').write('x')"] }}
"""


def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path, {"phasegate.toml": CONFIG.format(python=sys.executable)})


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_untrusted_runs_nothing_the_workspace_configures(
    tmp_path: Path, client_name: str
) -> None:
    root = workspace(tmp_path)
    async with start(root, client_name, {"trusted": False}) as s:
        await s.settle()
        # in-process checks still run and publish
        await wait_for(lambda: "REQ-SECTIONS" in s.codes("docs/requirements.md"))
        st = await s.command("phasegate.validate")
        assert st["trusted"] is False
        (mark,) = [c for c in st["phases"][0]["checks"] if c["id"] == "MARK"]
        assert mark["skipped"] and "untrusted" in mark["skipped"]
        for name, arg in (
            ("phasegate.startSession", {"requirement": "Keep a list"}),
            ("phasegate.remediate", {}),
            ("phasegate.rework", {"phase": "requirements"}),
            ("phasegate.resumeSession", {}),
        ):
            with pytest.raises(JsonRpcException) as exc:
                await s.command(name, arg)
            assert exc.value.code == -32803, name
            assert "trusted workspace" in exc.value.message
            assert "requirement_analyst (command)" in exc.value.message
        s.save("docs/requirements.md")  # an edit re-runs the checks: still nothing runs
        await s.settle()
        assert not (root / "ran-check").exists()
        assert not (root / "ran-persona").exists()
        assert not (root / ".phasegate" / "sessions").exists()


async def test_trusted_runs_the_configured_check(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    async with start(root, options={"trusted": True}) as s:
        await s.settle()
        # a trusted workspace runs it on open, as `phasegate validate` would
        await wait_for(lambda: (root / "ran-check").exists(), what="the check ran on open")
        st = await s.command("phasegate.validate")  # its result, from that run's cache
        (mark,) = [c for c in st["phases"][0]["checks"] if c["id"] == "MARK"]
        assert mark["skipped"] is None and mark["passed"] is True
        assert (root / "ran-check").exists()


SKIPPED_PHASE_CONFIG = """\
[[phases]]
name = "requirements"
personas = ["requirement_analyst"]

[[phases.checks]]
id = "REQ-SECTIONS"

[[phases]]
name = "testing"
personas = ["qa_engineer"]

[[phases.checks]]
id = "TEST-PYTEST"
"""


def status_codes(st: dict[str, Any]) -> Counter[str]:
    return Counter(f["code"] for p in st["phases"] for c in p["checks"] for f in c["findings"])


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_untrusted_status_and_diagnostics_agree(tmp_path: Path, client_name: str) -> None:
    root = make_workspace(tmp_path, {"phasegate.toml": SKIPPED_PHASE_CONFIG})
    async with start(root, client_name, {"trusted": False}) as s:
        await s.settle()
        await wait_for(lambda: "REQ-SECTIONS" in s.codes("docs/requirements.md"))
        st = await s.command("phasegate.status")
        req, testing = st["phases"]
        # the in-process check ran, is scored and published
        assert req["score"] is not None and req["score"] < 1.0 and req["passed"] is not None
        # every check of this phase was skipped: no score (not the 1.0 of an empty gate)
        (pytest_check,) = testing["checks"]
        assert pytest_check["skipped"] and "untrusted" in pytest_check["skipped"]
        assert testing["score"] is None and testing["passed"] is None
        assert "not scored" in testing["message"]
        published = Counter(str(d.code) for diags in s.client.diagnostics.values() for d in diags)
        assert published == status_codes(st) and published


async def test_untrusted_first_workspace_pull_matches_the_status(tmp_path: Path) -> None:
    """VS Code pulls the workspace's diagnostics right after ``initialized`` and again only
    a while after each answer: the first answer holds the in-process checks' findings."""
    root = make_workspace(tmp_path)
    async with start(root, "visual-studio-code", {"trusted": False}, pull=True) as s:
        report = await s.client.workspace_diagnostic_async(
            types.WorkspaceDiagnosticParams(previous_result_ids=[])
        )
        pulled = Counter(str(d.code) for item in report.items for d in item.items)
        st = await s.settle()
        assert st["diagnosticsMode"] == "pull" and st["trusted"] is False
        status = await s.command("phasegate.status")
        assert any(p["score"] is not None for p in status["phases"])
        assert pulled == status_codes(status) and "REQ-SECTIONS" in pulled
