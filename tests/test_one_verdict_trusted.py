"""One verdict in a trusted workspace without a session: the editor and ``phasegate
validate`` agree.

The bundled example (its gates fail with findings of several checks, among them a failing
test, which only a run of the workspace's tests finds) is copied twice: ``phasegate
validate --format json`` judges one copy, the language server the other, each starting
without a result cache, so neither borrows the other's results. They must agree on
every finding (check, path, line; a finding about a missing file is shown by the editor
on the configuration file, its path in front of the message), on each gate's threshold
(the last of the schedule: no session) and on each gate's verdict and score.

* When the workspace opens: the editor runs what ``validate`` runs, the workspace's
  tests included (the workspace is trusted), with no command asked for.
* After *Validate Workspace* (``phasegate.validate``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_lsp_helpers import CLIENTS, Session, start

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "taskboard"
CONFIG = "phasegate.toml"

pytestmark = pytest.mark.timeout(600)

Key = tuple[str, str, int]  # check, workspace-relative path, 1-based line


def copy_example(base: Path) -> Path:
    root = base / "taskboard"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".phasegate"))
    return root


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = copy_example(tmp_path_factory.mktemp("cli"))
    proc = subprocess.run(
        [sys.executable, "-m", "phasegate", "validate", str(root), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr  # the example's gates fail
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def cli_findings(doc: dict[str, Any]) -> set[Key]:
    return {
        (c["id"], f["path"], f["range"]["start"]["line"] + 1)
        for ph in doc["phases"]
        for c in ph["checks"]
        for f in c["findings"]
    }


def cli_gates(doc: dict[str, Any]) -> dict[str, tuple[float, bool, float]]:
    return {
        ph["name"]: (ph["threshold"], ph["status"] == "passed", round(ph["score"], 4))
        for ph in doc["phases"]
    }


def shown_findings(s: Session, root: Path) -> set[Key]:
    """Every published diagnostic as (check, path, line); a missing file's finding, shown
    on the configuration file with its path in front, as the path it is about."""
    keys: set[Key] = set()
    for uri, diags in s.client.diagnostics.items():
        rel = Path(uri.removeprefix("file://")).relative_to(root.resolve()).as_posix()
        for d in diags:
            path, line = rel, d.range.start.line + 1
            if rel == CONFIG and d.code != "config":
                head, sep, _rest = d.message.partition(": ")
                if sep and not (root / head).exists():
                    path, line = head, 1
            keys.add((str(d.code), path, line))
    return keys


def editor_gates(status: dict[str, Any]) -> dict[str, tuple[float, bool, float]]:
    return {
        ph["name"]: (ph["threshold"], ph["passed"] is True, round(ph["score"], 4))
        for ph in status["phases"]
    }


@pytest.mark.parametrize("client_name", CLIENTS)
async def test_the_editor_judges_the_workspace_as_validate_when_it_opens(
    tmp_path: Path, cli: dict[str, Any], client_name: str
) -> None:
    root = copy_example(tmp_path)
    options = {"trusted": True, "settings": {"watch": "off"}}
    async with start(root, client_name, options) as s:
        await s.settle(timeout=300)
        status = await s.command("phasegate.status")
        shown = shown_findings(s, root)
    assert status["session"] is None
    # the workspace's tests ran: the failing test is in Problems, as in validate's output
    assert any(k[0] == "TEST-PYTEST" for k in cli_findings(cli))
    assert shown == cli_findings(cli)
    assert editor_gates(status) == cli_gates(cli)
    for phase in status["phases"]:
        assert phase["notRun"] == [], phase  # nothing left unjudged
        assert phase["verdict"] == ("passed" if phase["passed"] else "failed")


async def test_validate_in_the_editor_agrees_with_the_cli(
    tmp_path: Path, cli: dict[str, Any]
) -> None:
    root = copy_example(tmp_path)
    options = {"trusted": True, "settings": {"watch": "off", "runOnOpen": False}}
    async with start(root, options=options) as s:
        await s.settle(timeout=300)
        status = await s.command("phasegate.validate")
        await s.settle(timeout=60)
        shown = shown_findings(s, root)
    assert shown == cli_findings(cli)
    assert editor_gates(status) == cli_gates(cli)
    run = status["lastRun"]
    failing = [name for name, (_t, passed, _s) in cli_gates(cli).items() if not passed]
    assert run["command"] == "validate" and run["result"] == "done"
    assert run["gates"]["failed"] == len(failing)
    assert run["phase"] == failing[0]  # the first failing gate is the one to look at
    assert run["findings"]["total"] == len(cli_findings(cli))
