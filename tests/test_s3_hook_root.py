"""The agent hook judges the workspace every command would: the project root found by
:func:`phasegate.rootdir.find_root` from the folder the agent names, also when that is a
package folder deep inside the project."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from test_hook import CONFIG, STUB, answer, log_lines, payload, run_hook

from phasegate.hooks.handlers import workspace_root
from phasegate.hooks.protocol import parse_event
from phasegate.rootdir import find_root


def nested_project(tmp_path: Path, marker: str) -> tuple[Path, Path]:
    """A project with ``marker`` at ``proj/`` and a package ``proj/src/pkg/sub/`` (no
    marker of its own); returns (project, package folder)."""
    proj = tmp_path / "proj"
    sub = proj / "src" / "pkg" / "sub"
    sub.mkdir(parents=True)
    (proj / "src" / "pkg" / "__init__.py").write_text("")
    (sub / "__init__.py").write_text("")
    if marker == "phasegate.toml":
        (proj / "phasegate.toml").write_text(CONFIG)
    elif marker == "pyproject.toml":  # [tool.phasegate]: a marker the hook used to miss
        table = CONFIG.replace("[[phases", "[[tool.phasegate.phases")
        (proj / "pyproject.toml").write_text(f'[project]\nname = "p"\n\n[tool.phasegate]\n{table}')
    elif marker == ".git":  # no phasegate marker: the repository's top
        subprocess.run(["git", "init", "-q", str(proj)], check=True, capture_output=True)
    else:  # outside git, no marker: the nearest folder with a project file
        (proj / "setup.cfg").write_text("[metadata]\nname = p\n")
    return proj, sub


@pytest.mark.parametrize("marker", ["phasegate.toml", "pyproject.toml", ".git", "setup.cfg"])
def test_the_hook_finds_the_root_the_commands_find(tmp_path: Path, marker: str) -> None:
    proj, sub = nested_project(tmp_path, marker)
    raw = json.dumps(payload("claude-stop.json", cwd=str(sub))).encode()
    ev = parse_event(raw)
    assert workspace_root(ev, None, {}) == find_root(sub).path == proj.resolve()
    # the agent's project folder, when it names one, is a starting point the same way
    assert workspace_root(ev, None, {"CLAUDE_PROJECT_DIR": str(sub)}) == proj.resolve()
    # --root still decides
    assert workspace_root(ev, sub, {"CLAUDE_PROJECT_DIR": str(sub)}) == sub.resolve()


def test_a_stop_in_a_nested_package_folder_is_judged_on_the_project(tmp_path: Path) -> None:
    """The configuration is ``[tool.phasegate]`` of the project's pyproject.toml, the
    agent works in ``src/pkg/sub/``: the stop is held by the project's gate, and the
    hook's state is kept in the project's ``.phasegate/``, not in the package."""
    proj, sub = nested_project(tmp_path, "pyproject.toml")
    (sub / "stub.py").write_text(STUB)
    event = payload("claude-stop.json", cwd=str(sub), stop_hook_active=False, session_id="a")
    out = answer(run_hook(sub, event))
    assert out is not None and out["decision"] == "block"
    assert "src/pkg/sub/stub.py:4:5: IMPL-STUB" in out["reason"]
    assert (proj / ".phasegate" / "hooks").is_dir()
    assert not (sub / ".phasegate").exists()

    # the same from an edit made there: the finding is named from the project root
    write = payload(
        "claude-post-tool-use-write.json",
        cwd=str(sub),
        tool_input={"file_path": str(sub / "stub.py"), "content": STUB},
        tool_response={"filePath": str(sub / "stub.py"), "success": True},
    )
    out = answer(run_hook(sub, write))
    assert out is not None
    assert "src/pkg/sub/stub.py:4:5: IMPL-STUB" in out["hookSpecificOutput"]["additionalContext"]
    assert log_lines(sub) == []
