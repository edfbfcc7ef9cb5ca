"""Check results cached by the content hash of their inputs, in ``.phasegate/cache/``.

File-scope checks keep findings per (file, content hash); project-scope checks keep one
outcome per hash of all their inputs. The cache is loaded lazily per check and written
atomically on :meth:`ResultCache.flush`, so reopening a workspace can republish the last
findings at once and re-run only what changed since.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from phasegate.checks.base import CheckOutcome
from phasegate.model import Finding

CACHE_VERSION = 1


def _safe_name(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key)


class ResultCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._data: dict[str, dict[str, Any]] = {}
        self._dirty: set[str] = set()
        self._lock = threading.RLock()

    def _entry(self, check_key: str) -> dict[str, Any]:
        with self._lock:
            if check_key not in self._data:
                data: dict[str, Any] = {}
                path = self.directory / f"{_safe_name(check_key)}.json"
                try:
                    raw = json.loads(path.read_text(encoding="utf-8"))
                    if raw.get("version") == CACHE_VERSION:
                        data = raw
                except (OSError, ValueError):
                    data = {}
                data.setdefault("version", CACHE_VERSION)
                data.setdefault("files", {})
                self._data[check_key] = data
            return self._data[check_key]

    # -- file scope ----------------------------------------------------------------------
    def get_file(self, check_key: str, fp: str, path: str, h: str) -> list[Finding] | None:
        e = self._entry(check_key)
        if e.get("fingerprint") != fp:
            return None
        hit = e["files"].get(path)
        if hit is None or hit[0] != h:
            return None
        return [Finding.model_validate(f) for f in hit[1]]

    def put_file(self, check_key: str, fp: str, path: str, h: str, fs: list[Finding]) -> None:
        with self._lock:
            e = self._entry(check_key)
            if e.get("fingerprint") != fp:
                e["fingerprint"] = fp
                e["files"] = {}
            e["files"][path] = [h, [f.model_dump(mode="json") for f in fs]]
            self._dirty.add(check_key)

    def retain_files(self, check_key: str, keep: set[str]) -> None:
        with self._lock:
            e = self._entry(check_key)
            gone = [p for p in e["files"] if p not in keep]
            for p in gone:
                del e["files"][p]
            if gone:
                self._dirty.add(check_key)

    def peek_files(self, check_key: str, fp: str) -> dict[str, tuple[str, list[Finding]]] | None:
        """Every file's last (content hash, findings) for this check, without looking at
        the files; None when nothing is cached for this configuration of the check."""
        e = self._entry(check_key)
        if e.get("fingerprint") != fp:
            return None
        with self._lock:
            items = list(e["files"].items())
        return {p: (h[0], [Finding.model_validate(f) for f in h[1]]) for p, h in items}

    def drop_file(self, check_key: str, path: str) -> None:
        """Forget one file of a file-scope check (it was deleted or left its inputs)."""
        with self._lock:
            e = self._entry(check_key)
            if e["files"].pop(path, None) is not None:
                self._dirty.add(check_key)

    # -- project scope -------------------------------------------------------------------
    def peek_project(self, check_key: str) -> CheckOutcome | None:
        """The last cached outcome of a project check, whatever its inputs are now."""
        e = self._entry(check_key)
        p = e.get("project")
        if not p:
            return None
        return CheckOutcome(
            findings=[Finding.model_validate(f) for f in p["findings"]],
            score=p["score"],
            passed=p["passed"],
            error=None,
        )

    def get_project(self, check_key: str, inputs_hash: str) -> CheckOutcome | None:
        e = self._entry(check_key)
        p = e.get("project")
        if not p or p.get("hash") != inputs_hash:
            return None
        return CheckOutcome(
            findings=[Finding.model_validate(f) for f in p["findings"]],
            score=p["score"],
            passed=p["passed"],
            error=None,
        )

    def put_project(self, check_key: str, inputs_hash: str, outcome: CheckOutcome) -> None:
        with self._lock:
            e = self._entry(check_key)
            e["project"] = {
                "hash": inputs_hash,
                "score": outcome.score,
                "passed": outcome.passed,
                "findings": [f.model_dump(mode="json") for f in outcome.findings],
            }
            self._dirty.add(check_key)

    # -- persistence ---------------------------------------------------------------------
    def flush(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            for key in sorted(self._dirty):
                target = self.directory / f"{_safe_name(key)}.json"
                fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(json.dumps(self._data[key]))  # one-shot: C encoder
                os.replace(tmp, target)
            self._dirty.clear()
