"""Backups of what personas replace, so every change can be undone.

Before a persona writes a file, :meth:`BackupRecorder.save` copies the file's current
bytes (or records that it did not exist) under
``.phasegate/sessions/<id>/backups/<label>/`` with a ``manifest.json``. Restoring a
label puts every recorded file back exactly, and deletes files that did not exist.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from phasegate.workspace import Workspace


class BackupRecorder:
    def __init__(self, backups_dir: Path, workspace: Workspace, label: str) -> None:
        self.workspace = workspace
        self.label = label
        self.dir = backups_dir / label
        self.manifest: dict[str, dict[str, Any]] = {}
        mf = self.dir / "manifest.json"
        if mf.is_file():
            self.manifest = json.loads(mf.read_text(encoding="utf-8"))

    def save(self, rel: str) -> None:
        """Record ``rel``'s current content once per label (the first save wins)."""
        if rel in self.manifest:
            return
        src = self.workspace.abspath(rel)
        entry: dict[str, Any] = {"existed": src.is_file()}
        if src.is_file():
            dst = self.dir / "files" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        self.manifest[rel] = entry
        self._write_manifest()

    def snapshot(self, rels: list[str]) -> None:
        for rel in rels:
            self.save(rel)

    def _write_manifest(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / "manifest.json.tmp"
        tmp.write_text(json.dumps(self.manifest, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.dir / "manifest.json")

    def restore(self) -> list[str]:
        """Put every recorded file back as it was; returns the restored paths."""
        restored = []
        for rel, entry in sorted(self.manifest.items()):
            dst = self.workspace.abspath(rel)
            if entry["existed"]:
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(self.dir / "files" / rel, dst)
            else:
                dst.unlink(missing_ok=True)
            restored.append(rel)
        self.workspace.notify_changed(restored)
        return restored
