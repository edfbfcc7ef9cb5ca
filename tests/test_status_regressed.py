"""``phasegate status`` on a session whose completed phase fails now.

The checkpoint says ``completed`` until ``resume`` or ``runGates`` records the
regression; the language server shows ``regressed`` at once. ``status`` shows it too,
from the result cache and the content hashes of the inputs — without running any check,
tool or workspace code: the workspace's config has a ``command`` check that writes a
marker file each time it runs, and ``status`` never makes it appear.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_lsp_helpers import start, wait_for

from phasegate.cache import ResultCache
from phasegate.cli import cli
from phasegate.config_loader import load_config
from phasegate.model import PhaseStatus, SessionStatus
from phasegate.runner import GateRunner
from phasegate.store import SessionStore
from phasegate.workspace import STATE_DIR, Workspace

pytestmark = pytest.mark.timeout(180)

REQUIREMENTS = """\
# Requirements

## Overview

A small list keeper.

## Functional requirements

### REQ-001: Add items

Users add items to the list.

Acceptance criteria:
- An item with a name can be added.
- An empty name is rejected.

## Non-functional requirements

### NFR-001: Speed

Listing takes less than 10 ms for 1000 items.

Acceptance criteria:
- A benchmark of 1000 items lists in under 10 ms.
"""

# Every requirement id removed: REQ-IDS fails ("no requirement ids").
WITHOUT_IDS = REQUIREMENTS.replace("REQ-001: ", "").replace("NFR-001: ", "")


def config(marker: Path) -> str:
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'a').write('ran')"]
    return f"""\
thresholds = [0.99]

[[phases]]
name = "requirements"
personas = ["requirement_analyst"]

[[phases.checks]]
id = "REQ-EXISTS"
[[phases.checks]]
id = "REQ-SECTIONS"
[[phases.checks]]
id = "REQ-IDS"
[[phases.checks]]
id = "REQ-ACCEPTANCE"
[[phases.checks]]
id = "REQ-PLACEHOLDER"
[[phases.checks]]
id = "MARK"
kind = "command"
inputs = ["docs/requirements.md"]
options = {{ command = {json.dumps(command)} }}
"""


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def completed(tmp_path: Path) -> tuple[Path, Path]:
    """A workspace whose session completed its only phase (Requirements) with no persona
    work; the marker its command check wrote is removed."""
    root = tmp_path / "ws"
    marker = tmp_path / "marker"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "requirements.md").write_text(REQUIREMENTS, encoding="utf-8")
    (root / "phasegate.toml").write_text(config(marker), encoding="utf-8")
    res = invoke("run", "-r", "A list keeper", "--session", "s1", "-w", str(root))
    assert res.exit_code == 0, res.output
    assert marker.exists()  # the command check ran during the session
    marker.unlink()
    return root, marker


def status(root: Path, *extra: str) -> Any:
    return invoke("status", "-w", str(root), *extra)


def status_json(root: Path) -> dict[str, Any]:
    res = status(root, "--format", "json")
    doc: dict[str, Any] = json.loads(res.stdout)
    doc["exit_code"] = res.exit_code
    return doc


def cache_files(root: Path) -> dict[str, int]:
    cache = root / STATE_DIR / "cache"
    return {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}


def checkpoint_bytes(root: Path) -> bytes:
    return (root / STATE_DIR / "sessions" / "s1" / "checkpoint.json").read_bytes()


def test_unchanged_completed_phase_is_completed(completed: tuple[Path, Path]) -> None:
    root, marker = completed
    res = status(root)
    assert res.exit_code == 0, res.output
    assert "completed" in res.stdout and "regressed" not in res.stdout
    assert "changed since last checked" not in res.stdout
    doc = status_json(root)
    assert doc["gates"][0]["status"] == "completed" and doc["gates"][0]["changed"] == []
    assert not marker.exists()


def test_edited_after_completion_and_checked_since_shows_regressed(
    completed: tuple[Path, Path],
) -> None:
    root, marker = completed
    (root / "docs" / "requirements.md").write_text(WITHOUT_IDS, encoding="utf-8")
    # Nothing has looked at the edit: the cache cannot tell, status says so.
    res = status(root)
    assert res.exit_code == 0, res.output
    assert "regressed" not in res.stdout
    assert "changed since last checked" in res.stdout and "phasegate validate" in res.stdout
    doc = status_json(root)
    gate = doc["gates"][0]
    assert (gate["status"], gate["recorded_status"]) == ("completed", "completed")
    assert {"REQ-IDS", "MARK"} <= set(gate["changed"])
    assert not marker.exists(), "status ran the command check"

    # validate looks at it (and runs the command check), writing the result cache
    assert invoke("validate", str(root)).exit_code == 1
    marker.unlink()
    before = (cache_files(root), checkpoint_bytes(root))

    res = status(root)
    assert res.exit_code == 1, res.output
    assert "regressed" in res.stdout
    assert "docs/requirements.md:1:1: REQ-IDS No requirement ids" in res.stdout
    assert "phasegate resume s1" in res.stdout
    doc = status_json(root)
    gate = doc["gates"][0]
    assert (gate["status"], gate["recorded_status"], gate["gate"]) == (
        "regressed",
        "completed",
        "failed",
    )
    assert gate["changed"] == [] and gate["score"] < 0.99
    ids = next(c for c in gate["checks"] if c["id"] == "REQ-IDS")
    assert ids["status"] == "failed" and ids["findings"]
    assert doc["exit_code"] == 1

    # status ran nothing and wrote nothing: no marker, same cache, same checkpoint
    assert not marker.exists(), "status ran the command check"
    assert (cache_files(root), checkpoint_bytes(root)) == before
    state = SessionStore(root).load("s1")
    assert state.status is SessionStatus.COMPLETED
    assert state.phase("requirements").status is PhaseStatus.COMPLETED


def _run_in_process_checks(root: Path) -> None:
    """What the language server does on a save: the in-process checks run and their
    results go to the cache; the command check (workspace code) does not run."""
    cfg = load_config(root)
    cache = ResultCache(root / STATE_DIR / "cache")
    runner = GateRunner(Workspace(root), cfg, cache=cache)
    for rc in runner.checks("requirements"):
        if not rc.cls.runs_workspace_code:
            runner.run_check(rc)
    cache.flush()


def test_regressed_even_when_a_check_cannot_be_told(completed: tuple[Path, Path]) -> None:
    """The command check's result for the new content is not cached, but the gate fails
    even if it passed: regressed, with that check named as not checked."""
    root, marker = completed
    (root / "docs" / "requirements.md").write_text(WITHOUT_IDS, encoding="utf-8")
    _run_in_process_checks(root)
    doc = status_json(root)
    gate = doc["gates"][0]
    assert gate["status"] == "regressed" and gate["changed"] == ["MARK"], gate
    mark = next(c for c in gate["checks"] if c["id"] == "MARK")
    assert mark["status"] == "skipped" and "changed since last checked" in mark["reason"]
    assert doc["exit_code"] == 1
    assert not marker.exists(), "status ran the command check"


def test_a_harmless_edit_the_cache_cannot_fully_tell_is_not_regressed(
    completed: tuple[Path, Path],
) -> None:
    """The in-process checks pass on the new content; only the command check's result is
    unknown, and it could pass: completed, with the changed-since note."""
    root, marker = completed
    path = root / "docs" / "requirements.md"
    path.write_text(REQUIREMENTS + "\nA closing remark.\n", encoding="utf-8")
    _run_in_process_checks(root)
    res = status(root)
    assert res.exit_code == 0, res.output
    assert "regressed" not in res.stdout
    assert "changed since last checked" in res.stdout and "MARK" in res.stdout
    gate = status_json(root)["gates"][0]
    assert (gate["status"], gate["changed"]) == ("completed", ["MARK"])
    assert not marker.exists(), "status ran the command check"


async def test_what_the_language_server_shows_status_shows(completed: tuple[Path, Path]) -> None:
    """The server shows ``regressed`` at once and caches what it computed; the command
    line then says the same without running anything."""
    root, marker = completed
    (root / "docs" / "requirements.md").write_text(WITHOUT_IDS, encoding="utf-8")
    async with start(root, options={"settings": {"watch": "off"}}) as s:
        await s.settle()

        def regressed() -> bool:
            phases = s.statuses[-1]["phases"] if s.statuses else []
            return any(p["name"] == "requirements" and p["status"] == "regressed" for p in phases)

        await wait_for(regressed, what="the server to show requirements regressed")
        await wait_for(
            lambda: "regressed" in status(root).stdout, what="status to show it (cache flushed)"
        )
    marker.unlink(missing_ok=True)  # the server may run the command check: it may
    res = status(root)
    assert res.exit_code == 1 and "regressed" in res.stdout, res.output
    assert not marker.exists(), "status ran the command check"


def test_the_report_shows_regressed_like_status(completed: tuple[Path, Path]) -> None:
    """``phasegate report`` (JSON and HTML) shows the phase ``regressed`` with the gate as
    it is now, a warning naming what to do, and still runs nothing and changes no
    recorded state."""
    root, marker = completed
    out_json = root.parent / "report.json"
    out_html = root.parent / "report.html"

    res = invoke("report", "-w", str(root), "--format", "json", "-o", str(out_json))
    assert res.exit_code == 0, res.output
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["phases"][0]["status"] == "completed" and doc["session"]["regressed"] == []

    (root / "docs" / "requirements.md").write_text(WITHOUT_IDS, encoding="utf-8")
    _run_in_process_checks(root)
    before = checkpoint_bytes(root)
    res = invoke("report", "-w", str(root), "--format", "json", "-o", str(out_json))
    assert res.exit_code == 0, res.output
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    phase = doc["phases"][0]
    assert phase["status"] == "regressed", phase
    assert "fails now" in phase["message"] and "REQ-IDS" in phase["message"]
    assert doc["session"]["regressed"] == ["requirements"]
    assert doc["totals"]["phases_completed"] == 0
    assert any("phasegate resume s1" in w for w in doc["warnings"])
    groups = {g["check"]: g for g in doc["open_findings"]["groups"]}
    assert groups["REQ-IDS"]["source"] == "evaluated" and not groups["REQ-IDS"]["passed"]
    assert groups["REQ-IDS"]["findings"]

    res = invoke("report", "-w", str(root), "-o", str(out_html))
    assert res.exit_code == 0, res.output
    html = out_html.read_text(encoding="utf-8")
    assert '<span class="badge regressed">regressed</span>' in html
    assert "completed earlier and fails now" in html
    assert not marker.exists(), "the report ran the command check"
    assert checkpoint_bytes(root) == before


def test_a_session_judged_on_new_code_is_rechecked_on_new_code(tmp_path: Path) -> None:
    """A session started in a git repository judges code new since its start: a stub
    committed before it is inherited and never fails the gate. Right after the session
    completes, `status` must judge the same way (not the whole code), so the phase is
    completed, not regressed."""
    import os
    import subprocess

    root = tmp_path / "ws"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "old.py").write_text(
        "def legacy(x: int) -> int:\n    raise NotImplementedError\n", encoding="utf-8"
    )
    (root / "phasegate.toml").write_text(
        'thresholds = [0.99]\n\n[[phases]]\nname = "implementation"\n'
        'personas = ["backend_developer"]\n\n'
        '[[phases.checks]]\nid = "IMPL-SYNTAX"\n[[phases.checks]]\nid = "IMPL-STUB"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "start"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    res = invoke("run", "-r", "Keep the legacy code", "--session", "s1", "-w", str(root))
    assert res.exit_code == 0, res.output
    doc = status_json(root)
    assert doc["exit_code"] == 0, doc
    assert [g["status"] for g in doc["gates"]] == ["completed"]
    # the whole code would fail it: validate --all-code still sees the stub
    whole = invoke("validate", str(root), "--format", "json")
    assert whole.exit_code == 1 and "IMPL-STUB" in whole.stdout
