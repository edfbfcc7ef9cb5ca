"""phasegate in a real, headless Neovim 0.7 (the Debian package): diagnostics, code
action, apply the fix, save, the diagnostic goes away. Install: apt-get install -y neovim."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_lsp_helpers import make_workspace

NVIM = shutil.which("nvim")
DRIVERS = Path(__file__).parent / "nvim"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(NVIM is None, reason="nvim is not installed (apt-get install -y neovim)"),
]


def run_nvim(driver: str, file: Path, root: Path, env: dict[str, str], tmp: Path) -> str:
    assert NVIM is not None
    out = tmp / "result.txt"
    full_env = dict(os.environ)
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        d = tmp / var.lower()
        d.mkdir(exist_ok=True)
        full_env[var] = str(d)
    full_env.update(env, PG_PYTHON=sys.executable, PG_ROOT=str(root), PG_OUT=str(out))
    cmd = [NVIM, "--headless", "-u", "NONE", "-i", "NONE", "-n"]
    cmd += ["-c", f"luafile {DRIVERS / driver}", str(file)]
    proc = subprocess.run(cmd, cwd=root, env=full_env, capture_output=True, text=True, timeout=120)
    report = out.read_text(encoding="utf-8") if out.exists() else "(no result file)"
    assert proc.returncode == 0, f"nvim exited {proc.returncode}\n{report}\n{proc.stderr}"
    return report


@pytest.mark.parametrize(
    ("rel", "code", "expect"),
    [
        ("docs/requirements.md", "REQ-SECTIONS", "## Non-functional requirements"),
        ("app.py", "IMPL-LINT", None),
    ],
)
def test_neovim_applies_a_fix_and_the_diagnostic_goes_away(
    tmp_path: Path, rel: str, code: str, expect: str | None
) -> None:
    root = make_workspace(tmp_path / "ws")
    report = run_nvim("drive_fix.lua", root / rel, root, {"PG_CODE": code}, tmp_path)
    assert "RESULT ok" in report, report
    assert f"data.check {code}" in report
    assert "action Apply fix: " in report
    text = (root / rel).read_text(encoding="utf-8")
    if expect is not None:
        assert expect in text
    else:
        assert "import os" not in text


@pytest.mark.parametrize("trusted", [True, False])
def test_the_neovim_plugin_starts_the_server_per_project(tmp_path: Path, trusted: bool) -> None:
    """editors/nvim: setup(), a Python buffer of a project gets phasegate's diagnostics,
    :PhasegateStatus answers, :checkhealth phasegate reports the command, the version and
    the project's trust."""
    root = make_workspace(tmp_path / "ws")
    plugin = Path(__file__).resolve().parents[1] / "editors" / "nvim"
    env = {"PG_PLUGIN": str(plugin), "PG_TRUST": "1" if trusted else "0"}
    report = run_nvim("drive_plugin.lua", root / "app.py", root, env, tmp_path)
    assert "RESULT ok" in report, report
    assert "diagnostic IMPL-LINT" in report
    assert f"root {root.resolve()}" in report
    assert f"trusted {str(trusted).lower()}" in report
    assert "status phasegate: requirements " in report
    health = "\n".join(line for line in report.splitlines() if line.startswith("health "))
    assert "command: " in health and "version: phasegate" in health
    if trusted:
        assert "trusted: tests, coverage" in health
    else:
        assert "not trusted: only the in-process checks run" in health
    assert "is running for this root" in health
