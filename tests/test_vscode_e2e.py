"""The VS Code extension end to end, in real VS Code (code-server) driven through Chromium.

Needs what ``scripts/install-e2e-deps.sh`` installs (Node 24, code-server, Chromium,
playwright-core). Without it the tests skip, except under ``CI``, where they fail.
The .vsix is built from ``vscode-client/`` when missing or older than its sources.
Screenshots and logs go to ``artifacts/vscode-e2e/<scenario>/``; with
``PHASEGATE_E2E_MEDIA=1`` the README screenshots in ``vscode-client/media/`` are refreshed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_env import e2e_home, read_env_file

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "vscode-client"
VSIX = CLIENT / "phasegate.vsix"
ARTIFACTS = ROOT / "artifacts" / "vscode-e2e"
DRIVER = CLIENT / "e2e" / "driver.cjs"

# Inputs of the .vsix: a newer one means it must be rebuilt.
VSIX_INPUTS = ("src", "media", "package.json", "package-lock.json", "README.md", "esbuild.mjs")

ENV_KEYS = (
    "PHASEGATE_E2E_NODE",
    "PHASEGATE_E2E_CODE_SERVER",
    "PHASEGATE_E2E_NODE_PATH",
    "PHASEGATE_E2E_CHROMIUM",
)

pytestmark = pytest.mark.slow


def find_tools() -> dict[str, str] | str:
    """The e2e tools, or the reason they are not usable."""
    env_file = e2e_home() / "env.sh"
    if not env_file.is_file():
        return f"{env_file} not found: run scripts/install-e2e-deps.sh"
    tools = read_env_file(env_file)
    for key in ENV_KEYS:
        value = os.environ.get(key) or tools.get(key, "")
        if not value or not Path(value).exists():
            return f"{key} ({value or 'unset'}) does not exist: run scripts/install-e2e-deps.sh"
        tools[key] = value
    if shutil.which("npm") is None:
        return "npm is not on PATH"
    return tools


@pytest.fixture(scope="module")
def e2e_tools() -> dict[str, str]:
    tools = find_tools()
    if isinstance(tools, str):
        if os.environ.get("CI"):
            pytest.fail(f"VS Code e2e dependencies missing in CI: {tools}")
        pytest.skip(f"VS Code e2e dependencies missing: {tools}")
    return tools


def newest_mtime(paths: list[Path]) -> float:
    newest = 0.0
    for p in paths:
        if p.is_dir():
            for f in p.rglob("*"):
                if f.is_file():
                    newest = max(newest, f.stat().st_mtime)
        elif p.exists():
            newest = max(newest, p.stat().st_mtime)
    return newest


def run_step(cmd: list[str], cwd: Path, timeout: float) -> None:
    proc = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n"
            f"{proc.stderr[-4000:]}"
        )


def npm_ci() -> str:
    """npm, after ``npm ci`` in vscode-client when node_modules is missing or stale."""
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("CI"):
            pytest.fail("npm is not on PATH")
        pytest.skip("npm is not on PATH")
    lock_marker = CLIENT / "node_modules" / ".package-lock.json"
    if (
        not lock_marker.exists()
        or lock_marker.stat().st_mtime < (CLIENT / "package-lock.json").stat().st_mtime
    ):
        run_step([npm, "ci", "--no-audit", "--no-fund"], CLIENT, 600)
    return npm


@pytest.fixture(scope="module")
def vsix(e2e_tools: dict[str, str]) -> Path:
    """The packaged extension, rebuilt (npm ci + npm run package) when out of date."""
    npm = npm_ci()
    inputs = [CLIENT / name for name in VSIX_INPUTS]
    if not VSIX.exists() or VSIX.stat().st_mtime < newest_mtime(inputs):
        run_step([npm, "run", "package"], CLIENT, 600)
    assert VSIX.is_file(), "npm run package did not write phasegate.vsix"
    return VSIX


def run_driver(
    tools: dict[str, str], vsix: Path, scenario: str, extra: list[str] | None = None
) -> dict[str, object]:
    artifacts = ARTIFACTS / scenario
    cmd = [
        tools["PHASEGATE_E2E_NODE"],
        str(DRIVER),
        "--scenario",
        scenario,
        "--vsix",
        str(vsix),
        "--python",
        sys.executable,
        "--artifacts",
        str(artifacts),
        *(extra or []),
    ]
    env = {**os.environ, **{k: tools[k] for k in ENV_KEYS}}
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200, check=False
    )
    (ARTIFACTS / f"{scenario}-driver.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    results_file = artifacts / "results.json"
    results: dict[str, object] = (
        json.loads(results_file.read_text(encoding="utf-8")) if results_file.exists() else {}
    )
    if proc.returncode != 0:
        steps = results.get("steps", [])
        failed = [
            s
            for s in (steps if isinstance(steps, list) else [])
            if isinstance(s, dict)
            if not s.get("ok")
        ]
        pytest.fail(
            f"VS Code e2e scenario {scenario!r} failed (exit {proc.returncode}); "
            f"screenshots and logs in {artifacts}\n"
            f"failed steps: {json.dumps(failed, indent=1)[:3000]}\n{proc.stdout[-3000:]}"
            f"\n{proc.stderr[-2000:]}"
        )
    return results


def media_args() -> list[str]:
    """Refresh the README screenshots only when asked (PHASEGATE_E2E_MEDIA=1)."""
    if os.environ.get("PHASEGATE_E2E_MEDIA") == "1":
        return ["--media", str(CLIENT / "media" / "screenshots")]
    return []


def step_names(results: dict[str, object]) -> list[str]:
    steps = results.get("steps", [])
    assert isinstance(steps, list)
    return [str(s["name"]) for s in steps if isinstance(s, dict) and s.get("ok")]


def test_extension_unit_tests() -> None:
    """The extension's own unit tests (node --test) and its type check pass."""
    npm = npm_ci()
    run_step([npm, "test"], CLIENT, 300)
    run_step([npm, "run", "typecheck"], CLIENT, 300)


def test_missing_server_offers_install(e2e_tools: dict[str, str], vsix: Path) -> None:
    """An interpreter without phasegate: an error with an Install button that runs pip."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    results = run_driver(e2e_tools, vsix, "missing", media_args())
    assert results.get("ok") is True
    assert step_names(results) == [
        "workbench loads",
        "server missing is reported with an install button",
        "install button opens a terminal with pip install",
        "activates and lists the commands",
    ]


def test_untrusted_workspace_disables_workspace_code(e2e_tools: dict[str, str], vsix: Path) -> None:
    """Restricted Mode: Start Session explains that it needs trust and asks nothing."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    results = run_driver(e2e_tools, vsix, "untrusted", media_args())
    assert results.get("ok") is True
    assert "start session explains that trust is needed" in step_names(results)


def test_session_flow_in_vscode(e2e_tools: dict[str, str], vsix: Path) -> None:
    """Start a session from the palette, fix a finding with a quick fix, reload, resume."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    results = run_driver(e2e_tools, vsix, "full", media_args())
    assert results.get("ok") is True
    names = step_names(results)
    for expected in (
        "start session from the command palette",
        "requirements.md has gate squiggles",
        "quick fixes open with Ctrl+.",
        "a squiggle offers Apply fix",
        "apply the fix and save; problems drop",
        "reload: the session is resumed in the PhaseGate view",
        "status bar shows the current phase and score",
        "show report opens the HTML report in a tab",
    ):
        assert expected in names


def test_every_command_ends_with_its_outcome(e2e_tools: dict[str, str], vsix: Path) -> None:
    """Without a session the view and the status bar give each gate's verdict; Validate
    and Start Session end with a notification of their outcome whose buttons work; a
    persona that fails is a warning naming its reason."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    results = run_driver(e2e_tools, vsix, "outcome", media_args())
    assert results.get("ok") is True
    names = step_names(results)
    for expected in (
        "the view marks each phase passed or failed without a session",
        "validate workspace ends with a message",
        "start session ends with a notification of its outcome",
        "a persona failure is a warning naming the reason",
        "the outcome's buttons work",
        "the view marks each phase of the session",
    ):
        assert expected in names


def test_multi_root_workspace_has_a_server_per_folder(
    e2e_tools: dict[str, str], vsix: Path
) -> None:
    """Two folders: findings of both, commands and quick fixes act on the folder in use."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    results = run_driver(e2e_tools, vsix, "multiroot", media_args())
    assert results.get("ok") is True
    names = step_names(results)
    for expected in (
        "each folder's server reports its folder's findings",
        "start session acts on the active editor's folder",
        "a Rework quick fix runs in the folder of its editor",
        "the view follows the active editor's folder",
    ):
        assert expected in names


def test_every_diagnostic_has_an_action(
    e2e_tools: dict[str, str], vsix: Path, tmp_path: Path
) -> None:
    """A workspace where every check of the default pipeline has a finding, no session:
    Ctrl+. on a problem of each check lists its actions; Show documentation renders the
    check's section in a webview (also from the check id in a hover and in the Problems
    panel), never the raw file; uncovered lines are marks in the gutter, not problems;
    Suppress on this line clears the problem from the Problems panel and from
    ``phasegate validate``."""
    from test_code_actions_every_check import (
        PYTHON_AND_DOCUMENT_IDS,
        cli_findings,
        every_check_workspace,
        validate_json,
    )

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    root = every_check_workspace(tmp_path / "workspace")
    before = cli_findings(validate_json(root), "IMPL-STUB")
    assert any(f["path"] == "app.py" for f in before)
    extra = ["--workspace", str(root), "--checks", ",".join(PYTHON_AND_DOCUMENT_IDS)]
    results = run_driver(e2e_tools, vsix, "actions", [*extra, *media_args()])
    assert results.get("ok") is True
    names = step_names(results)
    for expected in (
        "validate runs every check",
        "Ctrl+. on a problem of every check lists its actions",
        "uncovered lines are coverage marks, not problems",
        "Show documentation renders the check's section",
        "the check id in a hover opens its documentation",
        "the check id in the Problems panel opens its documentation",
        "Suppress on this line clears the problem",
    ):
        assert expected in names
    steps = results["steps"]
    assert isinstance(steps, list)
    (every,) = [s for s in steps if s["name"].startswith("Ctrl+. on a problem of every check")]
    seen = every["detail"]
    assert sorted(seen) == sorted(PYTHON_AND_DOCUMENT_IDS)
    for check_id, got in seen.items():
        assert got["actions"], check_id
    # the suppression is in the file, and the CLI no longer reports the finding
    assert "# phasegate: ignore[IMPL-STUB]" in (root / "app.py").read_text(encoding="utf-8")
    after = cli_findings(validate_json(root), "IMPL-STUB")
    assert not any(f["path"] == "app.py" for f in after), after
