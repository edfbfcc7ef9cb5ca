"""The key that lets the two test checks of one validation share the suite's run reads
the inputs' content hashes through the result cache's memo: a settled file is not read
again, and a file that settles between the two checks keeps its key (one run, not two)."""

from __future__ import annotations

from pathlib import Path

import pytest

from phasegate import cache
from phasegate.cache import ResultCache
from phasegate.checks.testing import pytest_run
from phasegate.config import Config
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace


def workspace(tmp_path: Path) -> Workspace:
    (tmp_path / "tests").mkdir()
    for i in range(4):
        (tmp_path / f"m{i}.py").write_text(f"X = {i}\n")
    (tmp_path / "tests" / "test_m.py").write_text("def test_x() -> None:\n    pass\n")
    ws = Workspace(tmp_path)
    GateRunner(ws, Config(), cache=ResultCache(tmp_path / ".phasegate" / "cache"))
    return ws


def test_the_key_reads_a_settled_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "RACY_NS", 0)  # every file changed long enough ago
    read: list[str] = []
    hash_file = cache.hash_beneath

    def counting(root: Path, rel: str) -> tuple[str, bytes | None] | None:
        read.append(rel)
        return hash_file(root, rel)

    monkeypatch.setattr(cache, "hash_beneath", counting)
    ws = workspace(tmp_path)
    first = pytest_run._suite_key(ws, Config(), "python3", 60.0)
    assert "m1.py" in read
    count = len(read)
    assert pytest_run._suite_key(ws, Config(), "python3", 60.0) == first
    assert len(read) == count  # the memo answered
    (tmp_path / "m1.py").write_text("X = 11\n")
    assert pytest_run._suite_key(ws, Config(), "python3", 60.0) != first


def test_a_file_settling_between_the_two_checks_keeps_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace(tmp_path)
    monkeypatch.setattr(cache, "RACY_NS", 10**18)  # just written: read every time
    recent = pytest_run._suite_key(ws, Config(), "python3", 60.0)
    monkeypatch.setattr(cache, "RACY_NS", 0)  # the same files, settled meanwhile
    assert pytest_run._suite_key(ws, Config(), "python3", 60.0) == recent
