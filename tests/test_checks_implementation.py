"""IMPL-SYNTAX and IMPL-STUB on real files, through the gate runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from phasegate.checks.implementation import stubs as stubs_mod
from phasegate.config import Config
from phasegate.model import CheckResult, Finding, Severity
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace


def run_check(root: Path, check_id: str, config: Config | None = None) -> CheckResult:
    runner = GateRunner(Workspace(root), config or Config())
    rc = next(c for c in runner.checks("implementation") if c.config.id == check_id)
    return runner.run_check(rc)


def spans(findings: list[Finding]) -> list[tuple[str, int, int, int, int]]:
    return [
        (
            f.path,
            f.range.start.line,
            f.range.start.character,
            f.range.end.line,
            f.range.end.character,
        )
        for f in findings
    ]


def with_options(check_id: str, **options: object) -> Config:
    cfg = Config()
    phase = cfg.phase("implementation")
    for c in phase.checks:
        if c.id == check_id:
            c.options = dict(options)
    return cfg


# -- IMPL-SYNTAX ------------------------------------------------------------------------


def test_syntax_error_at_its_exact_position(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n")
    (tmp_path / "bad.py").write_text('s = "é"\nx = 1\ny = $ 2\n')
    r = run_check(tmp_path, "IMPL-SYNTAX")
    assert not r.passed and r.blocking and r.score == 0.5
    (f,) = r.findings
    assert f.path == "bad.py" and f.severity == Severity.ERROR
    assert f.message.startswith("SyntaxError:")
    assert (f.range.start.line, f.range.start.character) == (2, 4)
    assert f.owner == "backend_developer"


def test_non_ascii_columns_are_characters(tmp_path: Path) -> None:
    (tmp_path / "u.py").write_text('x = "ééé" +\n', encoding="utf-8")
    (f,) = run_check(tmp_path, "IMPL-SYNTAX").findings
    assert (f.range.start.line, f.range.start.character) == (0, 11)


def test_compile_errors_beyond_parsing(tmp_path: Path) -> None:
    (tmp_path / "r.py").write_text("x = 1\nreturn x\n")
    (f,) = run_check(tmp_path, "IMPL-SYNTAX").findings
    assert "'return' outside function" in f.message
    assert spans([f]) == [("r.py", 1, 0, 1, 8)]


def test_indentation_error(tmp_path: Path) -> None:
    (tmp_path / "i.py").write_text("def f():\n    return 1\n  return 2\n")
    (f,) = run_check(tmp_path, "IMPL-SYNTAX").findings
    assert f.message.startswith("IndentationError:") and f.range.start.line == 2


def test_declared_encoding_and_bom_are_fine(tmp_path: Path) -> None:
    (tmp_path / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nname = '\xe9t\xe9'\n")
    (tmp_path / "bom.py").write_bytes(b"\xef\xbb\xbfx = 1\n")
    r = run_check(tmp_path, "IMPL-SYNTAX")
    assert r.passed and r.findings == []


def test_undecodable_binary_nul_and_unknown_coding(tmp_path: Path) -> None:
    (tmp_path / "bin.py").write_bytes(b"x = 1\ny = '\xff\xfe'\n")
    (tmp_path / "nul.py").write_bytes(b"x = 1\nab\x00c\n")
    (tmp_path / "enc.py").write_bytes(b"#!/usr/bin/env python\n# coding: nosuchcodec\nx = 1\n")
    r = run_check(tmp_path, "IMPL-SYNTAX")
    got = {f.path: f for f in r.findings}
    assert spans([got["bin.py"]]) == [("bin.py", 1, 5, 1, 6)]
    assert "cannot be decoded as utf-8" in got["bin.py"].message
    assert spans([got["nul.py"]]) == [("nul.py", 1, 2, 1, 3)]
    assert "NUL" in got["nul.py"].message
    assert got["enc.py"].range.start.line == 1 and "nosuchcodec" in got["enc.py"].message
    assert r.score == 0.0


def test_huge_files_are_skipped_with_info_and_other_files_ignored(tmp_path: Path) -> None:
    (tmp_path / "big.py").write_text("x = (\n" * 200)
    (tmp_path / "notes.txt").write_text("x = (")
    cfg = with_options("IMPL-SYNTAX", max_bytes=100)
    cfg.artifacts.sources = ["*.py", "*.txt"]
    r = run_check(tmp_path, "IMPL-SYNTAX", cfg)
    (f,) = r.findings
    assert f.path == "big.py" and f.severity == Severity.INFO and r.passed


def test_deeply_nested_code_does_not_crash(tmp_path: Path) -> None:
    (tmp_path / "deep.py").write_text("x = " + "(" * 5000 + ")" * 5000 + "\n")
    r = run_check(tmp_path, "IMPL-SYNTAX")
    assert r.error is None and len(r.findings) == 1


def test_python_version_option(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("match x:\n    case 1:\n        pass\n")
    assert run_check(tmp_path, "IMPL-SYNTAX").passed
    r = run_check(tmp_path, "IMPL-SYNTAX", with_options("IMPL-SYNTAX", python_version="3.8"))
    (f,) = r.findings
    assert "(Python 3.8)" in f.message
    with pytest.raises(ValueError):
        run_check(tmp_path, "IMPL-SYNTAX", with_options("IMPL-SYNTAX", python_version="three"))


def test_only_changed_files_are_recompiled(tmp_path: Path) -> None:
    from phasegate.cache import ResultCache

    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = (\n")
    ws = Workspace(tmp_path)
    runner = GateRunner(ws, Config(), cache=ResultCache(tmp_path / ".phasegate" / "cache"))
    rc = next(c for c in runner.checks("implementation") if c.config.id == "IMPL-SYNTAX")
    assert len(runner.run_check(rc).findings) == 1
    (tmp_path / "b.py").write_text("y = ()\n")
    ws.notify_changed(["b.py"])
    r = runner.run_check(rc)
    assert r.passed and r.findings == []


# -- IMPL-STUB --------------------------------------------------------------------------

STUBS = '''\
import abc
from typing import Protocol, overload

import click


def empty():
    pass


def ellipsis_only():
    """Docstring."""
    ...


async def not_yet(x):
    raise NotImplementedError("later")


def doc_only():
    """Only a docstring: a documented hook, not a stub."""


@click.group()
def cli():
    pass


class Service:
    def method(self):
        raise NotImplementedError

    def real(self):
        return 1


class Base(abc.ABC):
    @abc.abstractmethod
    def must(self):
        ...


class Greeter(Protocol):
    def greet(self) -> str: ...


@overload
def f(x: int) -> int: ...
@overload
def f(x: str) -> str: ...
def f(x):
    return x  # TODO: handle bytes


s = "# TODO inside a string is not a comment"
# FIXME: and XXX in one comment
'''


def test_stubs_and_marker_comments(tmp_path: Path) -> None:
    (tmp_path / "svc.py").write_text(STUBS)
    r = run_check(tmp_path, "IMPL-STUB")
    lines = STUBS.split("\n")
    got = [(f.range.start.line, f.message.split(":")[0] if "comment" in f.message else f.message)
           for f in r.findings]  # fmt: skip
    assert [g[0] for g in got] == [
        lines.index("def empty():"),
        lines.index("def ellipsis_only():"),
        lines.index("async def not_yet(x):"),
        lines.index("    def method(self):"),
        lines.index("    return x  # TODO: handle bytes"),
        lines.index("# FIXME: and XXX in one comment"),
    ]
    names = [f.message for f in r.findings[:4]]
    assert names[0] == "`empty` is a stub: its body is only `pass`. Implement it."
    assert "`...`" in names[1] and "`raise NotImplementedError`" in names[2]
    assert names[3].startswith("`Service.method`")
    for f in r.findings[:4]:  # the range is the function's name
        text = lines[f.range.start.line][f.range.start.character : f.range.end.character]
        assert f.message.startswith(f"`{text}`") or f.message.startswith(f"`Service.{text}`")
    todo = r.findings[4]
    assert lines[todo.range.start.line][todo.range.start.character : todo.range.end.character] == (
        "TODO"
    )
    assert todo.message == "TODO comment: TODO: handle bytes"
    fixme = r.findings[5]
    assert (fixme.range.start.character, fixme.range.end.character) == (2, 7)
    assert not r.passed and r.score == 0.0


NOT_STUBS_ON_REAL_CODE = """\
import ast
from typing import TYPE_CHECKING

if TYPE_CHECKING:

    def lazy(name: str) -> int: ...

else:

    def lazy(name):
        return 1


class Shell:
    def args(self):
        raise NotImplementedError

    def on_done(self):
        pass

    def stub(self):
        raise NotImplementedError


class Bash(Shell):
    def args(self):
        return ["bash"]

    def on_done(self):
        print("done")


class KeepOpen:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    if True:  # a method defined under a statement is still a method of the class
        async def __aexit__(self, *exc):
            pass


class Visitor(ast.NodeVisitor):
    def visit_ClassDef(self, node):  # phasegate: ignore[IMPL-STUB]
        pass

    def visit_Lambda(self, node):  # phasegate: ignore[IMPL-LINT]
        pass


def later():  # phasegate: ignore
    pass


x = 1  # TODO: v3 drops this  # phasegate: ignore[IMPL-STUB]
y = 2  # FIXME: not silenced by another check's id  # phasegate: ignore[DES-TRACE]
"""


def test_deliberate_empty_bodies_and_silenced_lines_are_not_findings(tmp_path: Path) -> None:
    (tmp_path / "real.py").write_text(NOT_STUBS_ON_REAL_CODE)
    r = run_check(tmp_path, "IMPL-STUB")
    lines = NOT_STUBS_ON_REAL_CODE.split("\n")
    got = [(f.range.start.line, f.message.split(":")[0]) for f in r.findings]
    assert got == [
        (lines.index("    def stub(self):"), "`Shell.stub` is a stub"),
        (lines.index("    def visit_Lambda(self, node):  # phasegate: ignore[IMPL-LINT]"),
         "`Visitor.visit_Lambda` is a stub"),
        (lines.index("y = 2  # FIXME: not silenced by another check's id  "
                     "# phasegate: ignore[DES-TRACE]"), "FIXME comment"),
    ]  # fmt: skip


def test_suppression_comment_syntax() -> None:
    assert stubs_mod.suppressed("def f():  # phasegate: ignore", "IMPL-STUB")
    assert stubs_mod.suppressed("def f():  # phasegate: ignore[IMPL-STUB]", "IMPL-STUB")
    assert stubs_mod.suppressed("def f():  # phasegate:ignore[A-1, IMPL-STUB ]", "IMPL-STUB")
    assert not stubs_mod.suppressed("def f():  # phasegate: ignore[IMPL-LINT]", "IMPL-STUB")
    assert not stubs_mod.suppressed('s = "phasegate: ignore"', "IMPL-STUB")
    assert not stubs_mod.suppressed("def f():  # phasegate ignore", "IMPL-STUB")


def test_pyi_files_and_tests_are_not_stubs(tmp_path: Path) -> None:
    (tmp_path / "api.pyi").write_text("def f(x: int) -> int: ...\nclass A:\n    def m(self): ...\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def helper():\n    pass  # TODO\n")
    (tmp_path / "test_top.py").write_text("def helper():\n    pass\n")
    r = run_check(tmp_path, "IMPL-STUB")
    assert r.findings == [] and r.passed


def test_stub_options(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x = 1  # TODO later\ny = 2  # HACK here\n")
    r = run_check(tmp_path, "IMPL-STUB", with_options("IMPL-STUB", comment_severity="off"))
    assert r.findings == []
    cfg = with_options("IMPL-STUB", comment_markers=["HACK"], comment_severity="info")
    r = run_check(tmp_path, "IMPL-STUB", cfg)
    (f,) = r.findings
    assert f.range.start.line == 1 and f.severity == Severity.INFO and r.passed
    with pytest.raises(ValueError):
        run_check(tmp_path, "IMPL-STUB", with_options("IMPL-STUB", comment_markers=["a b"]))


def test_stub_check_leaves_broken_files_to_the_syntax_check(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n    pass\n")
    (tmp_path / "bin.py").write_bytes(b"\xff\x00\x01")
    r = run_check(tmp_path, "IMPL-STUB")
    assert r.error is None and r.findings == []
