"""What keeps ``phasegate validate`` cheap, and stays correct while doing so.

* the result cache stores findings as JSON through pydantic (one call per list), decodes a
  project outcome only when its hash matches, and survives damage;
* content hashes are remembered with stat signatures, and a changed signature (even with
  the modification time put back) or a recent change means reading the file again;
* a project check with nothing cached hashes its inputs while it runs, and caches the
  outcome only when no input changed meanwhile;
* the check and persona registries import one plugin per name looked up;
* ruff's diagnostics become findings in bulk, with the same paths and fields as one by one;
* JSON output is compact unless asked (or on a terminal), and the same document either way;
* run as a program, validate flushes its whole output before ending the process at once.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ConfigDict
from rich.console import Console

from phasegate import cache as cache_mod
from phasegate.cache import ResultCache, read_beneath, stat_signatures
from phasegate.checks.base import Check, CheckContext, CheckOutcome, registered_checks
from phasegate.checks.implementation import lint as lint_mod
from phasegate.cli import cli
from phasegate.commands._output import dump_json, finding_to_json, gates_to_json, render_findings
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.model import CheckResult, Finding, Fix, GateResult, Range, Severity, TextEdit
from phasegate.plugins import EntryPointRegistry
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

OLD_ENOUGH = -(10**9)  # RACY_NS for tests: a file written just now counts as settled


def _findings(n: int) -> list[Finding]:
    out = []
    for i in range(n):
        fix = None
        if i % 2:
            edit = TextEdit(path=f"p{i % 7}.py", range=Range.span(i, 0, i, 3), new_text="x")
            fix = Fix(title=f"fix {i}", edits=[edit])
        out.append(
            Finding(
                path=f"p{i % 7}.py",
                range=Range.span(i, 1, i, 4),
                severity=Severity.ERROR if i % 3 == 0 else Severity.WARNING,
                code="X-1",
                message=f"message {i} é",
                owner="dev",
                fix=fix,
            )
        )
    return out


# -- the result cache -----------------------------------------------------------------
def test_project_outcome_round_trip_and_lazy_decoding(tmp_path: Path) -> None:
    d = tmp_path / "cache"
    fs = _findings(50)
    c = ResultCache(d)
    c.put_project("p:X", "h1", CheckOutcome(findings=fs, score=0.25, passed=False))
    c.flush()
    (entry,) = [p for p in d.iterdir() if p.name != cache_mod.HASHES_FILE]
    header, findings_line = entry.read_bytes().rstrip(b"\n").split(b"\n")
    assert json.loads(header)["project"] == {"hash": "h1", "score": 0.25, "passed": False}
    assert len(json.loads(findings_line)) == 50

    again = ResultCache(d)
    assert again.get_project("p:X", "other") is None
    assert isinstance(again._project["p:X"], bytes)  # not decoded for a miss
    hit = again.get_project("p:X", "h1")
    assert hit is not None and hit.findings == fs
    assert (hit.score, hit.passed, hit.error) == (0.25, False, None)
    peeked = again.peek_project("p:X")
    assert peeked is not None and peeked.findings == fs


def test_damaged_project_findings_are_a_miss_not_an_error(tmp_path: Path) -> None:
    d = tmp_path / "cache"
    c = ResultCache(d)
    c.put_project("p:X", "h1", CheckOutcome(findings=_findings(3), score=1.0))
    c.flush()
    path = d / "p_X.json"
    header = path.read_bytes().split(b"\n")[0]
    path.write_bytes(header + b'\n[{"path": 1}, "garbage"\n')
    again = ResultCache(d)
    assert again.get_project("p:X", "h1") is None
    assert not again.has_project("p:X")
    path.write_bytes(b"{not json")
    assert ResultCache(d).peek_project("p:X") is None


def test_entries_of_the_previous_format_are_ignored(tmp_path: Path) -> None:
    d = tmp_path / "cache"
    d.mkdir()
    v1 = {"version": 1, "files": {}, "project": {"hash": "h", "score": 1, "findings": []}}
    (d / "p_X.json").write_text(json.dumps(v1))
    c = ResultCache(d)
    assert c.get_project("p:X", "h") is None and not c.has_project("p:X")


def test_file_findings_round_trip(tmp_path: Path) -> None:
    d = tmp_path / "cache"
    fs = _findings(5)
    c = ResultCache(d)
    c.put_file("p:F", "fp", "a.py", "ha", fs)
    c.put_file("p:F", "fp", "b.py", "hb", [])
    assert c.get_file("p:F", "fp", "a.py", "ha") == fs
    c.flush()
    again = ResultCache(d)
    assert again.get_file("p:F", "fp", "a.py", "ha") == fs
    assert again.get_file("p:F", "fp", "a.py", "changed") is None
    assert again.get_file("p:F", "other-fp", "a.py", "ha") is None
    assert again.peek_files("p:F", "fp") == {"a.py": ("ha", fs), "b.py": ("hb", [])}


# -- remembered content hashes --------------------------------------------------------
@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_mod, "RACY_NS", OLD_ENOUGH)


def test_content_hash_is_the_workspace_hash_and_is_remembered(
    tmp_path: Path, settled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/a.py").write_text("a = 1\n")
    (tmp_path / "b.py").write_text("b = 2\n")
    ws = Workspace(tmp_path)
    c = ResultCache(tmp_path / ".phasegate/cache")
    for rel in ("pkg/a.py", "b.py", "missing.py"):
        assert c.content_hash(ws, rel) == ws.content_hash(rel)
    c.flush()
    remembered = json.loads((tmp_path / ".phasegate/cache" / cache_mod.HASHES_FILE).read_text())
    assert set(remembered["files"]) == {"pkg/a.py", "b.py"}
    # a remembered file is not read again while its signature is unchanged
    again = ResultCache(tmp_path / ".phasegate/cache")
    reads: list[str] = []
    real = cache_mod.hash_beneath  # hashes (and keeps a small file), opened beneath the root

    def spy(root: Path, rel: str) -> tuple[str, bytes | None] | None:
        reads.append(rel)
        return real(root, rel)

    monkeypatch.setattr(cache_mod, "hash_beneath", spy)
    assert again.content_hash(ws, "pkg/a.py") == ws.content_hash("pkg/a.py")
    assert reads == []
    (tmp_path / "pkg/a.py").write_text("a = 3\n")  # same size, new content
    assert again.content_hash(ws, "pkg/a.py") == ws.content_hash("pkg/a.py")
    assert reads == ["pkg/a.py"]


def test_content_change_with_mtime_put_back_is_still_seen(tmp_path: Path, settled: None) -> None:
    f = tmp_path / "a.py"
    f.write_text("a = 1\n")
    os.utime(f, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    ws = Workspace(tmp_path)
    c = ResultCache(tmp_path / "cache")
    first = c.content_hash(ws, "a.py")
    f.write_text("a = 2\n")  # same size
    os.utime(f, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    # mtime and size as before; the inode change time (ctime) moved, so it is read again
    assert c.content_hash(ws, "a.py") == ws.content_hash("a.py") != first


def test_recently_changed_files_are_not_remembered(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a = 1\n")
    ws = Workspace(tmp_path)
    c = ResultCache(tmp_path / "cache")
    assert c.content_hash(ws, "a.py") == ws.content_hash("a.py")
    assert c._remembered() == {}
    assert stat_signatures(tmp_path, ["a.py"]) is None  # too recent to trust


def test_links_are_hashed_as_the_workspace_hashes_them(tmp_path: Path, settled: None) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("secret = 1\n")
    root = tmp_path / "ws"
    (root / "real").mkdir(parents=True)
    (root / "real/a.py").write_text("a = 1\n")
    (root / "link_in.py").symlink_to(root / "real/a.py")
    (root / "link_out.py").symlink_to(outside)
    (root / "dirlink").symlink_to(root / "real")
    ws = Workspace(root)
    c = ResultCache(root / ".phasegate/cache")
    assert read_beneath(ws.root, "link_in.py") is None  # links take the careful path
    assert read_beneath(ws.root, "dirlink/a.py") is None
    assert read_beneath(ws.root, "../outside.py") is None
    assert read_beneath(ws.root, "real/a.py") == b"a = 1\n"
    for rel in ("link_in.py", "link_out.py", "dirlink/a.py", "real/a.py"):
        assert c.content_hash(ws, rel) == ws.content_hash(rel)
    assert c.content_hash(ws, "link_out.py") == "-"


# -- a first run hashes its inputs while the check runs -------------------------------
RUNS: list[str] = []


class _AnyOptions(BaseModel):
    model_config = ConfigDict(extra="allow")


class FirstRunCheck(Check):
    id = "T-FIRST"
    Options = _AnyOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["*.py"]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        RUNS.append("run")
        opts = ctx.check.options
        if opts.get("touch"):
            (ctx.workspace.root / "a.py").write_text("changed while the check ran\n")
        return CheckOutcome(findings=[ctx.finding("a.py", "seen")], score=0.5)


@pytest.fixture
def first_check(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(registered_checks(), FirstRunCheck.id, FirstRunCheck)
    RUNS.clear()
    yield


def _runner(root: Path, **options: Any) -> GateRunner:
    cc = CheckConfig(id=FirstRunCheck.id, options=dict(options))
    cfg = Config(phases=[PhaseConfig(name="p", checks=[cc])])
    return GateRunner(Workspace(root), cfg, cache=ResultCache(root / ".phasegate/cache"))


def test_first_run_caches_under_the_inputs_hash(
    tmp_path: Path, settled: None, first_check: None
) -> None:
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(f"{name} = 1\n")
    runner = _runner(tmp_path)
    (rc,) = runner.checks("p")
    result = runner.run_check(rc)
    assert RUNS == ["run"] and not result.cached
    assert runner.cache is not None
    hit = runner.cache.get_project(rc.key, runner.inputs_hash(rc))
    assert hit is not None and [f.message for f in hit.findings] == ["seen"]
    runner.cache.flush()
    again = _runner(tmp_path)
    (rc2,) = again.checks("p")
    assert again.run_check(rc2).cached and RUNS == ["run"]


def test_an_input_changed_during_the_first_run_is_not_cached(
    tmp_path: Path, settled: None, first_check: None
) -> None:
    (tmp_path / "a.py").write_text("a = 1\n")
    runner = _runner(tmp_path, touch=True)
    (rc,) = runner.checks("p")
    assert not runner.run_check(rc).cached
    assert runner.cache is not None and not runner.cache.has_project(rc.key)
    assert not runner.run_check(rc).cached and RUNS == ["run", "run"]


def test_a_recent_input_changed_during_the_first_run_is_not_cached(
    tmp_path: Path, first_check: None
) -> None:
    # just written: compared by content after the run, its stat data proving nothing
    (tmp_path / "a.py").write_text("a = 1\n")
    runner = _runner(tmp_path, touch=True)
    (rc,) = runner.checks("p")
    assert not runner.run_check(rc).cached
    assert runner.cache is not None and not runner.cache.has_project(rc.key)


def test_recent_inputs_are_hashed_before_the_run(tmp_path: Path, first_check: None) -> None:
    (tmp_path / "a.py").write_text("a = 1\n")  # just written: too recent for signatures
    runner = _runner(tmp_path)
    (rc,) = runner.checks("p")
    runner.run_check(rc)
    assert runner.cache is not None
    assert runner.cache.get_project(rc.key, runner.inputs_hash(rc)) is not None


# -- registries ----------------------------------------------------------------------------
def _run_python(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return proc.stdout.strip()


def test_looking_up_one_check_imports_only_that_check() -> None:
    out = _run_python(
        """
        import sys
        from phasegate.checks.base import get_check_class, registered_checks
        assert get_check_class("IMPL-LINT").__name__ == "Lint"
        heavy = ("phasegate.checks.testing.pytest_run", "phasegate.checks.requirements.ids")
        before = [m in sys.modules for m in heavy]
        listed = sorted(registered_checks())
        after = [m in sys.modules for m in heavy]
        print(before, after, "IMPL-LINT" in listed and "TEST-PYTEST" in listed)
        """
    )
    assert out == "[False, False] [True, True] True"


@pytest.fixture
def plugin_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A distribution on sys.path declaring entry points in a private group."""
    group = "phasegate.tests.plugins"
    dist = tmp_path / "pgplugins-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pgplugins\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{group}]\n"
        "good = pg_plugin_good:Good\n"
        "broken = pg_plugin_broken:Broken\n"
        "notacheck = pg_plugin_good:NotACheck\n"
    )
    (tmp_path / "pg_plugin_good.py").write_text(
        "from phasegate.checks.base import Check\n"
        "class Good(Check):\n    id = 'GOOD'\n"
        "class NotACheck:\n    pass\n"
    )
    (tmp_path / "pg_plugin_broken.py").write_text("raise ImportError('broken plugin')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for mod in ("pg_plugin_good", "pg_plugin_broken"):
        monkeypatch.delitem(sys.modules, mod, raising=False)
    return group


def test_entry_point_registry_is_a_lazy_dict(plugin_dist: str) -> None:
    reg: EntryPointRegistry[Check] = EntryPointRegistry(plugin_dist, Check)
    assert "pg_plugin_good" not in sys.modules
    assert reg["good"].__name__ == "Good" and "pg_plugin_good" in sys.modules
    assert "broken" not in reg and reg.get("notacheck") is None
    with pytest.raises(KeyError):
        reg["nothing"]
    assert sorted(reg) == ["good"] and len(reg) == 1 and dict(reg) == {"good": reg["good"]}

    manual: EntryPointRegistry[Check] = EntryPointRegistry(plugin_dist, Check)
    manual["good"] = FirstRunCheck  # set by hand: wins over the entry point
    assert manual["good"] is FirstRunCheck
    del manual["good"]
    assert "good" not in manual and list(manual) == []
    manual["mine"] = FirstRunCheck
    assert manual.pop("mine") is FirstRunCheck and manual.pop("mine", None) is None


def test_monkeypatching_a_registry_entry_restores_the_plugin(plugin_dist: str) -> None:
    reg: EntryPointRegistry[Check] = EntryPointRegistry(plugin_dist, Check)
    mp = pytest.MonkeyPatch()
    mp.setitem(reg, "good", FirstRunCheck)
    mp.setitem(reg, "extra", FirstRunCheck)
    assert reg["good"] is FirstRunCheck
    mp.undo()
    assert reg["good"].__name__ == "Good" and "extra" not in reg


# -- ruff's diagnostics -> findings ----------------------------------------------------------
def _diag(filename: str, **over: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "code": "F401",
        "message": "`os` imported but unused",
        "filename": filename,
        "location": {"row": 3, "column": 8},
        "end_location": {"row": 3, "column": 10},
        "fix": {
            "applicability": "safe",
            "message": "Remove unused import: `os`",
            "edits": [
                {
                    "content": "",
                    "location": {"row": 3, "column": 1},
                    "end_location": {"row": 4, "column": 1},
                }
            ],
        },
        "cell": None,
        "url": "https://docs.astral.sh/ruff/rules/unused-import",
        "noqa_row": 3,
    }
    d.update(over)
    return d


def test_bulk_conversion_equals_one_by_one(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg/a.py").write_text("")
    (root / "alias").symlink_to(root / "pkg")
    (root / "link.py").symlink_to(root / "pkg/a.py")
    ws = Workspace(root)
    r = str(ws.root)
    diags: list[Any] = [
        _diag(f"{r}/pkg/a.py"),
        _diag(f"{r}/alias/a.py", fix=None),
        _diag(f"{r}/link.py", code=None, message="Expected an expression", fix=None),
        _diag(f"{r}/../elsewhere.py"),  # outside: left out
        _diag(f"{r}/pkg/a.py", location={"row": 0, "column": None}, end_location=None),
        _diag(f"{r}/pkg/a.py", location={"row": 5, "column": 9}, end_location={"row": 2}),
        _diag(f"{r}/nb.ipynb", cell=2),
        "not a diagnostic",
    ]
    bulk = lint_mod.diagnostics_to_findings(diags, ws, "IMPL-LINT", "dev")
    one_by_one = []
    for d in diags:
        if not isinstance(d, dict):
            continue
        try:
            rel = ws.relpath(d["filename"])
        except ValueError:
            continue
        one_by_one.append(lint_mod.diagnostic_to_finding(d, rel, "IMPL-LINT", "dev"))
    assert bulk == one_by_one
    assert [f.path for f in bulk] == [
        "pkg/a.py",
        "alias/a.py",  # through a directory link inside the root: as written, as indexed
        "link.py",
        "pkg/a.py",
        "pkg/a.py",
        "nb.ipynb",
    ]
    first = bulk[0]
    assert (first.range.start.line, first.range.start.character) == (2, 7)
    assert first.fix is not None and first.fix.edits[0].range.end.line == 3
    assert bulk[2].severity == Severity.ERROR and bulk[2].message.startswith("SyntaxError")
    assert (bulk[3].range.start.line, bulk[3].range.start.character) == (0, 0)
    assert bulk[4].range.end == bulk[4].range.start  # an end before the start
    assert bulk[5].message.startswith("cell 2: ") and bulk[5].fix is None


# -- JSON output -------------------------------------------------------------------------------
def test_ruff_json_that_is_not_utf8_is_read_with_replacement_characters() -> None:
    good = b'[{"filename": "/w/a.py", "code": "F401"}]'
    assert lint_mod._from_json(good) == [{"filename": "/w/a.py", "code": "F401"}]
    bad = b'[{"filename": "/w/\xff.py", "code": "F401"}]'
    assert lint_mod._from_json(bad) == [{"filename": "/w/\ufffd.py", "code": "F401"}]
    with pytest.raises(ValueError):
        lint_mod._from_json(b"[{")


def test_json_document_is_what_finding_to_json_makes(tmp_path: Path) -> None:
    fs = [*_findings(20), Finding(path="./odd//path.py", code="X", message="m")]
    check = CheckResult(id="X-1", passed=False, score=0.5, findings=fs)
    gate = GateResult(phase="p", score=0.5, threshold=0.6, passed=False, checks=[check])
    doc = gates_to_json(tmp_path, [gate])
    assert doc["phases"][0]["checks"][0]["findings"] == [finding_to_json(f, tmp_path) for f in fs]
    assert (
        json.loads(dump_json(doc, pretty=False)) == doc == json.loads(dump_json(doc, pretty=True))
    )
    assert b"\n" not in dump_json(doc, pretty=False)
    assert dump_json(doc, pretty=True).decode() == json.dumps(doc, indent=2, ensure_ascii=False)


def test_text_that_is_not_unicode_still_makes_json() -> None:
    doc = {"path": "caf\udce9.py"}  # an undecodable file name, as os.walk returns it
    for pretty in (False, True):
        assert json.loads(dump_json(doc, pretty=pretty)) == doc


def _ws_with_findings(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "phasegate.toml").write_text(
        '[[phases]]\nname = "implementation"\n[[phases.checks]]\nid = "IMPL-LINT"\n'
    )
    body = "".join(f"import os{i}\n" for i in range(3000))  # ~3000 findings, well over a pipe
    (root / "src/a.py").write_text(body)
    return root


def _without_evidence(doc: dict[str, Any]) -> dict[str, Any]:
    for phase in doc["phases"]:
        for check in phase["checks"]:
            check.pop("evidence")
    return doc


def test_compact_by_default_off_a_terminal_pretty_on_request(tmp_path: Path) -> None:
    ws = _ws_with_findings(tmp_path / "ws")
    runner = CliRunner()
    compact = runner.invoke(cli, ["validate", str(ws), "--format", "json"])
    pretty = runner.invoke(cli, ["validate", str(ws), "--format", "json", "--pretty"])
    forced = runner.invoke(cli, ["validate", str(ws), "--format", "json", "--compact"])
    assert compact.exit_code == pretty.exit_code == forced.exit_code == 1
    assert compact.stdout.count("\n") == 1 and forced.stdout.count("\n") == 1
    assert pretty.stdout.count("\n") > 1000
    # the same document, but for the evidence: the first run ran, the others were cached
    docs = [_without_evidence(json.loads(r.stdout)) for r in (compact, pretty, forced)]
    assert docs[0] == docs[1] == docs[2]
    findings = json.loads(compact.stdout)["phases"][0]["checks"][0]["findings"]
    assert len(findings) >= 3000


def test_as_a_program_the_whole_output_arrives_before_the_exit(tmp_path: Path) -> None:
    ws = _ws_with_findings(tmp_path / "ws")
    proc = subprocess.run(
        [sys.executable, "-m", "phasegate", "validate", str(ws), "--format", "json"],
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]
    doc = json.loads(proc.stdout)
    assert len(doc["phases"][0]["checks"][0]["findings"]) >= 3000
    assert (ws / ".phasegate/cache/implementation_IMPL-LINT.json").is_file()


def test_text_findings_are_the_same_lines_on_and_off_a_terminal(tmp_path: Path) -> None:
    fs = [
        Finding(path="a.py", range=Range.span(99, 4, 99, 5), code="X", message="[b]x[/b] :fire:"),
        Finding(path="b.py", code="X", message="plain"),
    ]
    check = CheckResult(id="X", passed=False, score=0.0, findings=fs, error="tool [x] missing")
    gate = GateResult(phase="p", score=0.0, threshold=0.5, passed=False, checks=[check])
    outputs = []
    for terminal in (False, True):
        buf = io.StringIO()
        console = Console(file=buf, force_terminal=terminal, no_color=True, width=200)
        render_findings(console, [gate], tmp_path)
        outputs.append([line.rstrip() for line in buf.getvalue().splitlines()])
    plain, rich = outputs
    assert plain == [
        "p (failed)",
        "  X: could not run: tool [x] missing",
        "  a.py:100:5: X [b]x[/b] :fire:",
        "  b.py:1:1: X plain",
    ]
    assert [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in rich] == plain
