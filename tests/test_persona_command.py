"""The command persona: real programs as personas, every change listed and restorable."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from phasegate import backups
from phasegate.backups import BackupRecorder, SnapshotStore
from phasegate.checks.base import Check, CheckContext, register_check
from phasegate.config import CheckConfig, Config, PersonaConfig, PhaseConfig
from phasegate.model import Finding, Range
from phasegate.personas.base import PersonaContext, PersonaResult, PersonaTask, make_persona
from phasegate.remediate import remediate, undo
from phasegate.workspace import Workspace

PY = sys.executable
RUFF = str(Path(sys.executable).parent / "ruff")


class NoTodoCmd(Check):
    id = "NO-TODO-CMD"
    scope = "file"
    default_owner = "fixer"
    default_blocking = True

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["*.py"]

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        text = ctx.workspace.read_text(path) or ""
        return [
            ctx.finding(path, "TODO left in the code", range=Range.lines(i, line.index("TODO")))
            for i, line in enumerate(text.splitlines())
            if "TODO" in line
        ]


register_check("NO-TODO-CMD", NoTodoCmd)

# A persona that reads the task file and fixes exactly the findings it is given.
FIXER = textwrap.dedent(
    """
    import json, os, sys, pathlib
    task = json.loads(pathlib.Path(os.environ["PHASEGATE_TASK_FILE"]).read_text())
    out = pathlib.Path(sys.argv[1])
    feedback = pathlib.Path(os.environ["PHASEGATE_FEEDBACK_FILE"]).read_text()
    out.write_text(json.dumps({"task": task, "stdin": sys.stdin.read(), "feedback": feedback}))
    root = pathlib.Path(task["workspace"])
    for f in task["findings"]:
        p = root / f["path"]
        lines = p.read_text().splitlines(keepends=True)
        i = f["line"] - 1
        lines[i] = lines[i][: f["column"] - 1].rstrip(" #") + "\\n"
        p.write_text("".join(lines))
    print("fixed", len(task["findings"]))
    """
)


def tree(root: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if rel == ".phasegate" or rel.startswith(".phasegate/"):
            continue
        if p.is_symlink():
            out[rel] = b"->" + os.readlink(p).encode()
        elif p.is_file():
            out[rel] = p.read_bytes()
        elif p.is_dir():
            out[rel + "/"] = b""
    return out


def config_for(command: list[str], **opts: object) -> Config:
    return Config(
        phases=[
            PhaseConfig(
                name="implementation", personas=["fixer"], checks=[CheckConfig(id="NO-TODO-CMD")]
            )
        ],
        personas={
            "fixer": PersonaConfig(
                kind="command", role="fixes", options={"command": command, **opts}
            )
        },
    )


def task_for(ws: Workspace, feedback: list[Finding] | None = None) -> PersonaTask:
    return PersonaTask(
        session_id="s1",
        requirement="Build a calculator",
        phase="implementation",
        phase_title="Implementation",
        persona="fixer",
        role="fixes",
        iteration=2,
        reason="rework: owner of NO-TODO-CMD",
        feedback=feedback or [],
        artifacts=["*.py"],
        workspace=str(ws.root),
    )


def run(
    root: Path,
    command: list[str],
    *,
    recorder: BackupRecorder | None = None,
    trusted: bool = True,
    feedback: list[Finding] | None = None,
    **opts: object,
) -> PersonaResult:
    ws = Workspace(root)
    config = config_for(command, **opts)
    persona = make_persona("fixer", config)
    ctx = PersonaContext(workspace=ws, config=config, timeout=60, backups=recorder, trusted=trusted)
    return asyncio.run(persona.run(task_for(ws, feedback), ctx))


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a + b  # TODO types\n")
    (root / "util.py").write_text("X = 1\n")
    (root / "fixer.py").write_text(FIXER)
    return root


def test_script_persona_fixes_its_findings_and_the_gate_passes(ws: Path, tmp_path: Path) -> None:
    seen = tmp_path / "seen.json"
    config = config_for([PY, "fixer.py", str(seen)])
    result = asyncio.run(remediate(Workspace(ws), config, session_id="cmd1"))
    assert [p.status for p in result.phases] == ["completed"]
    assert result.final_gates[0].passed
    assert (ws / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert [(c.path, c.kind) for c in result.changes] == [("calc.py", "modified")]
    (run1,) = result.phases[0].persona_runs
    assert run1.ok and run1.files_changed == ["calc.py"] and run1.feedback_count == 1
    got = json.loads(seen.read_text())
    task = got["task"]
    assert task["requirement"] == ""  # no session requirement
    assert task["phase"] == "implementation" and task["persona"] == "fixer"
    assert task["iteration"] == 1 and "owner of failed NO-TODO-CMD" in task["reason"]
    assert task["findings"][0]["text"] == "calc.py:2:21: NO-TODO-CMD TODO left in the code"
    assert "calc.py" in task["files"]
    # The same task as text on stdin, and the findings in the feedback file.
    assert "calc.py:2:21: NO-TODO-CMD TODO left in the code" in got["stdin"]
    assert "Phase: Implementation (implementation)" in got["stdin"]
    assert got["feedback"] == "calc.py:2:21: NO-TODO-CMD TODO left in the code\n"
    # The temporary task files are gone.
    assert list((ws / ".phasegate/tmp").iterdir()) == []


def test_placeholders_env_and_no_stdin(ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "argv.json"
    script = (
        "import json,os,sys; json.dump({'argv': sys.argv[1:], 'stdin': sys.stdin.read(), "
        "'env': {k: v for k, v in os.environ.items() if k.startswith(('PHASEGATE_', 'MY_'))}}, "
        f"open({str(out)!r}, 'w'))"
    )
    argv = [
        PY,
        "-c",
        script,
        "{phase}",
        "{persona}",
        "{workspace}",
        "x{task_file}",
        "{feedback_file}",
    ]
    res = run(ws, [*argv, "{prompt}", "{unknown}", "{{}}"], stdin=False, env={"MY_VAR": "1"})
    assert res.ok, res.error
    got = json.loads(out.read_text())
    a = got["argv"]
    assert a[0:3] == ["implementation", "fixer", str(ws.resolve())]
    assert a[3].startswith("x") and a[3].endswith("task.json")
    assert a[4].endswith("feedback.txt")
    assert "You are the fixer" in a[5]
    assert a[6:] == ["{unknown}", "{{}}"]
    assert got["stdin"] == ""
    env = got["env"]
    assert env["MY_VAR"] == "1" and env["PHASEGATE_PHASE"] == "implementation"
    assert env["PHASEGATE_PERSONA"] == "fixer" and env["PHASEGATE_ITERATION"] == "2"
    assert env["PHASEGATE_TASK_FILE"] == a[3][1:]


def test_created_modified_deleted_are_listed_and_restored_exactly(ws: Path) -> None:
    (ws / ".gitignore").write_text("ignored.txt\n")
    (ws / "link").symlink_to("util.py")
    (ws / "run.sh").write_text("#!/bin/sh\n")
    (ws / "run.sh").chmod(0o755)
    before = tree(ws)
    script = textwrap.dedent(
        """
        import os, pathlib
        pathlib.Path("calc.py").write_text("changed\\n")
        os.remove("util.py")
        os.makedirs("new/deep", exist_ok=True)
        pathlib.Path("new/deep/mod.py").write_text("Y = 2\\n")
        pathlib.Path("ignored.txt").write_text("not tracked\\n")
        os.makedirs("__pycache__", exist_ok=True)
        pathlib.Path("__pycache__/x.pyc").write_bytes(b"cache")
        os.remove("link"); os.symlink("calc.py", "link")
        os.chmod("run.sh", 0o644)
        pathlib.Path("run.sh").write_text("#!/bin/sh\\necho hi\\n")
        """
    )
    rec = BackupRecorder.for_session(Workspace(ws), "s1", "manual-1")
    res = run(ws, [PY, "-c", script], recorder=rec)
    assert res.ok, res.error
    assert res.files_changed == ["calc.py", "link", "new/deep/mod.py", "run.sh", "util.py"]
    kinds = {c.path: c.kind for c in rec.changes()}
    assert kinds == {
        "calc.py": "modified",
        "link": "modified",
        "new/deep/mod.py": "created",
        "run.sh": "modified",
        "util.py": "deleted",
    }
    rec.restore()
    after = tree(ws)
    # Ignored files are outside what a persona's snapshot covers.
    after.pop("ignored.txt")
    after.pop("__pycache__/")
    after.pop("__pycache__/x.pyc")
    assert after == before
    assert (ws / "run.sh").stat().st_mode & 0o777 == 0o755
    assert os.readlink(ws / "link") == "util.py"


def test_same_size_change_with_old_mtime_is_detected(ws: Path) -> None:
    st = (ws / "util.py").stat()
    script = (
        "import os; open('util.py','w').write('X = 2\\n'); "
        f"os.utime('util.py', ns=({st.st_atime_ns}, {st.st_mtime_ns}))"
    )
    res = run(ws, [PY, "-c", script])
    assert res.ok and res.files_changed == ["util.py"]


def test_failure_keeps_the_changes_restorable(ws: Path) -> None:
    before = tree(ws)
    script = (
        "import sys; open('calc.py','w').write('broken'); "
        "print('boom', file=sys.stderr); sys.exit(3)"
    )
    rec = BackupRecorder.for_session(Workspace(ws), "s1", "manual-2")
    res = run(ws, [PY, "-c", script], recorder=rec)
    assert not res.ok
    assert "exited with code 3" in (res.error or "") and "boom" in (res.error or "")
    assert res.files_changed == ["calc.py"]
    rec.restore()
    assert tree(ws) == before


def test_success_codes(ws: Path) -> None:
    assert run(ws, [PY, "-c", "import sys; sys.exit(1)"], success_codes=[0, 1]).ok
    assert not run(ws, [PY, "-c", "import sys; sys.exit(1)"]).ok


def test_timeout_kills_the_program_and_its_children(ws: Path, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(pidfile)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    res = run(ws, [PY, "-c", script], timeout=1.5)
    assert not res.ok and "timed out after 1.5s" in (res.error or "")
    pid = int(pidfile.read_text())
    for _ in range(50):  # SIGKILLed with its group; give the kernel a moment
        if not _alive(pid):
            break
        time.sleep(0.1)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as dead)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def test_missing_program(ws: Path) -> None:
    res = run(ws, ["phasegate-no-such-program-xyz"])
    assert not res.ok and "not found" in (res.error or "")


def test_untrusted_workspace_runs_nothing(ws: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    res = run(ws, [PY, "-c", f"open({str(marker)!r}, 'w')"], trusted=False)
    assert not res.ok and "untrusted" in (res.error or "")
    assert not marker.exists()


def test_without_a_recorder_changes_still_go_to_a_session_backup(ws: Path) -> None:
    res = run(ws, [PY, "-c", "open('calc.py','w').write('x')"])
    assert res.ok
    label = ws / ".phasegate/sessions/s1/backups/implementation-fixer-it2"
    assert (label / "files/calc.py").read_text().startswith("def add")


def test_unchanged_files_are_not_read_again(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backups, "RACY_NS", 0)
    store = SnapshotStore(Workspace(ws))
    first = store.take()
    reads: list[str] = []
    original = SnapshotStore._state

    def counting(self: SnapshotStore, rel: str, st: os.stat_result, store: bool) -> object:
        reads.append(rel)
        return original(self, rel, st, store)

    monkeypatch.setattr(SnapshotStore, "_state", counting)
    (ws / "util.py").write_text("X = 3\n")
    second = store.take()
    assert reads == ["util.py"]
    assert second.files["calc.py"] == first.files["calc.py"]
    assert store.diff(second).changes == []


def test_ruff_as_a_fixer_persona_then_undo(tmp_path: Path) -> None:
    root = tmp_path / "lintme"
    root.mkdir()
    (root / "app.py").write_text("import os\nimport sys\n\nprint(sys.argv)\n")
    (root / "ok.py").write_text("X = 1\n")
    before = tree(root)
    config = Config(
        phases=[
            PhaseConfig(
                name="implementation",
                personas=["ruff_fixer"],
                checks=[CheckConfig(id="IMPL-LINT", owner="ruff_fixer")],
            )
        ],
        personas={
            "ruff_fixer": PersonaConfig(
                kind="command",
                options={"command": [RUFF, "check", "--fix", "--no-cache", "."], "stdin": False},
            )
        },
    )
    result = asyncio.run(remediate(Workspace(root), config, session_id="lint"))
    assert result.phases[0].initial.passed is False
    assert result.final_gates[0].passed, result.final_gates[0]
    assert (root / "app.py").read_text() == "import sys\n\nprint(sys.argv)\n"
    assert [(c.path, c.kind) for c in result.changes] == [("app.py", "modified")]
    undo(Workspace(root), "lint")
    assert tree(root) == before
