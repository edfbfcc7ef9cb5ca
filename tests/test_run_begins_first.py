"""``phasegate run`` writes the session's checkpoint before it loads the configuration
models and the engine, and a session refused after it began (an invalid configuration, a
new-code reference that cannot be read) leaves no trace.

The first test runs the command as the ``phasegate`` program does, with an import hook
that notes, when pydantic and then the runner or the executor are first imported, whether
the session is already on disk and which check plugins are loaded: the order of events,
not a duration."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from test_startup_imports import CONFIG, MODULE, _env

# phasegate ARGS, with a note of the state on disk when the engine (the runner or the
# executor) is first imported
DRIVER = """\
import json, sys
from pathlib import Path

seen = {}


def on_disk():
    cp = Path(".phasegate/sessions/s1/checkpoint.json")
    active = Path(".phasegate/active")
    return {
        "checkpoint": json.loads(cp.read_text())["id"] if cp.exists() else None,
        "active": active.read_text().strip() if active.exists() else None,
    }


class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "pydantic" and "models" not in seen:
            seen["models"] = on_disk()
        if name in ("phasegate.runner", "phasegate.executor") and "checkpoint" not in seen:
            seen.update(on_disk())
            seen["modules"] = sorted(sys.modules)
        return None


sys.meta_path.insert(0, Watch())
from phasegate.cli import cli

try:
    cli.main(args=sys.argv[1:], prog_name="phasegate", standalone_mode=False)
    code = 0
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
sys.stderr.write("\\nSEEN " + json.dumps(seen) + "\\n")
sys.exit(code)
"""


def phasegate(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "phasegate", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_the_session_exists_before_the_engine_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "phasegate.toml").write_text(CONFIG)
    (tmp_path / "app.py").write_text(MODULE)
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, "run", "-r", "Add numbers", "--session", "s1"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stderr.rstrip("\n").rsplit("\n", 1)[-1]
    assert last.startswith("SEEN "), proc.stderr[-3000:]
    seen = json.loads(last.removeprefix("SEEN "))
    # when pydantic is first imported (to validate the configuration), the session is
    # on disk and active ...
    assert seen["models"] == {"checkpoint": "s1", "active": "s1"}
    # ... and so it is when the engine is first imported, the session is on disk and active ...
    assert seen["checkpoint"] == "s1"
    assert seen["active"] == "s1"
    # ... and no check the configuration does not name was loaded
    # to get there (the configured ones are: their options are validated with the file)
    others = {
        ep.module
        for ep in entry_points(group="phasegate.checks")
        if ep.name not in ("IMPL-SYNTAX", "IMPL-STUB")
    }
    assert not set(seen["modules"]) & others
    # and the run went on to complete it
    state = json.loads((tmp_path / ".phasegate/sessions/s1/checkpoint.json").read_text())
    assert state["status"] == "completed"


@pytest.mark.parametrize("earlier", [True, False])
def test_a_session_refused_after_it_began_leaves_no_trace(tmp_path: Path, earlier: bool) -> None:
    (tmp_path / "phasegate.toml").write_text(CONFIG)
    (tmp_path / "app.py").write_text(MODULE)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "start")
    if earlier:
        assert phasegate(tmp_path, "run", "-r", "Add numbers", "--session", "s0").returncode == 0
    before = sorted(p.name for p in (tmp_path / ".phasegate/sessions").glob("*"))
    # a reference that names nothing: known only once the session's new code is resolved
    (tmp_path / "phasegate.toml").write_text(CONFIG + '\n[new_code]\nsince = "no-such-ref"\n')

    proc = phasegate(tmp_path, "run", "-r", "Add more", "--session", "s1")

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "new code" in proc.stderr
    assert sorted(p.name for p in (tmp_path / ".phasegate/sessions").glob("*")) == before
    assert not (tmp_path / ".phasegate/sessions/s1").exists()
    active = tmp_path / ".phasegate/active"
    if earlier:
        assert active.read_text().strip() == "s0"
    else:
        assert not active.exists()
    # the id is free: once the configuration is fixed, the same session can start
    (tmp_path / "phasegate.toml").write_text(CONFIG)
    proc = phasegate(tmp_path, "run", "-r", "Add more", "--session", "s1")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _sessions(root: Path) -> list[str]:
    return sorted(p.name for p in (root / ".phasegate/sessions").glob("*"))


@pytest.mark.parametrize("earlier", [True, False])
def test_an_invalid_configuration_removes_the_session_it_began(
    tmp_path: Path, earlier: bool
) -> None:
    """Read as plain TOML, the file below gives the session its phases; validated right
    after, its misspelt key is an error at its line: the session goes, exit 2."""
    (tmp_path / "phasegate.toml").write_text(CONFIG)
    (tmp_path / "app.py").write_text(MODULE)
    if earlier:
        assert phasegate(tmp_path, "run", "-r", "Add numbers", "--session", "s0").returncode == 0
    before = _sessions(tmp_path) if earlier else []
    (tmp_path / "phasegate.toml").write_text(CONFIG + "wieght = 2\n")

    proc = phasegate(tmp_path, "run", "-r", "Add more", "--session", "s1")

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "phasegate.toml:11:1:" in proc.stderr and "wieght" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (_sessions(tmp_path) if (tmp_path / ".phasegate/sessions").exists() else []) == before
    active = tmp_path / ".phasegate/active"
    assert (active.read_text().strip() if active.exists() else None) == ("s0" if earlier else None)


def test_a_configuration_plain_toml_cannot_read_begins_after_validation(tmp_path: Path) -> None:
    """``sessions = 1`` is not a TOML boolean, so the plain reading gives up; the
    configuration models accept it (as true): the session begins from the validated
    configuration and completes."""
    (tmp_path / "phasegate.toml").write_text(CONFIG + "\n[new_code]\nsessions = 1\n")
    (tmp_path / "app.py").write_text(MODULE)

    proc = phasegate(tmp_path, "run", "-r", "Add numbers", "--session", "s1")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    state = json.loads((tmp_path / ".phasegate/sessions/s1/checkpoint.json").read_text())
    assert [p["name"] for p in state["phases"]] == ["implementation"]
    assert state["status"] == "completed"
