"""``validate --shard I/N`` and ``phasegate merge``: the merge of N shards is the single run.

Real workspaces in ``tmp_path`` (the bundled example, copied; a generated one of about
200 files with findings of every file-scope check, in git), every command run through
the CLI. What must be equal between a merge and a single ``validate``: every phase's
status, score, threshold, unknown and not-applicable checks, every check's status,
reason, score, findings (and in new-code mode their classification, the baseline
findings gone, the counts and held checks), SARIF results, rules and notifications, and
the exit status. Not compared: the evidence of each check (durations, temporary file
names; a merged file-scope check has no inputs hash).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from phasegate.checks.base import Check, CheckContext, CheckOutcome, registered_checks
from phasegate.cli import cli
from phasegate.config import Config
from phasegate.model import Finding, Range
from phasegate.runner import GateRunner
from phasegate.shards import (
    KNOWN_COSTS,
    Shard,
    ShardError,
    config_fingerprint,
    plan,
    shard_of,
)
from phasegate.workspace import Workspace

pytestmark = pytest.mark.timeout(600)

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "taskboard"


# -- running the CLI -----------------------------------------------------------------------
def run(*args: str) -> Result:
    return CliRunner().invoke(cli, [*args], catch_exceptions=False)


def fresh(root: Path) -> None:
    """Forget every cached result (TEST-COVERAGE also remembers what passed)."""
    shutil.rmtree(root / ".phasegate", ignore_errors=True)


def single(root: Path, fmt: str, *extra: str) -> tuple[int, Any]:
    fresh(root)
    res = run("validate", str(root), "--format", fmt, *extra)
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.stdout)


def shard_files(
    root: Path, out: Path, count: int, fmt: str, *extra: str, clear: bool = True
) -> list[Path]:
    """Run the ``count`` shards one after the other (each with a cold cache unless
    ``clear`` is false), their outputs written to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(1, count + 1):
        if clear:
            fresh(root)
        res = run("validate", str(root), "--shard", f"{i}/{count}", "--format", fmt, *extra)
        assert res.exit_code == 0, res.output
        path = out / f"shard-{i}-of-{count}.{fmt}"
        path.write_text(res.stdout, encoding="utf-8")
        files.append(path)
    return files


def merge(root: Path, files: list[Path], fmt: str) -> tuple[int, Any]:
    res = run("merge", "-C", str(root), "--format", fmt, *map(str, files))
    assert res.exit_code in (0, 1), res.output
    return res.exit_code, json.loads(res.stdout)


def verdict(doc: dict[str, Any]) -> dict[str, Any]:
    """A validate JSON document without the evidence of each check."""
    doc = json.loads(json.dumps(doc))
    for phase in doc["phases"]:
        for check in phase["checks"]:
            check.pop("evidence")
    return doc


def sarif_verdict(doc: dict[str, Any]) -> dict[str, Any]:
    """A SARIF log without the evidence of each check (invocation properties)."""
    doc = json.loads(json.dumps(doc))
    for run_ in doc["runs"]:
        for inv in run_["invocations"]:
            inv.pop("properties")
    return doc


# -- the example ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("example") / "taskboard"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".phasegate", "__pycache__"))
    return root


@pytest.mark.parametrize("count", [2, 3])
def test_example_json_merge_is_the_single_run(example: Path, tmp_path: Path, count: int) -> None:
    code, whole = single(example, "json")
    files = shard_files(example, tmp_path, count, "json")
    merged_code, merged = merge(example, files, "json")
    assert merged_code == code == 1  # the example fails some gates on purpose
    assert verdict(merged) == verdict(whole)
    # every check of the example ran in exactly one shard or was split
    payloads = [json.loads(f.read_text())["shard"] for f in files]
    for row in zip(*(p["checks"] for p in payloads), strict=True):
        if row[0]["mode"] == "whole":
            assert sum("result" in e for e in row) == 1
        else:
            assert sum(e["analysed"] for e in row) == row[0]["files"]


def test_example_sarif_merge_is_the_single_run(example: Path, tmp_path: Path) -> None:
    code, whole = single(example, "sarif")
    files = shard_files(example, tmp_path, 2, "sarif")
    merged_code, merged = merge(example, files, "sarif")
    assert merged_code == code
    assert sarif_verdict(merged) == sarif_verdict(whole)
    # a shard's SARIF log is a log of its own findings, without a verdict
    part = json.loads(files[0].read_text())
    assert "gates" not in part["runs"][0]["properties"]
    assert part["runs"][0]["properties"]["phasegate/shard"]["index"] == 1


def test_example_mixed_formats_and_text(example: Path, tmp_path: Path) -> None:
    _code, whole = single(example, "json")
    json_files = shard_files(example, tmp_path / "j", 3, "json")
    sarif_files = shard_files(example, tmp_path / "s", 3, "sarif")
    mixed = [sarif_files[0], json_files[1], sarif_files[2]]
    code, merged = merge(example, mixed, "json")
    assert code == 1
    assert verdict(merged) == verdict(whole)
    out = tmp_path / "verdict.txt"
    res = run("merge", "-C", str(example), "-o", str(out), *map(str, mixed))
    assert res.exit_code == 1
    text = out.read_text(encoding="utf-8")
    assert "2/5 gates passed" in text and "merged from 3 shards" in text
    assert "taskboard/service.py:65:5: IMPL-STUB" in text


# -- a generated workspace -------------------------------------------------------------------
CONFIG = """\
thresholds = [0.9]

[[phases]]
name = "requirements"
checks = [{ id = "REQ-EXISTS" }, { id = "REQ-IDS" }, { id = "REQ-PLACEHOLDER" }]

[[phases]]
name = "implementation"
checks = [{ id = "IMPL-SYNTAX" }, { id = "IMPL-STUB" }, { id = "IMPL-LINT" }]

[[phases]]
name = "deployment"
checks = [{ id = "DEP-DOCKERFILE" }, { id = "DEP-README" }]
"""

REQUIREMENTS = """\
# Requirements

## Overview

Records and the operations on them.

## Requirements

### REQ-001 Records

Acceptance criteria:
- a record has a name

### REQ-002 Totals

Acceptance criteria:
- totals add amounts
"""

PYPROJECT = """\
[project]
name = "generated"
version = "0.1.0"
requires-python = ">=3.10"

[tool.ruff.lint]
select = ["E4", "E7", "E9", "F"]
"""


def module(rng: random.Random, i: int) -> str:
    lines = [f'"""Module {i}."""', "", "from __future__ import annotations", ""]
    if i % 17 == 0:
        lines.append("import sys")  # unused: IMPL-LINT
    lines += ["import math", "", ""]
    for f in range(rng.randint(2, 4)):
        lines += [f"def compute_{i}_{f}(values: list[float]) -> float:"]
        lines.append(f'    """Total {f}."""')
        if i % 7 == 0 and f == 0:
            lines.append("    raise NotImplementedError")  # IMPL-STUB
        elif i % 23 == 0 and f == 0:
            lines.append("    pass  # phasegate: ignore[IMPL-STUB]")  # silenced
        else:
            lines.append(f"    return math.fsum(values) * {f + 1}")
        lines += ["", ""]
    if i % 11 == 0:
        lines.append("# TODO: handle empty lists")  # IMPL-STUB marker
    if i % 29 == 0:
        lines.append("def broken(:\n    pass")  # IMPL-SYNTAX
    return "\n".join(lines) + "\n"


DOCKERFILES = {
    "Dockerfile": 'FROM python:3.12-slim\nUSER app\nCMD ["python"]\n',
    "services/api/Dockerfile": 'FROM python:latest\nCMD ["python"]\n',
    "services/worker/Dockerfile": 'FROM python:3.12\nUSER worker\nCMD ["python"]\n',
    "services/web/Dockerfile.dev": "FROM node\nEXPOSE 80\n",
    "ops/base.Dockerfile": "FROM debian:12\nUSER nobody\n",
}


def make_workspace(root: Path, size: int = 200, seed: int = 11) -> Path:
    rng = random.Random(seed)
    root.mkdir(parents=True)
    (root / "phasegate.toml").write_text(CONFIG, encoding="utf-8")
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (root / "README.md").write_text(
        "# generated\n\n## Install\n\npip install .\n\n## Usage\n\npython -m pkg_0\n",
        encoding="utf-8",
    )
    (root / "docs").mkdir()
    (root / "docs" / "requirements.md").write_text(REQUIREMENTS, encoding="utf-8")
    (root / ".gitignore").write_text(".phasegate/\n", encoding="utf-8")
    for i in range(size):
        package = root / f"pkg_{i // 50}"
        if not package.exists():
            package.mkdir()
            (package / "__init__.py").write_text(f'"""Package {i // 50}."""\n', encoding="utf-8")
        (package / f"mod_{i:03d}.py").write_text(module(rng, i), encoding="utf-8")
    (root / "pkg_0" / "empty").mkdir()
    (root / "pkg_0" / "empty" / "__init__.py").write_text("", encoding="utf-8")
    for rel, text in DOCKERFILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    git(root, "init", "-q")
    commit(root, "generated")
    return root


def git(root: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws")


def findings_of(doc: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [
        f for p in doc["phases"] for c in p["checks"] if c["id"] == check for f in c["findings"]
    ]


@pytest.mark.parametrize("count", [2, 3])
def test_generated_merge_is_the_single_run(generated: Path, tmp_path: Path, count: int) -> None:
    code, whole = single(generated, "json")
    # the workspace has findings of every file-scope check, spread over the shards
    assert findings_of(whole, "IMPL-STUB") and findings_of(whole, "IMPL-SYNTAX")
    assert findings_of(whole, "DEP-DOCKERFILE")
    stub = next(c for p in whole["phases"] for c in p["checks"] if c["id"] == "IMPL-STUB")
    assert 0 < stub["score"] < 1
    files = shard_files(generated, tmp_path / "out", count, "json")
    merged_code, merged = merge(generated, files, "json")
    assert merged_code == code == 1
    assert verdict(merged) == verdict(whole)
    owners = {
        path: s["index"]
        for f in files
        for s in [json.loads(f.read_text())["shard"]]
        for c in s["checks"]
        if c["id"] == "IMPL-SYNTAX"
        for path in c["per_file"]
    }
    assert len(owners) > 200 and set(owners.values()) == set(range(1, count + 1))

    code, whole_sarif = single(generated, "sarif")
    files = shard_files(generated, tmp_path / "sarif", count, "sarif")
    merged_code, merged_sarif = merge(generated, files, "sarif")
    assert merged_code == code
    assert sarif_verdict(merged_sarif) == sarif_verdict(whole_sarif)


def test_generated_untrusted(generated: Path, tmp_path: Path) -> None:
    code, whole = single(generated, "json", "--untrusted")
    files = shard_files(generated, tmp_path, 2, "json", "--untrusted")
    merged_code, merged = merge(generated, files, "json")
    assert merged_code == code
    assert verdict(merged) == verdict(whole)


def change(root: Path) -> None:
    """New findings on top of the committed ones, and some fixed."""
    for i in (3, 50, 101, 150, 199):
        path = root / f"pkg_{i // 50}" / f"mod_{i:03d}.py"
        path.write_text(
            path.read_text(encoding="utf-8") + "\n\ndef added():\n    ...\n", encoding="utf-8"
        )
    for i in (0, 7, 14, 49, 116):  # stubs and syntax errors fixed, on every shard
        path = root / f"pkg_{i // 50}" / f"mod_{i:03d}.py"
        text = path.read_text(encoding="utf-8").replace("raise NotImplementedError", "return 0.0")
        path.write_text(text.replace("def broken(:\n    pass", ""), encoding="utf-8")
    (root / "services" / "worker" / "Dockerfile").write_text("FROM python:latest\n")


def test_generated_since(generated: Path, tmp_path: Path) -> None:
    change(generated)
    code, whole = single(generated, "json", "--since", "HEAD")
    new = [f for p in whole["phases"] for c in p["checks"] for f in c["findings"]]
    assert {f["baseline_state"] for f in new} == {"new", "unchanged"}
    assert whole["new_code"]["held"]  # new findings hold a gate
    for count in (2, 3):
        files = shard_files(generated, tmp_path / str(count), count, "json", "--since", "HEAD")
        merged_code, merged = merge(generated, files, "json")
        assert merged_code == code
        assert verdict(merged) == verdict(whole)


def test_generated_baseline(generated: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.sarif"
    res = run("baseline", str(generated), "-o", str(baseline))
    assert res.exit_code == 0, res.output
    change(generated)
    code, whole = single(generated, "json", "--baseline", str(baseline))
    absent = [f for p in whole["phases"] for c in p["checks"] for f in c.get("absent", [])]
    assert len(absent) >= 4  # the fixed stubs and syntax error
    for count in (2, 3):
        out = tmp_path / str(count)
        files = shard_files(generated, out, count, "json", "--baseline", str(baseline))
        merged_code, merged = merge(generated, files, "json")
        assert merged_code == code
        assert verdict(merged) == verdict(whole)
    code, whole_sarif = single(generated, "sarif", "--baseline", str(baseline))
    files = shard_files(generated, tmp_path / "sarif", 3, "sarif", "--baseline", str(baseline))
    merged_code, merged_sarif = merge(generated, files, "sarif")
    assert merged_code == code
    assert sarif_verdict(merged_sarif) == sarif_verdict(whole_sarif)


def test_shards_in_one_workspace_leave_a_whole_cache(generated: Path, tmp_path: Path) -> None:
    fresh(generated)
    shard_files(generated, tmp_path, 2, "json", clear=False)
    res = run("validate", str(generated), "--format", "json")
    doc = json.loads(res.stdout)
    how = {c["id"]: c["evidence"]["how"] for p in doc["phases"] for c in p["checks"]}
    # every file of the split checks was analysed by one shard or the other, and kept
    assert how["IMPL-SYNTAX"] == how["IMPL-STUB"] == how["DEP-DOCKERFILE"] == "cached"


# -- refusals --------------------------------------------------------------------------------
def refused(root: Path, files: list[Path], *extra: str) -> str:
    res = run("merge", "-C", str(root), *extra, *map(str, files))
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    assert "Traceback" not in res.output
    return res.stderr


def test_mismatched_shards_are_refused(generated: Path, tmp_path: Path) -> None:
    two = shard_files(generated, tmp_path / "two", 2, "json")
    three = shard_files(generated, tmp_path / "three", 3, "json")
    assert "different splits" in refused(generated, [two[0], three[1], three[2]])
    assert "given twice" in refused(generated, [two[0], two[0], two[1]])
    assert "2/3 is missing" in refused(generated, [three[0], three[2]])
    assert "3/3 is missing" in refused(generated, [three[0], three[1]])
    # another threshold (--iteration 1 is the same single threshold here: another phase)
    other = tmp_path / "phase.json"
    res = run(
        "validate",
        str(generated),
        "--shard",
        "2/2",
        "--format",
        "json",
        "--phase",
        "implementation",
    )
    other.write_text(res.stdout, encoding="utf-8")
    assert "phases" in refused(generated, [two[0], other])
    # not a shard: a plain validate output
    plain = tmp_path / "plain.json"
    plain.write_text(run("validate", str(generated), "--format", "json").stdout, encoding="utf-8")
    assert "not the output of `phasegate validate --shard" in refused(generated, [plain, two[1]])
    # another configuration in one shard
    toml = generated / "phasegate.toml"
    toml.write_text(CONFIG.replace("thresholds = [0.9]", "thresholds = [0.8]"), encoding="utf-8")
    changed = shard_files(generated, tmp_path / "changed", 2, "json")
    assert "configuration" in refused(generated, [two[0], changed[1]])
    # shards of the right configuration, merged in a checkout of another one
    assert "configuration of" in refused(generated, two)
    toml.write_text(CONFIG, encoding="utf-8")
    # another commit
    (generated / "NOTES.md").write_text("notes\n", encoding="utf-8")
    commit(generated, "notes")
    later = shard_files(generated, tmp_path / "later", 2, "json")
    assert "commit" in refused(generated, [two[0], later[1]])
    # the shards' commit, merged in a checkout at another commit
    assert "commit" in refused(generated, two)


def test_bad_shard_option(generated: Path) -> None:
    for bad in ("0/2", "3/2", "2", "a/b", "1/0"):
        res = run("validate", str(generated), "--shard", bad, "--format", "json")
        assert res.exit_code == 2 and "I/N" in res.stderr, bad
    res = run("validate", str(generated), "--shard", "1/2")
    assert res.exit_code == 2 and "--format json" in res.stderr


# -- a check that could not run on one shard -------------------------------------------------
class Fragile(Check):
    """A file-scope check that crashes on one file; a finding per line with ``bad``."""

    id = "T-FRAGILE"
    scope = "file"

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["*.txt"]

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        text = ctx.workspace.read_text(path) or ""
        if "boom" in text:
            raise RuntimeError("cannot read this one")
        return [
            ctx.finding(path, "bad word", Range.lines(i))
            for i, line in enumerate(text.splitlines())
            if "bad" in line
        ]

    def score_files(self, ctx: CheckContext, per_file: dict[str, list[Finding]]) -> CheckOutcome:
        """Its own scoring: the share of lines that are not bad, over every file."""
        lines = sum(len((ctx.workspace.read_text(p) or "").splitlines()) for p in per_file)
        bad = sum(len(fs) for fs in per_file.values())
        return CheckOutcome(
            findings=[f for fs in per_file.values() for f in fs], score=1.0 - bad / max(lines, 1)
        )


@pytest.fixture
def fragile(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(registered_checks(), Fragile.id, Fragile)
    yield


def texts_workspace(root: Path, boom: bool) -> Path:
    root.mkdir(parents=True)
    (root / "phasegate.toml").write_text(
        textwrap.dedent(
            """\
            thresholds = [0.5]
            [[phases]]
            name = "notes"
            checks = [{ id = "T-FRAGILE" }]
            """
        ),
        encoding="utf-8",
    )
    for i in range(40):
        body = "good\n" * (i % 5) + ("bad\n" if i % 3 == 0 else "")
        if boom and i == 17:
            body += "boom\n"
        (root / f"note_{i:02d}.txt").write_text(body + "end\n", encoding="utf-8")
    return root


def test_custom_scoring_is_merged_exactly(fragile: None, tmp_path: Path) -> None:
    root = texts_workspace(tmp_path / "ws", boom=False)
    code, whole = single(root, "json")
    check = whole["phases"][0]["checks"][0]
    assert check["status"] == "failed" and 0.5 < check["score"] < 1
    for count in (2, 3, 7):
        merged_code, merged = merge(
            root, shard_files(root, tmp_path / str(count), count, "json"), "json"
        )
        assert merged_code == code
        assert verdict(merged) == verdict(whole)


def test_a_check_that_crashed_in_one_shard_is_unknown(fragile: None, tmp_path: Path) -> None:
    root = texts_workspace(tmp_path / "ws", boom=True)
    files = shard_files(root, tmp_path / "out", 3, "json")
    crashed = shard_of("note_17.txt", 3)
    code, merged = merge(root, files, "json")
    check = merged["phases"][0]["checks"][0]
    assert code == 1
    assert check["status"] == "error" and check["passed"] is False
    assert check["reason"].startswith(f"shard {crashed}/3: check crashed")
    assert merged["phases"][0]["status"] == "failed"
    assert merged["phases"][0]["unknown"] == ["T-FRAGILE"]
    # the single run: unknown too
    _code, whole = single(root, "json")
    assert whole["phases"][0]["checks"][0]["status"] == "error"


def test_a_check_missing_where_the_merge_runs_is_refused(
    fragile: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = texts_workspace(tmp_path / "ws", boom=False)
    files = shard_files(root, tmp_path / "out", 2, "json")
    monkeypatch.delitem(registered_checks(), Fragile.id)
    res = run("merge", "-C", str(root), *map(str, files))
    # the checkout's configuration names a check this machine does not have: refused
    assert res.exit_code == 2 and res.stdout == ""
    assert "phasegate.toml:4:13: phases[0].checks[0].id: unknown" in res.stderr


def test_unreadable_shard_files_are_refused(generated: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("{not json", encoding="utf-8")
    assert "is not JSON" in refused(generated, [junk])
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps({"shard": {"format": "phasegate-shard", "version": 1}}))
    assert "damaged" in refused(generated, [damaged])
    future = tmp_path / "future.json"
    future.write_text(json.dumps({"shard": {"format": "phasegate-shard", "version": 99}}))
    assert "format version 99" in refused(generated, [future])


# -- the plan --------------------------------------------------------------------------------
def test_shard_parse() -> None:
    assert Shard.parse("2/3") == Shard(2, 3)
    assert str(Shard.parse(" 1/1 ")) == "1/1"
    for bad in ("", "1", "0/1", "2/1", "x/2", "1/1001", "-1/2"):
        with pytest.raises(ShardError):
            Shard.parse(bad)


def test_files_are_split_by_a_stable_hash_of_their_path() -> None:
    paths = [f"pkg_{i // 50}/mod_{i:03d}.py" for i in range(600)]
    for count in (2, 3, 5):
        owners = [shard_of(p, count) for p in paths]
        assert set(owners) == set(range(1, count + 1))
        # listing order plays no part; no shard gets less than half its fair share
        assert [shard_of(p, count) for p in reversed(paths)] == owners[::-1]
        assert min(owners.count(i) for i in range(1, count + 1)) > len(paths) / count / 2
    # the hash is sha1 of the path: the same on every machine and Python
    assert shard_of("pkg_0/mod_000.py", 1000) == shard_of("pkg_0/mod_000.py", 1000)
    import hashlib

    digest = hashlib.sha1(b"a/b.py").digest()
    assert shard_of("a/b.py", 7) == int.from_bytes(digest[:8], "big") % 7 + 1


def test_plan_balances_project_checks_and_keeps_the_suite_together(tmp_path: Path) -> None:
    config = Config()  # the default pipeline
    root = tmp_path / "ws"
    root.mkdir()
    (root / "app.py").write_text("x = 1\n", encoding="utf-8")
    runner = GateRunner(Workspace(root), config)
    phases = [p.name for p in config.phases]
    for count in (1, 2, 3, 4):
        planned = plan(runner, phases, count)
        assert plan(runner, phases, count) == planned  # deterministic
        by_id = {p.rc.config.id: p for p in planned}
        # the file-scope checks with input files are split; the rest run whole
        assert by_id["IMPL-SYNTAX"].mode == by_id["IMPL-STUB"].mode == "files"
        assert by_id["DEP-DOCKERFILE"].mode == "whole"  # no Dockerfile: nothing to split
        assert by_id["TEST-PYTEST"].owner == by_id["TEST-COVERAGE"].owner
        whole = [p for p in planned if p.mode == "whole"]
        assert all(1 <= p.owner <= count for p in whole)
        assert by_id["TEST-JSTESTS"].owner == by_id["TEST-JSCOVERAGE"].owner
        if count > 1:
            # the two test suites, the most costly, are on different shards
            suite = by_id["TEST-PYTEST"].owner
            assert by_id["TEST-JSTESTS"].owner != suite
            assert KNOWN_COSTS["TEST-PYTEST"] > KNOWN_COSTS["IMPL-LINT"]
        if count > 2:
            # and the Python suite has a shard to itself
            assert [p.rc.config.id for p in whole if p.owner == suite] == [
                "TEST-PYTEST",
                "TEST-COVERAGE",
            ]


def test_config_fingerprint_follows_the_configuration() -> None:
    assert config_fingerprint(Config()) == config_fingerprint(Config())
    assert config_fingerprint(Config()) != config_fingerprint(Config(thresholds=[0.5]))


# -- the benchmark -----------------------------------------------------------------------------
BENCH_ARGS = ("--size", "40", "--counts", "2", "--runs", "1", "--json")


@pytest.mark.skipif(
    not (
        shutil.which("phasegate", path=str(Path(sys.executable).parent))
        or shutil.which("phasegate")
    ),
    reason="phasegate is not installed",
)
def test_the_benchmark_prints_its_figures() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "shards.py"), *BENCH_ARGS],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout)
    two = figures["shards"]["2"]
    assert two["identical"] is True
    assert len(two["shard_wall"]) == 2 and two["critical_path"] > 0
