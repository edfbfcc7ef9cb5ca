"""A remediation killed at any instant can be undone, byte for byte and mode for mode.

``phasegate remediate`` runs as a real process and is sent SIGKILL at chosen instants:
before its program persona runs, while it runs (the program itself waits there), after
it, while a scaffold persona backs up and writes files, while the backup is sealed, after
it is sealed. The instants are reached through the test hook of
:func:`phasegate.backups.pause_point` (the process announces it has reached the instant
and waits there until it is killed), so nothing depends on timing: a loaded machine only
makes the test slower. After each kill the test waits until the process and everything it
started are gone, then ``phasegate undo`` must restore every file and folder exactly
(bytes, permission bits, which folders exist).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from phasegate.backups import BackupRecorder, SnapshotStore
from phasegate.config import CheckConfig, Config, PersonaConfig, PhaseConfig
from phasegate.remediate import RemediationError, remediate, undo
from phasegate.workspace import Workspace

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="kills and waits for processes through /proc and the parent-death signal (Linux)",
)

MARKER = "PHASEGATE_KILL_TEST"
SAFETY_S = 300.0  # only a hung process ever gets near it; a slow one just takes longer

CONFIG = """\
thresholds = [0.99]

[[phases]]
name = "implementation"
personas = ["fixer"]

[[phases.checks]]
id = "IMPL-STUB"
owner = "fixer"

[[phases]]
name = "deployment"
personas = ["devops_engineer"]

[[phases.checks]]
id = "DEP-CHANGELOG"

[[phases.checks]]
id = "DEP-CI"

[personas.fixer]
kind = "command"
options = {{ command = [{python}, "fixer.py"], stdin = false }}
"""

# The program persona: half its changes, then (when asked) it waits to be killed, then
# the other half. A permission-only change among them.
FIXER = textwrap.dedent(
    """
    import os, pathlib, time
    pathlib.Path("app/core.py").write_text("def add(a, b):\\n    return a + b\\n")
    os.chmod("run.sh", 0o644)
    pause = os.environ.get("FIXER_PAUSE_FILE")
    if pause:
        pathlib.Path(pause).write_text("fixer")
        while True:
            time.sleep(3600)
    os.remove("old.txt")
    pathlib.Path("data.bin").write_bytes(bytes(range(256))[::-1])
    os.makedirs("gen/deep", exist_ok=True)
    pathlib.Path("gen/deep/out.txt").write_text("generated\\n")
    """
)

Tree = dict[str, tuple[str, int, bytes]]


def make_workspace(root: Path) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "phasegate.toml").write_text(CONFIG.format(python=json.dumps(sys.executable)))
    (root / "fixer.py").write_text(FIXER)
    (root / "app/core.py").write_text("def add(a, b):\n    raise NotImplementedError\n")
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    (root / "old.txt").write_text("remove me\n")
    (root / "data.bin").write_bytes(bytes(range(256)))
    return root


def tree(root: Path) -> Tree:
    """Every file, symlink and folder under ``root`` but ``.phasegate/``: kind, permission
    bits, content."""
    out: Tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d != ".phasegate"]
        for name in [*dirnames, *filenames]:
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", 0, os.readlink(full).encode())
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), b"")
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), Path(full).read_bytes())
    return out


def _marked(value: str) -> list[int]:
    """Live processes carrying ``MARKER=value`` in their environment."""
    needle = f"{MARKER}={value}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            env = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in env and state != b"Z":
            pids.append(int(entry))
    return pids


class Run:
    """``phasegate <args>`` as a real process, its descendants traceable by a marker."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.value = uuid.uuid4().hex
        full = dict(os.environ)
        full.pop("PHASEGATE_TEST_PAUSE", None)
        full.update(env or {})
        full[MARKER] = self.value
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "phasegate", *args],
            env=full,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def wait_for(self, path: Path) -> str:
        """Until ``path`` appears with its content (the process reached its pause: the
        file may be seen between its creation and its write); its content."""
        deadline = time.monotonic() + SAFETY_S
        while not (path.exists() and path.read_text()):
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode() if self.proc.stdout else ""
                pytest.fail(f"ended ({self.proc.returncode}) before its pause:\n{out}")
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"{path} never appeared")
            time.sleep(0.01)
        return path.read_text()

    def kill(self) -> None:
        """SIGKILL the process (not its children: they must die with it), reap it, and
        wait until nothing it started is left."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.communicate()
        deadline = time.monotonic() + SAFETY_S
        while _marked(self.value):
            assert time.monotonic() < deadline, "a child of the killed process lives on"
            time.sleep(0.01)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    full.pop("PHASEGATE_TEST_PAUSE", None)
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "phasegate", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=SAFETY_S,
        check=False,
    )


def kill_remediate_at(ws: Path, pause_file: Path, point: str) -> None:
    """Run ``phasegate remediate`` in ``ws`` and SIGKILL it at ``point`` (a pause point of
    :mod:`phasegate.backups`, or ``persona``: while the program persona runs)."""
    if point == "persona":
        env = {"FIXER_PAUSE_FILE": str(pause_file)}
    else:
        env = {"PHASEGATE_TEST_PAUSE": point, "PHASEGATE_TEST_PAUSE_FILE": str(pause_file)}
    run = Run("remediate", str(ws), env=env)
    reached = run.wait_for(pause_file)
    assert reached == ("fixer" if point == "persona" else point.partition(":")[0])
    run.kill()
    pause_file.unlink()


# (instant, whether files have changed when it is reached, whether the label is sealed)
INSTANTS = [
    ("snapshot-stored", False, False),  # the program's snapshot: objects stored, no label
    ("snapshot-pending", False, False),  # snapshot in the label, the program not started
    ("persona", True, False),  # the program halfway through its changes
    ("snapshot-recorded", True, False),  # its changes recorded, the snapshot still pending
    ("backup-copied", True, False),  # a scaffold's backups written, not the manifest
    ("backup-saved", True, False),  # the manifest written, not the scaffold's file
    ("backup-saved:4", True, False),  # three scaffold files written, the fourth not
    ("sealing", True, False),  # after-states in the manifest, meta not sealed
    ("sealed", True, True),  # sealed, remediate not finished
]


@pytest.mark.parametrize(("point", "changes", "sealed"), INSTANTS, ids=[i[0] for i in INSTANTS])
def test_undo_restores_everything_after_a_kill(
    tmp_path: Path, point: str, changes: bool, sealed: bool
) -> None:
    ws = make_workspace(tmp_path / "ws")
    original = tree(ws)
    kill_remediate_at(ws, tmp_path / "paused", point)
    assert (tree(ws) != original) == changes
    res = cli("undo", str(ws))
    if not changes and res.returncode == 2:  # killed before the label was made
        assert "no remediation to undo" in res.stderr
    else:
        assert res.returncode == 0, res.stdout + res.stderr
        assert ("interrupted" in res.stdout) == (not sealed)
    assert tree(ws) == original
    assert (ws / "run.sh").stat().st_mode & 0o777 == 0o755
    res = cli("undo", str(ws))
    assert res.returncode == 2 and "no remediation to undo" in res.stderr


@pytest.mark.parametrize("point", ["persona", "sealed"])
def test_a_killed_undo_is_finished_by_running_it_again(tmp_path: Path, point: str) -> None:
    ws = make_workspace(tmp_path / "ws")
    original = tree(ws)
    pause = tmp_path / "paused"
    kill_remediate_at(ws, pause, point)
    env = {"PHASEGATE_TEST_PAUSE": "undo-restoring:1", "PHASEGATE_TEST_PAUSE_FILE": str(pause)}
    run = Run("undo", str(ws), env=env)
    assert run.wait_for(pause) == "undo-restoring"
    run.kill()
    assert tree(ws) != original  # one file restored, the others not yet
    res = cli("undo", str(ws))
    assert res.returncode == 0, res.stdout + res.stderr
    assert tree(ws) == original


def test_undo_waits_for_a_running_remediation(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    original = tree(ws)
    pause = tmp_path / "paused"
    run = Run("remediate", str(ws), env={"FIXER_PAUSE_FILE": str(pause)})
    run.wait_for(pause)
    during = tree(ws)
    res = cli("undo", str(ws))
    assert res.returncode == 2 and "cannot undo" in res.stderr, res.stderr
    assert tree(ws) == during  # nothing touched while the remediation runs
    run.kill()
    assert cli("undo", str(ws)).returncode == 0
    assert tree(ws) == original


def test_edits_after_a_kill_are_kept_before_undo_overwrites_them(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    original = tree(ws)
    kill_remediate_at(ws, tmp_path / "paused", "persona")
    (ws / "app/core.py").write_text("my own edit\n")
    res = cli("undo", str(ws))
    assert res.returncode == 0, res.stderr
    assert "kept in backup pre-undo-001" in res.stdout
    assert tree(ws) == original
    [kept] = ws.glob(".phasegate/sessions/*/backups/pre-undo-001/files/app/core.py")
    assert kept.read_text() == "my own edit\n"


def test_edits_after_a_kill_while_sealing_need_force(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    original = tree(ws)
    kill_remediate_at(ws, tmp_path / "paused", "sealing")
    (ws / "CHANGELOG.md").write_text("my own changelog\n")
    res = cli("undo", str(ws))
    assert res.returncode == 2 and "CHANGELOG.md" in res.stderr and "--force" in res.stderr
    assert (ws / "CHANGELOG.md").read_text() == "my own changelog\n"
    res = cli("undo", "--force", str(ws))
    assert res.returncode == 0, res.stderr
    assert tree(ws) == original
    [kept] = ws.glob(".phasegate/sessions/*/backups/pre-undo-001/files/CHANGELOG.md")
    assert kept.read_text() == "my own changelog\n"


# -- in-process: modes, damaged backups, a pending snapshot's objects ------------------------


def test_a_permission_only_change_is_listed_and_undone(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text("#!/bin/sh\n")
    (tmp_path / "run.sh").chmod(0o755)
    config = Config(
        phases=[
            PhaseConfig(
                name="p",
                personas=["fixer"],
                checks=[CheckConfig(id="IMPL-STUB", owner="fixer")],
            )
        ],
        personas={
            "fixer": PersonaConfig(
                kind="command",
                options={
                    "command": [
                        sys.executable,
                        "-c",
                        # the snapshot is in the label before the program runs
                        "import glob, os; "
                        "assert glob.glob('.phasegate/sessions/m1/backups/*/snapshot.json'); "
                        "os.chmod('run.sh', 0o644); "
                        "open('s.py', 'w').write('def f():\\n    return 1\\n')",
                    ]
                },
            )
        },
    )
    (tmp_path / "s.py").write_text("def f():\n    pass\n")
    result = asyncio.run(remediate(Workspace(tmp_path), config, session_id="m1"))
    assert result.phases[0].persona_runs[0].ok, result.phases[0].persona_runs[0].error
    assert not list(tmp_path.glob(".phasegate/sessions/m1/backups/*/snapshot.json"))
    assert ("run.sh", "modified") in {(c.path, c.kind) for c in result.changes}
    assert (tmp_path / "run.sh").stat().st_mode & 0o777 == 0o644
    res = undo(Workspace(tmp_path))
    assert "run.sh" in [c.path for c in res.restored]
    assert (tmp_path / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "s.py").read_text() == "def f():\n    pass\n"


def test_recorder_restores_permission_bits(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    (tmp_path / "a.sh").write_text("x")
    (tmp_path / "a.sh").chmod(0o750)
    rec = BackupRecorder.for_session(ws, "s1", "remediation-001")
    rec.save("a.sh")
    (tmp_path / "a.sh").chmod(0o600)
    assert [(c.path, c.kind) for c in rec.changes()] == [("a.sh", "modified")]
    rec.seal(kind="remediation")
    rec.restore()
    assert (tmp_path / "a.sh").stat().st_mode & 0o777 == 0o750


def test_a_damaged_backup_is_refused_and_force_restores_the_rest(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(f"old {name}\n")
    rec = BackupRecorder.for_session(ws, "s1", "remediation-001")
    rec.meta["kind"] = "remediation"
    rec.save_many(["a.txt", "b.txt"])
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("new\n")
    rec.seal()
    (rec.dir / "files/b.txt").write_text("old b.tx")  # a torn copy
    with pytest.raises(RemediationError, match=r"b\.txt.*damaged"):
        undo(ws)
    assert (tmp_path / "a.txt").read_text() == "new\n"
    res = undo(ws, force=True)
    assert res.skipped == ["b.txt"]
    assert (tmp_path / "a.txt").read_text() == "old a.txt\n"
    assert (tmp_path / "b.txt").read_text() == "new\n"


def test_a_pending_snapshot_survives_later_snapshots(tmp_path: Path) -> None:
    """The objects of a killed program's snapshot are kept until it is recovered, even
    when other programs' snapshots no longer refer to them."""
    ws = Workspace(tmp_path)
    (tmp_path / "a.txt").write_text("original\n")
    rec = BackupRecorder.for_session(ws, "s1", "remediation-001")
    rec.meta["kind"] = "remediation"
    store = SnapshotStore(ws)
    store.take(rec)  # the program starts, then phasegate is killed: nothing recorded
    (tmp_path / "a.txt").write_text("changed by the program\n")
    (tmp_path / "new.txt").write_text("created\n")
    store.take()  # another program's snapshot: a.txt's original is referenced by no index
    store.take()
    res = undo(ws)
    assert res.interrupted
    assert {(c.path, c.kind) for c in res.restored} == {
        ("a.txt", "modified"),
        ("new.txt", "created"),
    }
    assert (tmp_path / "a.txt").read_text() == "original\n"
    assert not (tmp_path / "new.txt").exists()
    assert not (rec.dir / "snapshot.json").exists()


def test_leftover_temporary_files_of_a_killed_write_are_removed(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    rec = BackupRecorder.for_session(ws, "s1", "remediation-001")
    rec.meta["kind"] = "remediation"
    rec.save("docs/new.md")  # then killed inside the atomic write
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/.new.md.ab12cd_9.tmp").write_text("half")
    (tmp_path / "docs/.other.md.ab12cd_9.tmp").write_text("not ours")
    undo(ws)
    assert sorted(os.listdir(tmp_path / "docs")) == [".other.md.ab12cd_9.tmp"]
    shutil.rmtree(tmp_path / "docs")
    assert sorted(os.listdir(tmp_path)) == [".phasegate"]
