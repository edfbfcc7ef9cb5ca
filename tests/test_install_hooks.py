"""``phasegate install-hooks``: merging into an agent's settings, idempotently, keeping
every other hook, and taking out only its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from phasegate.hooks.install import is_ours

EXISTING: dict[str, Any] = {
    "permissions": {"allow": ["Bash(npm test)"]},
    "hooks": {
        "PostToolUse": [
            {
                "matcher": "Write|Edit",
                "hooks": [{"type": "command", "command": 'prettier --write "$FILE"'}],
            }
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
        "Notification": [{"hooks": [{"type": "command", "command": "say hello"}]}],
    },
}


def install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phasegate", "install-hooks", "-w", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def ours(doc: dict[str, Any], agent: str = "claude") -> dict[str, list[str]]:
    """phasegate's commands per event."""
    out: dict[str, list[str]] = {}
    for event, items in doc.get("hooks", {}).items():
        handlers = items if agent == "cursor" else [h for g in items for h in g["hooks"]]
        cmds = [h["command"] for h in handlers if is_ours(h["command"])]
        if cmds:
            out[event] = cmds
    return out


@pytest.fixture
def claude_project(tmp_path: Path) -> Path:
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text(json.dumps(EXISTING, indent=4) + "\n")
    return tmp_path


def test_install_then_uninstall_leaves_the_other_hooks_intact(claude_project: Path) -> None:
    settings = claude_project / ".claude" / "settings.json"
    original = settings.read_text()
    proc = install(claude_project, "--agent", "claude", "--gate-commits")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(settings.read_text())
    assert ours(doc) == {
        "PostToolUse": ["phasegate hook --agent claude"],
        "Stop": ["phasegate hook --agent claude"],
        "SessionStart": ["phasegate hook --agent claude"],
        "PreToolUse": ["phasegate hook --agent claude --gate-commits"],
    }
    post = doc["hooks"]["PostToolUse"]
    assert post[0] == EXISTING["hooks"]["PostToolUse"][0]  # theirs first, untouched
    assert post[1]["matcher"] == "Edit|Write|MultiEdit|NotebookEdit"
    assert doc["hooks"]["PreToolUse"][0]["matcher"] == "Bash"
    assert doc["permissions"] == EXISTING["permissions"]
    assert (claude_project / ".claude" / "settings.json.phasegate-backup").read_text() == original

    # again: nothing changes, not even the bytes
    before = settings.read_bytes()
    proc = install(claude_project, "--agent", "claude", "--gate-commits")
    assert proc.returncode == 0 and "nothing changed" in proc.stdout
    assert settings.read_bytes() == before

    # without --gate-commits: the commit gate goes, the rest stays
    assert install(claude_project, "--agent", "claude").returncode == 0
    assert "PreToolUse" not in json.loads(settings.read_text())["hooks"]

    proc = install(claude_project, "--agent", "claude", "--uninstall")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(settings.read_text()) == EXISTING


def test_dry_run_writes_nothing(claude_project: Path, tmp_path: Path) -> None:
    settings = claude_project / ".claude" / "settings.json"
    before = settings.read_bytes()
    proc = install(claude_project, "--agent", "claude", "--dry-run")
    assert proc.returncode == 0
    assert "phasegate hook --agent claude" in proc.stdout
    assert settings.read_bytes() == before
    assert not (claude_project / ".claude" / "settings.json.phasegate-backup").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert install(empty, "--agent", "cursor", "--dry-run").returncode == 0
    assert list(empty.iterdir()) == []


def test_malformed_settings_are_never_overwritten(claude_project: Path) -> None:
    settings = claude_project / ".claude" / "settings.json"
    settings.write_text('{\n  "hooks": {\n    "Stop": [,]\n  }\n}\n')
    before = settings.read_bytes()
    proc = install(claude_project, "--agent", "claude")
    assert proc.returncode == 2
    assert f"{settings}:3:" in proc.stderr
    assert settings.read_bytes() == before

    settings.write_text('{\n  "hooks": {\n    "Stop": {"command": "x"}\n  }\n}\n')
    proc = install(claude_project, "--agent", "claude")
    assert proc.returncode == 2 and f"{settings}:3:" in proc.stderr


def test_a_settings_link_is_refused(claude_project: Path) -> None:
    settings = claude_project / ".claude" / "settings.json"
    target = claude_project / "real.json"
    settings.rename(target)
    settings.symlink_to(target)
    proc = install(claude_project, "--agent", "claude")
    assert proc.returncode == 2 and "symbolic link" in proc.stderr
    assert settings.is_symlink()


def test_cursor_hooks_json(tmp_path: Path) -> None:
    path = tmp_path / ".cursor" / "hooks.json"
    path.parent.mkdir()
    theirs = {"version": 1, "hooks": {"afterFileEdit": [{"command": "./hooks/format.sh"}]}}
    path.write_text(json.dumps(theirs))
    assert install(tmp_path, "--agent", "cursor", "--gate-commits").returncode == 0
    doc = json.loads(path.read_text())
    assert doc["version"] == 1
    assert doc["hooks"]["afterFileEdit"] == [
        {"command": "./hooks/format.sh"},
        {"command": "phasegate hook --agent cursor"},
    ]
    assert doc["hooks"]["stop"] == [{"command": "phasegate hook --agent cursor"}]
    assert doc["hooks"]["beforeShellExecution"] == [
        {"command": "phasegate hook --agent cursor --gate-commits"}
    ]
    assert install(tmp_path, "--agent", "cursor", "--uninstall").returncode == 0
    assert json.loads(path.read_text()) == theirs


def test_codex_hooks_json_from_nothing(tmp_path: Path) -> None:
    assert install(tmp_path, "--agent", "codex", "--subagents").returncode == 0
    doc = json.loads((tmp_path / ".codex" / "hooks.json").read_text())
    post = doc["hooks"]["PostToolUse"][0]
    assert post["matcher"] == "apply_patch|Edit|Write"
    assert post["hooks"] == [
        {"type": "command", "command": "phasegate hook --agent codex", "timeout": 30}
    ]
    assert set(doc["hooks"]) == {"PostToolUse", "Stop", "SessionStart", "SubagentStop"}
    assert install(tmp_path, "--agent", "codex", "--uninstall").returncode == 0
    assert json.loads((tmp_path / ".codex" / "hooks.json").read_text()) == {}


def test_options_reach_the_installed_command(tmp_path: Path) -> None:
    args = ["--agent", "claude", "--mode", "validate", "--max-blocks", "5"]
    assert install(tmp_path, *args, "--program", "/opt/pg bin/phasegate").returncode == 0
    doc = json.loads((tmp_path / ".claude" / "settings.json").read_text())
    cmd = doc["hooks"]["Stop"][0]["hooks"][0]["command"]
    assert cmd == "'/opt/pg bin/phasegate' hook --agent claude --mode validate --max-blocks 5"
    assert is_ours(cmd)


def test_phasegate_recognises_its_own_commands() -> None:
    assert is_ours("phasegate hook --agent claude")
    assert is_ours("/usr/local/bin/phasegate hook")
    assert is_ours('"$CLAUDE_PROJECT_DIR"/.venv/bin/phasegate hook --agent claude')
    assert is_ours("python3 -m phasegate hook")
    assert not is_ours("phasegate validate")
    assert not is_ours("my-phasegate hook")
    assert not is_ours("echo phasegate hook-like")
    assert not is_ours(None)
