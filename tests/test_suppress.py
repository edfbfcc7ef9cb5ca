"""Suppression comments (phasegate.suppress): the syntax in each file type, the edits the
editor's "Suppress" actions make, how a suppressed finding counts in the gate (CLI and
runner), GATE-INTEGRITY flagging new ones, the scaffold drafts behind "Create <file>",
and the "did you mean" fix of configuration errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_gate_integrity import git, integrity, messages, repo, write

from phasegate import suppress
from phasegate.checks.base import Check, CheckContext, CheckOutcome, get_check_class
from phasegate.checks.gate.integrity import suppression_markers
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.live.engine import ConfigProblem
from phasegate.lsp.diagnostics import config_fix
from phasegate.model import Finding, Range, Severity, TextEdit
from phasegate.personas.drafts import draft_for, drafts
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace

PHASEGATE = [sys.executable, "-m", "phasegate"]


def covered(path: str, text: str, check_id: str) -> set[int]:
    """The 0-based lines on which a finding of ``check_id`` is suppressed."""
    s = suppress.Suppressions.of(path, text)
    return {i for i in range(len(text.split("\n")) + 1) if s.covers(check_id, i)}


def apply(text: str, edit: TextEdit) -> str:
    lines = text.split("\n")
    r = edit.range
    assert r.start.line == r.end.line
    line = lines[r.start.line] if r.start.line < len(lines) else ""
    new = line[: r.start.character] + edit.new_text + line[min(r.end.character, len(line)) :]
    return "\n".join([*lines[: r.start.line], new, *lines[r.start.line + 1 :]])


def finding(
    path: str,
    line: int,
    code: str = "X-1",
    *,
    severity: Severity = Severity.WARNING,
    missing_file: bool = False,
) -> Finding:
    return Finding(
        path=path,
        range=Range.lines(line),
        code=code,
        message="m",
        severity=severity,
        missing_file=missing_file,
    )


# -- the syntax, per file type ------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "text", "lines"),
    [
        # Python: on the line, or alone on the line above
        ("a.py", "x = 1  # phasegate: ignore[X-1]\ny = 2\n", {0}),
        ("a.py", "# phasegate: ignore[X-1]\ny = 2\n", {0, 1}),
        ("a.py", "x = 1  # noqa: E501  # phasegate:ignore[ A-2 , x-1 ]\n", {0}),
        ("a.py", "x = 1  # phasegate: ignore[A-2]\n", set()),  # another check's id
        ("a.py", "x = 1  # phasegate: ignore\n", {0}),  # bare: every check
        ("a.py", "x = 1  # phasegate: ignored[X-1]\n", set()),
        ("a.py", "x = 1  <!-- phasegate: ignore[X-1] -->\n", set()),  # not Python's syntax
        # Markdown: HTML comments only, not in code
        ("d.md", "<!-- phasegate: ignore[X-1] -->\n### REQ-001: A\n", {0, 1}),
        ("d.md", "Text. <!-- phasegate: ignore[X-1] -->\nNext\n", {0}),
        ("d.md", "# phasegate: ignore[X-1]\nText\n", set()),  # a heading, not a comment
        ("d.md", "Use `<!-- phasegate: ignore[X-1] -->` to silence.\n", set()),
        ("d.md", "```html\n<!-- phasegate: ignore[X-1] -->\n```\nText\n", set()),
        (
            "d.md",
            "<!-- phasegate: ignore[A-2] -->\n<!-- phasegate: ignore[X-1] -->\n## H\n",
            {1, 2},  # a run of directive lines covers the line after it
        ),
        # TOML, YAML: "#" at the end of the line or above
        ("pyproject.toml", "[project]  # phasegate: ignore[X-1]\nname = 'a'\n", {0}),
        (".github/workflows/ci.yml", "on:\n  # phasegate: ignore[X-1]\n  push:\n", {1, 2}),
        # Dockerfile: a line of its own, above
        ("Dockerfile", "# phasegate: ignore[X-1]\nFROM python:latest\n", {0, 1}),
        ("docker/Dockerfile.prod", "# phasegate: ignore[X-1]\nFROM x\n", {0, 1}),
        ("setup.cfg", "; phasegate: ignore[X-1]\nname = a\n", {0, 1}),
        ("app.ts", "f();  // phasegate: ignore[X-1]\n", {0}),
        ("app.ts", "f();  /* phasegate: ignore[X-1] */\n", {0}),
        ("q.sql", "select 1; -- phasegate: ignore[X-1]\n", {0}),
        ("data.json", '{"a": "# phasegate: ignore[X-1]"}\n', set()),  # JSON has no comments
        ("notes.unknown", "x // phasegate: ignore[X-1]\n", {0}),  # unknown type: any opener
    ],
)
def test_directives_by_file_type(path: str, text: str, lines: set[int]) -> None:
    assert covered(path, text, "X-1") == lines


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("a.py", "# phasegate: ignore-file[X-1]\nx = 1\ny = 2\n"),
        ("a.py", "x = 1\ny = 2  # phasegate: ignore-file\n"),  # anywhere, bare: every check
        ("d.md", "# Title\n\nText\n<!-- phasegate: ignore-file[x-1] -->\n"),
        ("Dockerfile", "# phasegate: ignore-file[X-1]\nFROM a\nUSER root\n"),
        ("pyproject.toml", "# phasegate: ignore-file[A-2, X-1]\n[project]\n"),
    ],
)
def test_file_directives_cover_every_line(path: str, text: str) -> None:
    every_line = set(range(len(text.split("\n")) + 1))
    assert covered(path, text, "X-1") == every_line
    # ids name the checks silenced; a bare directive silences them all
    assert covered(path, text, "OTHER") == (set() if "ignore-file[" in text else every_line)


def test_comment_styles() -> None:
    style = suppress.comment_style
    assert style("src/a.py") is suppress.HASH and style("x/pyproject.toml") is suppress.HASH
    assert style("Dockerfile") is suppress.DOCKERFILE
    assert style("app.Dockerfile") is suppress.DOCKERFILE
    assert style("Containerfile") is suppress.DOCKERFILE
    assert style("docs/a.md") is suppress.MARKDOWN and style("README.rst") is suppress.RST
    assert style("a.yml") is suppress.HASH and style("a.yaml") is suppress.HASH
    assert style("Makefile") is suppress.HASH and style(".gitignore") is suppress.HASH
    assert style("package.json") is None
    assert style("LICENSE") is suppress.ANY


# -- the edits of the "Suppress" actions ----------------------------------------------------
@pytest.mark.parametrize(
    ("path", "text", "line", "expected"),
    [
        (
            "app.py",
            "import os\n\n\ndef f():\n    pass\n",
            3,
            "import os\n\n\ndef f():  # phasegate: ignore[X-1]\n    pass\n",
        ),
        (
            "docs/requirements.md",
            "# R\n\n### REQ-002: List\n\nText.\n",
            2,
            "# R\n\n<!-- phasegate: ignore[X-1] -->\n### REQ-002: List\n\nText.\n",
        ),
        (
            "Dockerfile",
            "FROM python:3.12\nRUN x\n    && y\n",
            1,
            "FROM python:3.12\n# phasegate: ignore[X-1]\nRUN x\n    && y\n",
        ),
        (
            "pyproject.toml",
            '[project]\nname = "a"\n',
            0,
            '[project]  # phasegate: ignore[X-1]\nname = "a"\n',
        ),
        (
            ".github/workflows/ci.yml",
            "jobs:\n  test:\n    runs-on: x\n",
            2,
            "jobs:\n  test:\n    runs-on: x  # phasegate: ignore[X-1]\n",
        ),
        (
            "README.rst",
            "Title\n=====\n\n  indented\n",
            3,
            "Title\n=====\n\n  .. phasegate: ignore[X-1]\n  indented\n",
        ),
        # an id added to a directive already there (on the line, or alone above it)
        (
            "app.py",
            "x = 1  # phasegate: ignore[A-2]\n",
            0,
            "x = 1  # phasegate: ignore[A-2, X-1]\n",
        ),
        (
            "d.md",
            "<!-- phasegate: ignore[A-2] -->\n## H\n",
            1,
            "<!-- phasegate: ignore[A-2, X-1] -->\n## H\n",
        ),
    ],
)
def test_line_edit_writes_the_file_s_own_comment(
    path: str, text: str, line: int, expected: str
) -> None:
    edit = suppress.line_edit(path, text, line, "X-1")
    assert edit is not None and edit.path == path
    after = apply(text, edit)
    assert after == expected
    # and it does what it says: the finding's line (moved down when a line was inserted)
    moved = line + after.count("\n") - text.count("\n")
    assert moved in covered(path, after, "X-1")
    assert suppress.line_edit(path, after, moved, "X-1") is None  # nothing more to do


def test_line_edit_refuses_where_a_comment_would_change_the_code() -> None:
    text = 'x = """first\nsecond\n"""\ny = 1 + \\\n    2\n'
    assert suppress.line_edit("a.py", text, 0, "X-1") is None  # inside a string
    assert suppress.line_edit("a.py", text, 1, "X-1") is None
    assert suppress.line_edit("a.py", text, 3, "X-1") is None  # a continued line
    assert suppress.line_edit("a.py", text, 2, "X-1") is not None  # the string's end
    toml = 'a = """\ntext\n"""\nb = 1\n'
    assert suppress.line_edit("c.toml", toml, 1, "X-1") is None
    assert suppress.line_edit("c.toml", toml, 3, "X-1") is not None
    assert suppress.line_edit("package.json", "{}\n", 0, "X-1") is None
    assert suppress.line_edit("a.py", "x = 1  # phasegate: ignore\n", 0, "X-1") is not None


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("app.py", "import os\n", "# phasegate: ignore-file[X-1]\nimport os\n"),
        (
            "tool.py",
            "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nx = 1\n",
            "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n"
            "# phasegate: ignore-file[X-1]\nx = 1\n",
        ),
        (
            "Dockerfile",
            "# syntax=docker/dockerfile:1\nFROM a\n",
            "# syntax=docker/dockerfile:1\n# phasegate: ignore-file[X-1]\nFROM a\n",
        ),
        (
            "docs/d.md",
            "---\ntitle: x\n---\n# D\n",
            "---\ntitle: x\n---\n<!-- phasegate: ignore-file[X-1] -->\n# D\n",
        ),
        ("README.md", "# R\n", "<!-- phasegate: ignore-file[X-1] -->\n# R\n"),
        (
            "a.py",
            "x = 1\n# phasegate: ignore-file[A-2]\n",
            "x = 1\n# phasegate: ignore-file[A-2, X-1]\n",
        ),
    ],
)
def test_file_edit(path: str, text: str, expected: str) -> None:
    edit = suppress.file_edit(path, text, "X-1")
    assert edit is not None
    after = apply(text, edit)
    assert after == expected
    assert covered(path, after, "X-1") == set(range(len(after.split("\n")) + 1))
    assert suppress.file_edit(path, after, "X-1") is None


# -- how a suppressed finding counts -------------------------------------------------------
def test_split_reads_each_file_once_and_keeps_missing_files() -> None:
    texts = {"a.py": "x  # phasegate: ignore[X-1]\ny\n", "b.py": "z\n"}
    reads: list[str] = []

    def read(path: str) -> str | None:
        reads.append(path)
        return texts.get(path)

    found = [
        finding("a.py", 0),
        finding("a.py", 1),
        finding("a.py", 0, "OTHER"),
        finding("b.py", 0),
        finding("a.py", 0, missing_file=True),
    ]
    kept, dropped = suppress.split(found, suppress.text_lookup(read))
    assert dropped == [found[0]]
    assert kept == found[1:]
    assert reads == ["a.py", "b.py"]  # the missing file is not read


def test_a_file_is_read_again_only_when_it_changed(tmp_path: Path) -> None:
    lookup = suppress.workspace_lookup(Workspace(tmp_path))
    path = tmp_path / "a.py"
    path.write_text("x = 1  # phasegate: ignore[X-1]\n", encoding="utf-8")
    first = lookup("a.py")
    assert first is not None and first.covers("X-1", 0)
    # written just now: read every time (a coarse clock could hide a second write of the
    # same size), so a quick rewrite of the same size is seen
    path.write_text("x = 1  # phasegate: ignore[Y-2]\n", encoding="utf-8")
    second = lookup("a.py")
    assert second is not None and second.covers("Y-2", 0) and not second.covers("X-1", 0)
    old = time.time() - 60
    os.utime(path, (old, old))
    settled = lookup("a.py")
    assert settled is not None and lookup("a.py") is settled  # remembered from now on
    path.write_text("x = 1\n", encoding="utf-8")  # changed: read again
    assert lookup("a.py") is None
    (tmp_path / "d").mkdir()
    assert lookup("d") is None and lookup("missing.py") is None
    assert lookup("../a.py") is None and lookup(str(path)) is None  # only inside the root


def test_rescored_gives_back_each_suppressed_finding_s_share() -> None:
    bad = [finding("a.py", i) for i in range(4)]
    info = finding("a.py", 9, severity=Severity.INFO)
    outcome = CheckOutcome(findings=[*bad, info], score=0.2, passed=False)
    one = suppress.rescored(outcome, [*bad[1:], info], [bad[0]])
    assert one.score == pytest.approx(0.2 + 0.8 / 4) and one.passed is False
    assert one.findings == [*bad[1:], info]
    every = suppress.rescored(outcome, [info], bad)
    assert every.score == 1.0 and every.passed is True  # no error or warning remains
    hint_only = suppress.rescored(outcome, bad, [info])
    assert hint_only.score == 0.2 and hint_only.passed is False and hint_only.findings == bad
    unknown = CheckOutcome(findings=bad, score=0.0, error="tool missing")
    assert suppress.rescored(unknown, [], bad).error == "tool missing"
    assert suppress.rescored(unknown, [], bad).score == 0.0
    derived = CheckOutcome(findings=bad, score=0.5)
    assert suppress.rescored(derived, [], bad).passed is None  # decided by what remains


class _Counting(Check):
    """A project check with one finding per listed line of ``notes.md``."""

    id = "NOTE-LINES"
    scope = "project"

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["notes.md"]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        text = ctx.workspace.read_text("notes.md") or ""
        rows = [i for i, line in enumerate(text.split("\n")) if line.startswith("- bad")]
        found = [ctx.finding("notes.md", "bad line", line=i) for i in rows]
        return CheckOutcome(findings=found, score=1.0 - len(rows) / 4, passed=not rows)

    def lint(self, ctx: CheckContext, paths: list[str]) -> CheckOutcome:
        return self.run(ctx)


def test_honouring_keeps_the_check_s_class() -> None:
    cls = suppress.honouring(_Counting)
    assert issubclass(cls, _Counting) and cls.__name__ == "_Counting"
    assert cls.id == "NOTE-LINES" and cls.scope == "project"
    assert cls is suppress.honouring(_Counting)  # made once
    integrity_cls = get_check_class("GATE-INTEGRITY")
    assert suppress.honouring(integrity_cls) is integrity_cls  # never silenced
    assert not suppress.suppressible(integrity_cls)


def runner_for(root: Path, *checks: str) -> GateRunner:
    phase = PhaseConfig(name="p", checks=[CheckConfig(id=c) for c in checks])
    return GateRunner(Workspace(root), Config(phases=[phase]))


def test_a_project_check_through_the_runner(tmp_path: Path) -> None:
    from phasegate.checks.base import register_check

    register_check("NOTE-LINES", _Counting)
    notes = "# Notes\n- bad one\n<!-- phasegate: ignore[NOTE-LINES] -->\n- bad two\n- ok\n"
    (tmp_path / "notes.md").write_text(notes, encoding="utf-8")
    runner = runner_for(tmp_path, "NOTE-LINES")
    (rc,) = runner.checks("p")
    result = runner.run_check(rc)
    assert [f.range.start.line for f in result.findings] == [1]
    assert result.score == pytest.approx(0.5 + 0.5 / 2) and not result.passed
    # the per-file entry the agent hook uses for IMPL-LINT is filtered the same way
    assert [f.range.start.line for f in rc.check.lint(rc.ctx, ["notes.md"]).findings] == [1]  # type: ignore[attr-defined]
    (tmp_path / "notes.md").write_text("<!-- phasegate: ignore-file[NOTE-LINES] -->\n" + notes)
    result = runner.run_check(rc)
    assert result.findings == [] and result.passed and result.score == 1.0


def test_a_per_file_check_is_scored_on_what_remains(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f():\n    pass\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("def g():\n    pass\n", encoding="utf-8")
    (tmp_path / "c.py").write_text("# phasegate: ignore[IMPL-STUB]\ndef h():\n    pass\n")
    runner = runner_for(tmp_path, "IMPL-STUB")
    (rc,) = runner.checks("p")
    result = runner.run_check(rc)
    assert sorted(f.path for f in result.findings) == ["a.py", "b.py"]
    assert result.score == pytest.approx(1 / 3)  # c.py has nothing left: a good file
    # IMPL-STUB's own same-line comment still works
    (tmp_path / "a.py").write_text("def f():  # phasegate: ignore\n    pass\n")
    assert [f.path for f in runner.run_check(rc).findings] == ["b.py"]


def test_validate_json_and_sarif_leave_suppressed_findings_out(tmp_path: Path) -> None:
    reqs = "# Requirements\n\n## Overview\n\nTBD.\n\n"
    reqs += "<!-- phasegate: ignore[REQ-PLACEHOLDER] -->\nTODO: more.\n"
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/requirements.md").write_text(reqs, encoding="utf-8")

    def run(fmt: str) -> dict[str, object]:
        proc = subprocess.run(
            [*PHASEGATE, "validate", "--phase", "requirements", "--format", fmt, str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode in (0, 1), proc.stderr
        data: dict[str, object] = json.loads(proc.stdout)
        return data

    report = run("json")
    (phase,) = report["phases"]  # type: ignore[index]
    check = next(c for c in phase["checks"] if c["id"] == "REQ-PLACEHOLDER")
    assert [f["range"]["start"]["line"] for f in check["findings"]] == [4]  # TBD only
    sarif = run("sarif")
    lines = [
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for r in sarif["runs"][0]["results"]  # type: ignore[index]
        if r["ruleId"] == "REQ-PLACEHOLDER"
    ]
    assert lines == [5]


# -- GATE-INTEGRITY: a new suppression is for a person to approve ---------------------------
def test_integrity_flags_new_suppressions_in_every_file_type(tmp_path: Path) -> None:
    root = repo(
        tmp_path,
        {
            "docs/requirements.md": "# R\n\n### REQ-001: A\n\nText.\n",
            "Dockerfile": "FROM python:3.12\n",
            "app.py": "x = 1\n",
            "web/app.ts": "f();\n",
            "notes.json": "{}\n",
        },
    )
    write(
        root,
        {
            "docs/requirements.md": "# R\n\n<!-- phasegate: ignore[REQ-ACCEPTANCE] -->\n"
            "### REQ-001: A\n\nText.\n",
            "Dockerfile": "# phasegate: ignore-file[DEP-DOCKERFILE]\nFROM python:3.12\n",
            "app.py": "# phasegate: ignore-file[IMPL-LINT]\nx = 1\n",
            "web/app.ts": "f();  // phasegate: ignore[LINT-JS]\n",
            "notes.json": '{"a": "# phasegate: ignore[X]"}\n',  # JSON: not a comment
        },
    )
    found = sorted(m.split(" (")[0] for m in messages(integrity(root)))
    assert found == [
        "new suppression `# phasegate: ignore-file[DEP-DOCKERFILE]`",
        "new suppression `# phasegate: ignore-file[IMPL-LINT]`",
        "new suppression `<!-- phasegate: ignore[REQ-ACCEPTANCE] -->`",
        "new suppression `phasegate: ignore[LINT-JS]`",
    ]
    # committed, they are not new any more; an id added to one is
    git(root, "add", "-A")
    git(root, "commit", "-qm", "accepted")
    write(
        root,
        {
            "docs/requirements.md": "# R\n\n<!-- phasegate: ignore[REQ-ACCEPTANCE, DES-TRACE] -->"
            "\n### REQ-001: A\n\nText.\n"
        },
    )
    (msg,) = messages(integrity(root))
    assert "(DES-TRACE added)" in msg


def test_integrity_reads_a_line_scope_and_a_file_scope_apart() -> None:
    kinds = [
        (m.kind, m.code)
        for m in suppression_markers(
            "x = 1  # phasegate: ignore[A-1]\n# phasegate: ignore-file[A-1, B-2]\n", "py"
        )
    ]
    assert kinds == [
        ("# phasegate: ignore", "A-1"),
        ("# phasegate: ignore-file", "A-1"),
        ("# phasegate: ignore-file", "B-2"),
    ]


# -- "Create <file>": the scaffold's drafts --------------------------------------------------
def test_drafts_write_nothing(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/requirements.md").write_text(
        "# Requirements\n\n### REQ-001: Add\n\nText.\n", encoding="utf-8"
    )
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    ws, config = Workspace(tmp_path), Config()
    design = draft_for(ws, config, "design", "docs/design.md")
    assert list(design) == ["docs/design.md"]
    assert "### REQ-001: Add" in design["docs/design.md"]  # the requirement traced
    elsewhere = draft_for(
        ws, config, "requirements", "specs/r.md", inputs=["specs/r.md"], requirement="Keep a list"
    )
    assert elsewhere["specs/r.md"].startswith("# Requirements: Keep a list")
    deployment = drafts(ws, config, "deployment")
    assert {"CHANGELOG.md", ".github/workflows/ci.yml", "pyproject.toml"} <= set(deployment)
    assert draft_for(ws, config, "testing", "tests") == {
        "tests/test_req_001.py": drafts(ws, config, "testing")["tests/test_req_001.py"]
    }
    assert drafts(ws, config, "no-such-phase") == {}
    after = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert after == before


# -- configuration errors: "did you mean" as a fix ------------------------------------------
@pytest.mark.parametrize(
    ("text", "line", "column", "message", "expected"),
    [
        (
            "thresholdz = [0.5]\n",
            0,
            0,
            "unknown key 'thresholdz' (did you mean 'thresholds'?); allowed: thresholds",
            "thresholds = [0.5]\n",
        ),
        (
            'checks = [{ id = "A" }, { id = "B", ownr = "x" }]\n',
            0,
            36,
            "unknown key 'ownr' (did you mean 'owner'?); allowed: id, owner",
            'checks = [{ id = "A" }, { id = "B", owner = "x" }]\n',
        ),
        (
            'personas = ["requirement_analystt"]\n',
            0,
            12,
            "unknown persona 'requirement_analystt' (did you mean 'requirement_analyst'?): "
            "configure it",
            'personas = ["requirement_analyst"]\n',
        ),
        (
            "id = 'REQ-EXIST'\n",
            0,
            0,
            "unknown check kind 'REQ-EXIST' (`kind` defaults to the id) (did you mean "
            "'REQ-EXISTS'?); known: REQ-EXISTS",
            "id = 'REQ-EXISTS'\n",
        ),
        (
            'kind = "scafold"\n',
            0,
            0,
            "unknown persona kind 'scafold' (did you mean 'scaffold'?); known: scaffold",
            'kind = "scaffold"\n',
        ),
    ],
)
def test_config_fix(text: str, line: int, column: int, message: str, expected: str) -> None:
    p = ConfigProblem(path="phasegate.toml", line=line, column=column, key="k", message=message)
    fix = config_fix(p, text)
    assert fix is not None and len(fix.edits) == 1
    assert apply(text, fix.edits[0]) == expected


def test_config_fix_only_when_there_is_a_suggestion() -> None:
    plain = ConfigProblem("phasegate.toml", 0, 0, "x", "unknown key 'x'; allowed: a, b")
    assert config_fix(plain, "x = 1\n") is None
    gone = ConfigProblem("phasegate.toml", 0, 0, "y", "unknown key 'y' (did you mean 'z'?)")
    assert config_fix(gone, "x = 1\n") is None  # not on that line: no edit


def test_the_agent_hook_s_query_honours_them(tmp_path: Path) -> None:
    """The one-file paths of the agent hook (IMPL-LINT's per-file lint, the per-file
    checks) give the findings that remain, as the gate does."""
    from phasegate.query import findings_for_files

    (tmp_path / "app.py").write_text(
        "import os  # phasegate: ignore[IMPL-LINT]\nimport sys\n\n\ndef f():\n    pass\n",
        encoding="utf-8",
    )
    found = findings_for_files(tmp_path, ["app.py"], trusted=True)
    by_check = {
        r.check: [(f.range.start.line, f.message[:4]) for f in r.findings] for r in found.results
    }
    assert [line for line, _m in by_check["IMPL-LINT"]] == [1]  # sys, not os
    assert [line for line, _m in by_check["IMPL-STUB"]] == [4]
    (tmp_path / "app.py").write_text(
        "# phasegate: ignore-file[IMPL-STUB, IMPL-LINT]\nimport os\n\n\ndef f():\n    pass\n",
        encoding="utf-8",
    )
    found = findings_for_files(tmp_path, ["app.py"], trusted=True)
    assert all(r.findings == [] for r in found.results if r.check in ("IMPL-LINT", "IMPL-STUB"))


def test_edits_keep_crlf_line_ends() -> None:
    text = "# R\r\n\r\n### REQ-1: A\r\n"
    edit = suppress.line_edit("d.md", text, 2, "X-1")
    assert edit is not None and edit.new_text == "<!-- phasegate: ignore[X-1] -->\r\n"
    whole = suppress.file_edit("d.md", text, "X-1")
    assert whole is not None and whole.new_text.endswith("-->\r\n")
    after = apply(text, edit)
    assert 3 in covered("d.md", after, "X-1")
    py = suppress.line_edit("a.py", "x = 1\r\n", 0, "X-1")
    assert py is not None and apply("x = 1\r\n", py) == "x = 1  # phasegate: ignore[X-1]\r\n"
