"""The session report: its numbers come from the real journal, its HTML is self-contained.

The session is produced by the real executor on a temporary workspace: `command` checks
(a script that reports missing files as `path:line:col: message` findings) and `command`
personas (a script that writes the next missing files), so every number in the report has
a journal event to be checked against.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from phasegate import executor as executor_mod
from phasegate.cli import cli
from phasegate.config_loader import load_config
from phasegate.executor import Executor
from phasegate.model import CheckResult, Event, Finding, GateResult, IterationRecord, Range
from phasegate.report import ReportError, build_report, render, write_report
from phasegate.report.metrics import fixed_and_new
from phasegate.report.svg import ScorePoint, format_duration, score_chart
from phasegate.report.trace import build_traceability
from phasegate.store import SessionStore
from phasegate.workspace import Workspace

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "taskboard"
SID = "s-report"

WRITER = """\
import pathlib
log = pathlib.Path("runs.log")
n = len(log.read_text().splitlines()) if log.exists() else 0
log.write_text("run\\n" * (n + 1))
missing = [f for f in ("a.txt", "b.txt", "c.txt", "d.txt") if not pathlib.Path(f).exists()]
for name in missing[: 2 if n == 0 else 1]:
    pathlib.Path(name).write_text("done\\n")
"""

NEED = """\
import pathlib, sys
missing = [n for n in sys.argv[1:] if not pathlib.Path(n).exists()]
for n in missing:
    print(f"notes.md:1:1: {n} is missing")
sys.exit(1 if missing else 0)
"""


def _config(python: str) -> str:
    def need(check_id: str, owner: str, *files: str) -> str:
        argv = json.dumps([python, "need.py", *files])
        return (
            f'[[phases.checks]]\nid = "{check_id}"\nkind = "command"\nowner = "{owner}"\n'
            f'inputs = ["*.txt"]\noptions = {{ command = {argv}, format = "lines" }}\n'
        )

    drafting = "".join(need(f"HAS-{c.upper()}", "writer", f"{c}.txt") for c in "abcd")
    return (
        '[[phases]]\nname = "drafting"\npersonas = ["writer"]\n'
        + drafting
        + '[[phases]]\nname = "review"\npersonas = ["writer", "reviewer"]\n'
        + need("HAS-YZ", "reviewer", "z.txt", "y.txt")
        + '[[phases]]\nname = "publish"\npersonas = ["writer"]\n'
        + '[[phases.checks]]\nid = "DOCS"\nkind = "REQ-EXISTS"\n'
        + need("HAS-X", "writer", "x.txt")
        + f'[personas.writer]\nkind = "command"\n'
        f"options = {{ command = {json.dumps([python, 'writer.py'])}, stdin = false }}\n"
        f'[personas.reviewer]\nkind = "command"\n'
        f"options = {{ command = {json.dumps([python, '-c', 'pass'])}, stdin = false }}\n"
    )


def make_session(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "writer.py").write_text(WRITER)
    (root / "need.py").write_text(NEED)
    (root / "notes.md").write_text("# notes\n")
    (root / "phasegate.toml").write_text(_config(sys.executable))
    config = load_config(root)
    executor = Executor(Workspace(root), config, SessionStore(root))
    try:
        asyncio.run(executor.start("Write the notes <carefully> & quickly", session_id=SID))
    finally:
        executor.close()


@pytest.fixture(scope="module")
def session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report") / "ws"
    make_session(root)
    return root


@pytest.fixture
def ws(session_root: Path, tmp_path: Path) -> Path:
    """A private copy of the session workspace (tests may damage it)."""
    dest = tmp_path / "ws"
    shutil.copytree(session_root, dest)
    return dest


@pytest.fixture(scope="module")
def report(session_root: Path) -> dict[str, Any]:
    path = write_report(session_root, fmt="json")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.fixture(scope="module")
def events(session_root: Path) -> list[Event]:
    return SessionStore(session_root).read_events(SID)


def _phase(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in report["phases"] if p["name"] == name)
    return found


# -- the numbers match the journal -------------------------------------------------------


def test_the_scenario_is_the_one_intended(report: dict[str, Any]) -> None:
    drafting, review, publish = (_phase(report, n) for n in ("drafting", "review", "publish"))
    assert [it["score"] for it in drafting["iterations"]] == [0.0, 0.5, 0.75]
    assert [it["threshold"] for it in drafting["iterations"]] == [0.6, 0.6, 0.75]
    assert [it["findings_count"] for it in drafting["iterations"]] == [4, 2, 1]
    assert [it["findings_fixed"] for it in drafting["iterations"]] == [None, 2, 1]
    assert [it["findings_new"] for it in drafting["iterations"]] == [None, 0, 0]
    assert drafting["status"] == "completed"
    assert review["status"] == "stalled"
    assert [it["outcome"] for it in review["iterations"]] == ["retry", "retry", "stalled"]
    assert [[p["persona"] for p in it["personas"]] for it in review["iterations"]] == [
        [],
        ["writer", "reviewer"],
        ["reviewer"],
    ]
    assert publish["status"] == "pending" and publish["iterations"] == []
    assert report["session"] == report["session"] | {
        "id": SID,
        "status": "waiting",
        "requirement": "Write the notes <carefully> & quickly",
        "global_iterations": 4,
    }
    assert report["totals"] == report["totals"] | {
        "phases": 3,
        "phases_completed": 1,
        "iterations": 4,
        "persona_runs": 5,
        "gate_evaluations": 6,
    }


def test_every_iteration_matches_its_gate_event(
    report: dict[str, Any], events: list[Event]
) -> None:
    gates = [e for e in events if e.kind == "gate_scored" and "record" in e.data]
    iterations = [(p["name"], it) for p in report["phases"] for it in p["iterations"]]
    assert len(gates) == len(iterations) == report["totals"]["gate_evaluations"]
    for ev, (phase, it) in zip(gates, iterations, strict=True):
        assert ev.phase == phase
        d = ev.data
        assert it["number"] == d["iteration"]
        assert it["score"] == d["score"] and it["threshold"] == d["threshold"]
        assert it["passed"] == d["passed"] and it["outcome"] == d["outcome"]
        assert it["findings_count"] == d["findings_count"]
        assert it["failed_checks"] == d["failed_checks"]
        assert [p["persona"] for p in it["personas"]] == d["personas"]
        assert it["gate_duration_s"] == pytest.approx(d["duration_s"])
        if it["number"] > 0:
            assert it["duration_s"] == pytest.approx(d["record"]["duration_s"])
        else:
            assert it["duration_s"] == pytest.approx(d["duration_s"])


def test_fixed_and_new_come_from_the_finding_fingerprints(
    report: dict[str, Any], events: list[Event]
) -> None:
    for phase in report["phases"]:
        gates = [e for e in events if e.kind == "gate_scored" and e.phase == phase["name"]]
        for (prev, cur), it in zip(pairwise(gates), phase["iterations"][1:], strict=True):
            before, after = prev.data["finding_keys"], cur.data["finding_keys"]
            assert len(before) == prev.data["findings_count"]
            fixed = sum(1 for k in set(before) for _ in range(before.count(k) - after.count(k)))
            new = sum(1 for k in set(after) for _ in range(after.count(k) - before.count(k)))
            assert (it["findings_fixed"], it["findings_new"]) == (fixed, new)


def _gate_event(findings: list[Finding], *, keys: bool = True) -> Event:
    gate = GateResult(
        phase="p",
        score=0.5,
        threshold=0.6,
        passed=False,
        checks=[CheckResult(id="C", passed=False, score=0.5, findings=findings)],
    )
    data: dict[str, Any] = {
        "findings_count": len(findings),
        "checks": [{"id": "C", "findings": len(findings)}],
    }
    if keys:
        data["finding_keys"] = sorted(f.fingerprint for f in gate.findings)
    return Event(kind="gate_scored", phase="p", data=data)


def test_a_finding_swapped_for_another_is_one_fixed_and_one_new() -> None:
    def f(line: int, message: str) -> Finding:
        return Finding(path="a.py", range=Range.lines(line, 0, 1), code="C", message=message)

    before = [f(3, "unused import os"), f(9, "line too long"), f(9, "line too long")]
    # the import is gone, one long line too, the other moved; a new finding appeared
    after = [f(7, "line too long"), f(12, "undefined name x")]
    rec, prev = IterationRecord(number=2, findings_count=2), IterationRecord(number=1)
    prev.findings_count = 3
    got = fixed_and_new(rec, prev, _gate_event(after), _gate_event(before))
    assert got == (2, 1)
    # journals without fingerprints: the per-check counts (here: one fewer, nothing new)
    got = fixed_and_new(rec, prev, _gate_event(after, keys=False), _gate_event(before))
    assert got == (1, 0)


def test_a_gate_with_very_many_findings_journals_no_fingerprints() -> None:
    many = [Finding(path="a.py", code="C", message=f"m{i}") for i in range(3)]
    gate = GateResult(
        phase="p", score=0.0, threshold=0.6, passed=False,
        checks=[CheckResult(id="C", passed=False, score=0.0, findings=many)],
    )  # fmt: skip
    data = Executor._gate_data(gate)
    assert data["finding_keys"] == sorted(f.fingerprint for f in many)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(executor_mod, "MAX_JOURNALED_FINGERPRINTS", 2)
        assert Executor._gate_data(gate)["finding_keys"] is None


def test_time_per_persona_check_and_phase_add_up_from_the_journal(
    report: dict[str, Any], events: list[Event]
) -> None:
    per_persona: dict[str, float] = {}
    for e in events:
        if e.kind == "persona_finished":
            per_persona[e.data["persona"]] = (
                per_persona.get(e.data["persona"], 0.0) + e.data["duration_s"]
            )
    assert report["time"]["per_persona"] == pytest.approx(per_persona)
    assert sum(1 for e in events if e.kind == "persona_finished") == 5

    per_check: dict[str, float] = {}
    for e in events:
        if e.kind == "gate_scored" and "record" in e.data:
            for c in e.data["checks"]:
                key = f"{e.phase}:{c['id']}"
                per_check[key] = per_check.get(key, 0.0) + c["duration_s"]
    assert report["time"]["per_check"] == pytest.approx(per_check)

    for phase in report["phases"]:
        entry = sum(
            e.data["duration_s"]
            for e in events
            if e.kind == "entry_gate" and e.phase == phase["name"]
        )
        its = sum(it["duration_s"] for it in phase["iterations"])
        assert phase["duration_s"] == pytest.approx(its + entry)
        assert report["time"]["per_phase"][phase["name"]] == phase["duration_s"]
    session = report["session"]
    start = min(session["created_at"], events[0].ts)
    end = max(session["updated_at"], events[-1].ts)
    assert report["time"]["total_s"] == pytest.approx(end - start, abs=1e-5)
    assert session["duration_s"] == report["time"]["total_s"]


def test_timeline_is_the_journal(report: dict[str, Any], events: list[Event]) -> None:
    assert [t["kind"] for t in report["timeline"]] == [e.kind for e in events]
    offsets = [t["offset_s"] for t in report["timeline"]]
    assert offsets == sorted(offsets)
    stalled = next(t for t in report["timeline"] if t["kind"] == "phase_stalled")
    assert stalled["phase"] == "review" and "no longer improving" in stalled["summary"]


def test_open_findings_from_the_session_and_evaluated_for_unreached_phases(
    report: dict[str, Any],
) -> None:
    groups = {(g["phase"], g["check"]): g for g in report["open_findings"]["groups"]}
    assert set(groups) == {
        ("drafting", "HAS-D"),
        ("review", "HAS-YZ"),
        ("publish", "DOCS"),
        ("publish", "HAS-X"),
    }
    assert groups[("review", "HAS-YZ")]["source"] == "session"
    assert sorted(f["message"] for f in groups[("review", "HAS-YZ")]["findings"]) == [
        "y.txt is missing",
        "z.txt is missing",
    ]
    # never reached: evaluated now; the check that runs workspace code is not run
    assert groups[("publish", "DOCS")]["source"] == "evaluated"
    assert groups[("publish", "DOCS")]["findings"][0]["path"] == "docs/requirements.md"
    assert groups[("publish", "HAS-X")]["skipped"].startswith("not evaluated")
    total = sum(len(g["findings"]) for g in groups.values())
    assert report["open_findings"]["total"] == report["totals"]["open_findings"] == total


# -- HTML --------------------------------------------------------------------------------


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_self_contained_and_shows_the_numbers(session_root: Path) -> None:
    path = write_report(session_root)
    assert path == (session_root / ".phasegate" / "sessions" / SID / "report.html").resolve()
    page = path.read_text()
    parser = _Collect()
    parser.feed(page)
    tags = [t for t, _ in parser.tags]
    assert "script" not in tags and "link" not in tags and "img" not in tags
    for _, attrs in parser.tags:
        for name in ("src", "href"):
            assert attrs.get(name) is None, attrs
    assert "url(" not in page and "@import" not in page
    # a score chart per phase that ran (publish never started), a timeline, 3 time charts
    classes = [a.get("class") or "" for t, a in parser.tags if t == "svg"]
    assert sum("score-chart" in c for c in classes) == 2
    assert sum("timeline-chart" in c for c in classes) == 1
    assert sum("bar-chart" in c for c in classes) == 3
    text = " ".join(parser.text)
    assert "Write the notes <carefully> & quickly" in text  # escaped, shown as text
    assert "<carefully>" not in page
    assert "passed at iteration 2: 0.75 >= 0.75" in text
    for needle in ("HAS-YZ", "y.txt is missing", "iteration 2: score 0.75, threshold 0.75"):
        assert needle in page


def test_hostile_text_is_escaped(ws: Path) -> None:
    store = SessionStore(ws)
    state = store.load(SID)
    state.requirement = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    state.phases[0].message = "</td><script>bad()</script>"
    store.save(state)
    page = render(build_report(ws), "html")
    parser = _Collect()
    parser.feed(page)
    assert "script" not in [t for t, _ in parser.tags]
    assert "img" not in [t for t, _ in parser.tags]


def test_score_chart_marks_each_iteration() -> None:
    svg = score_chart(
        "t",
        [ScorePoint(0, 0.2, 0.6, False, "retry"), ScorePoint(1, 0.9, 0.75, True, "passed")],
    )
    assert svg.count('class="bar"') == 2
    assert "iteration 1: score 0.90, threshold 0.75, passed" in svg
    assert "no iteration yet" in score_chart("t", [])


def test_format_duration() -> None:
    assert format_duration(0.0071) == "7 ms"
    assert format_duration(0.4242) == "0.42 s"
    assert format_duration(12.34) == "12.3 s"
    assert format_duration(245) == "4 min 05 s"
    assert format_duration(3720) == "1 h 02 min"


# -- damaged state -----------------------------------------------------------------------


def test_unreadable_checkpoint_uses_the_previous_one_and_moves_nothing(ws: Path) -> None:
    sdir = ws / ".phasegate" / "sessions" / SID
    (sdir / "checkpoint.json").write_text("{ torn")
    data = build_report(ws, SID)
    assert (sdir / "checkpoint.json").read_text() == "{ torn"  # left for `resume` to recover
    assert any("previous checkpoint" in w for w in data.warnings)
    assert data.session.id == SID and data.phases


def test_no_checkpoint_at_all_is_replayed_from_the_journal(
    ws: Path, report: dict[str, Any]
) -> None:
    sdir = ws / ".phasegate" / "sessions" / SID
    (sdir / "checkpoint.json").write_text("not json")
    (sdir / "checkpoint.prev.json").unlink()
    data = build_report(ws, SID)
    assert any("replayed from the journal" in w for w in data.warnings)
    replayed = {p.name: [it.score for it in p.iterations] for p in data.phases}
    original = {p["name"]: [it["score"] for it in p["iterations"]] for p in report["phases"]}
    assert replayed == original
    assert data.session.checkpoint_seq is None


def test_torn_journal_line_is_skipped_with_a_warning(ws: Path) -> None:
    with open(ws / ".phasegate" / "sessions" / SID / "events.jsonl", "a") as fh:
        fh.write('{"kind": "gate_sco')
    data = build_report(ws, SID)
    assert "1 line(s) of events.jsonl could not be read and were skipped" in data.warnings


def test_errors_are_clear(ws: Path, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="invalid session id"):
        write_report(ws, "../../etc")
    with pytest.raises(ReportError, match="no session nope"):
        write_report(ws, "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ReportError, match="no active session"):
        write_report(empty)
    with pytest.raises(ReportError, match="unknown report format"):
        write_report(ws, SID, fmt="pdf")
    with pytest.raises(ReportError, match="is a folder"):
        write_report(ws, SID, output=tmp_path)


# -- CLI ---------------------------------------------------------------------------------


def test_cli_writes_the_default_path_and_json_to_stdout(ws: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["report", "--workspace", str(ws)])
    assert res.exit_code == 0, res.output
    written = Path(res.output.strip())
    assert written == (ws / ".phasegate" / "sessions" / SID / "report.html").resolve()
    assert written.read_text().startswith("<!DOCTYPE html>")

    res = runner.invoke(cli, ["report", "-w", str(ws), "--format", "json", "-o", "-"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["session"]["id"] == SID

    out = tmp_path / "out" / "r.json"
    res = runner.invoke(
        cli, ["report", "-w", str(ws), "--session", SID, "--format", "json", "--output", str(out)]
    )
    assert res.exit_code == 0 and json.loads(out.read_text())["schema"] == "phasegate-report/1"

    res = runner.invoke(cli, ["report", "-w", str(ws), "--session", "no/such"])
    assert res.exit_code == 2 and "invalid session id" in res.output


# -- traceability ------------------------------------------------------------------------


def test_traceability_of_the_example_shows_its_intended_gaps() -> None:
    trace = build_traceability(EXAMPLE, load_config(EXAMPLE))
    gaps = {r.id: r.gaps for r in trace.rows}
    assert gaps == {
        "REQ-001": ["tests"],
        "REQ-002": [],
        "REQ-003": ["design", "code"],
        "REQ-004": [],
        "REQ-005": [],
        "REQ-006": [],
    }
    rows = {r.id: r for r in trace.rows}
    assert rows["REQ-006"].design == ["Components"]
    assert rows["REQ-006"].code == ["taskboard/repository.py"]
    assert "tests/test_overdue.py::test_task_due_today_is_not_overdue" in rows["REQ-005"].tests
    assert rows["REQ-004"].title == "Assignment"
    assert rows["REQ-004"].location == "docs/requirements.md:39"
    assert (trace.traced_to_design, trace.traced_to_code, trace.traced_to_tests) == (5, 5, 5)
