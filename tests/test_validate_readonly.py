"""``phasegate validate`` writes nothing in the workspace outside ``.phasegate/``.

A copy of the example workspace is validated with every phase of the default pipeline
(the real checks and tools), in a separate process, and every file's bytes and the file
list are compared before and after.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from phasegate.checks.base import registered_checks
from phasegate.config import PhaseConfig, default_phases
from phasegate.docgen import toml_value

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "taskboard"
IGNORED = {".phasegate"}


def snapshot(root: Path) -> dict[str, str]:
    """Every file and directory under ``root`` (outside .phasegate/) -> sha256 / 'dir'."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir.parts and rel_dir.parts[0] in IGNORED:
            continue
        for d in dirnames:
            rel = (rel_dir / d).as_posix()
            if rel not in IGNORED:
                out[rel + "/"] = "dir"
        for f in filenames:
            p = Path(dirpath) / f
            out[(rel_dir / f).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def phases_toml(phases: list[PhaseConfig]) -> str:
    """A ``phasegate.toml`` setting only ``phases``."""
    lines: list[str] = []
    for p in phases:
        lines += ["[[phases]]", f"name = {toml_value(p.name)}"]
        lines.append(f"personas = {toml_value(p.personas)}")
        for c in p.checks:
            lines += ["[[phases.checks]]", f"id = {toml_value(c.id)}"]
            if not c.enabled:
                lines.append("enabled = false")
    return "\n".join(lines) + "\n"


def _sample_workspace(root: Path) -> None:
    """A small workspace with something for every phase (used without the example)."""
    files = {
        "docs/requirements.md": "# Requirements\n\n## REQ-001 Add\n\nAcceptance: adds.\n",
        "docs/design.md": "# Design\n\n## Architecture\n\nREQ-001 is a function.\n",
        "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
        "tests/test_calc.py": "from calc import add\n\n\ndef test_add() -> None:\n"
        "    assert add(1, 2) == 3  # REQ-001\n",
        "README.md": "# calc\n\n## Install\n\npip install .\n\n## Usage\n\nadd(1, 2)\n",
        "pyproject.toml": '[project]\nname = "calc"\nversion = "0.1.0"\n',
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def test_validate_leaves_the_workspace_unchanged(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    if EXAMPLE.is_dir():
        shutil.copytree(
            EXAMPLE, ws, ignore=shutil.ignore_patterns(".phasegate", ".venv", "__pycache__")
        )
    else:
        _sample_workspace(ws)
    # Use the whole default pipeline; checks not installed yet are left out of it.
    reg = registered_checks()
    phases = default_phases()
    missing = [c.id for p in phases for c in p.checks if c.kind_name not in reg]
    if missing:
        for p in phases:
            p.checks = [c for c in p.checks if c.kind_name in reg]
        (ws / "phasegate.toml").write_text(phases_toml(phases))
    before = snapshot(ws)
    assert before

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHONDONTWRITEBYTECODE")}
    proc = subprocess.run(
        [sys.executable, "-m", "phasegate", "validate", str(ws), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    assert [p["name"] for p in data["phases"]] == [p.name for p in phases]
    ran = [c["id"] for p in data["phases"] for c in p["checks"]]
    assert ran, "no check ran"

    after = snapshot(ws)
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    assert (added, removed, changed) == ([], [], []), f"checks that ran: {ran}"
    assert (ws / ".phasegate" / "cache").is_dir()


@pytest.mark.parametrize("fmt", ["json"])
def test_validate_twice_gives_the_same_result(tmp_path: Path, fmt: str) -> None:
    """The second run answers from the cache with identical output."""
    ws = tmp_path / "ws"
    _sample_workspace(ws)
    reg = registered_checks()
    phases = default_phases()
    for p in phases:
        p.checks = [c for c in p.checks if c.kind_name in reg and c.enabled]
    (ws / "phasegate.toml").write_text(phases_toml(phases))
    args = [sys.executable, "-m", "phasegate", "validate", str(ws), "--format", fmt]
    first = subprocess.run(args, capture_output=True, text=True, timeout=600)
    second = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert first.returncode in (0, 1), first.stderr
    assert second.returncode == first.returncode
    # identical but for the evidence, which says how each result was obtained
    docs = [json.loads(run.stdout) for run in (first, second)]
    hows: list[list[str]] = []
    for doc in docs:
        hows.append([c.pop("evidence")["how"] for p in doc["phases"] for c in p["checks"]])
    assert docs[0] == docs[1]
    assert "cached" not in hows[0] and "cached" in hows[1]
