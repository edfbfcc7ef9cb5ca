"""Backups: restore is all-checked-first, ids and paths are sanitised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phasegate.backups import (
    BackupError,
    BackupRecorder,
    list_backups,
    next_label,
    session_backups_dir,
)
from phasegate.workspace import PathOutsideWorkspace, Workspace


def test_save_restore_and_changes(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    (tmp_path / "a.txt").write_bytes(b"\x00old bytes\xff")
    rec = BackupRecorder.for_session(ws, "s1", "remediation-001")
    rec.save_many(["a.txt", "new/b.txt"])
    rec.save("a.txt")  # the first save wins
    (tmp_path / "a.txt").write_bytes(b"new")
    (tmp_path / "new").mkdir()
    (tmp_path / "new/b.txt").write_text("created")
    rec.seal(kind="remediation")
    assert [(c.path, c.kind) for c in rec.changes()] == [
        ("a.txt", "modified"),
        ("new/b.txt", "created"),
    ]
    assert rec.conflicts() == []
    rec.restore()
    assert (tmp_path / "a.txt").read_bytes() == b"\x00old bytes\xff"
    assert not (tmp_path / "new").exists()
    [info] = list_backups(ws)
    assert info.session == "s1" and info.label == "remediation-001" and not info.undone
    assert next_label(session_backups_dir(ws, "s1"), "remediation") == "remediation-002"


def test_a_missing_backup_fails_before_anything_is_touched(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("old")
    rec = BackupRecorder.for_session(ws, "s1", "x")
    rec.save_many(["a.txt", "b.txt"])
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("new")
    (rec.dir / "files/b.txt").unlink()
    with pytest.raises(BackupError, match=r"b\.txt"):
        rec.restore()
    assert (tmp_path / "a.txt").read_text() == "new"


def test_a_tampered_manifest_cannot_reach_outside(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    ws = Workspace(root)
    rec = BackupRecorder.for_session(ws, "s1", "x")
    rec.save("a.txt")
    manifest = rec.dir / "manifest.json"
    manifest.write_text(json.dumps({"../outside.txt": {"existed": True, "kind": "file"}}))
    (tmp_path / "outside.txt").write_text("keep")
    with pytest.raises(PathOutsideWorkspace):
        BackupRecorder.for_session(ws, "s1", "x").restore()
    assert (tmp_path / "outside.txt").read_text() == "keep"


@pytest.mark.parametrize("bad", ["../x", "a/b", "", "x" * 65, "s p"])
def test_session_ids_are_sanitised(tmp_path: Path, bad: str) -> None:
    with pytest.raises(BackupError, match="invalid session id"):
        session_backups_dir(Workspace(tmp_path), bad)


@pytest.mark.parametrize("bad", ["..", ".", "../x", "a/b", "", "s p"])
def test_labels_are_sanitised(tmp_path: Path, bad: str) -> None:
    with pytest.raises(BackupError, match="invalid backup label"):
        BackupRecorder(tmp_path / "b", Workspace(tmp_path), bad)
