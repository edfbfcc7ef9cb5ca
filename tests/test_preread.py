"""A per-file check analyses exactly the bytes its result is cached under: the runner
hashes a changed file and hands those bytes to the check (Workspace.preread), so the
file is read once per check, and a change between the hash and the analysis cannot make
the cache hold findings of other content."""

from __future__ import annotations

from pathlib import Path

import pytest

from phasegate.cache import ResultCache
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace


def runner_for(root: Path) -> GateRunner:
    cfg = Config(phases=[PhaseConfig(name="p", checks=[CheckConfig(id="IMPL-SYNTAX")])])
    return GateRunner(Workspace(root), cfg, cache=ResultCache(root / ".phasegate/cache"))


def test_the_check_reads_what_was_hashed_without_opening_the_file_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/a.py").write_text("def f(:\n")  # a syntax error
    runner = runner_for(tmp_path)
    (rc,) = runner.checks("p")
    opened: list[str] = []
    real_open = Workspace._open

    def counting(self: Workspace, rel: str):  # type: ignore[no-untyped-def]
        opened.append(rel)
        return real_open(self, rel)

    monkeypatch.setattr(Workspace, "_open", counting)
    result = runner.run_check(rc)
    assert [f.path for f in result.findings] == ["pkg/a.py"]
    assert "pkg/a.py" not in opened  # the hash's read served the check


def test_the_kept_bytes_are_this_blocks_only(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("on disk\n")
    ws = Workspace(tmp_path)
    with ws.preread("a.py", b"hashed\n"):
        assert ws.read_bytes("a.py") == b"hashed\n"
        assert ws.read_bytes("b.py") is None  # another file: read as usual (missing)
    assert ws.read_bytes("a.py") == b"on disk\n"
    with ws.preread("a.py", None):
        assert ws.read_bytes("a.py") == b"on disk\n"
