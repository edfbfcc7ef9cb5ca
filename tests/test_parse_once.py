"""One parse per file per change, and a cheap per-file path.

* IMPL-SYNTAX and IMPL-STUB share one parse of a file's content (:mod:`phasegate.parsed`):
  counted through the real checks, no content is parsed into a tree twice, and IMPL-SYNTAX
  compiles the tree IMPL-STUB parsed instead of parsing the text again;
* IMPL-STUB parses and tokenizes only where a finding can be: its findings are those of
  parsing and tokenizing every file whole (the reference below does exactly that), on
  real files (phasegate's own sources and tests, the standard library) and on texts made
  to trip the line-level reading;
* reading a file resolves no path, and still never reads outside the workspace.
"""

from __future__ import annotations

import ast
import functools
import io
import json
import os
import subprocess
import sys
import sysconfig
import threading
import tokenize
from pathlib import Path
from typing import IO, cast

import pytest

from phasegate import parsed
from phasegate.checks.implementation import stubs as stubs_mod
from phasegate.checks.implementation.syntax import compile_problem, decode_source
from phasegate.config import Config
from phasegate.model import Finding
from phasegate.runner import GateRunner, ResolvedCheck
from phasegate.workspace import FileTooLarge, Workspace

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def empty_memo() -> object:
    parsed.clear()
    yield None
    parsed.clear()


def impl_checks(root: Path) -> tuple[ResolvedCheck, ResolvedCheck]:
    runner = GateRunner(Workspace(root), Config())
    by_id = {rc.config.id: rc for rc in runner.checks("implementation")}
    return by_id["IMPL-SYNTAX"], by_id["IMPL-STUB"]


STUB_MODULE = '''\
"""Orders."""


def total(order: list[int]) -> int:
    """The total."""
    raise NotImplementedError
'''

PLAIN_MODULE = '''\
"""Orders."""


def total(order: list[int]) -> int:
    try:
        return sum(order)
    except TypeError:
        pass
    return 0
'''


# -- one parse per file per change --------------------------------------------------------


def test_both_checks_share_one_parse_of_a_change(tmp_path: Path) -> None:
    (tmp_path / "orders.py").write_text(STUB_MODULE)
    syntax, stub = impl_checks(tmp_path)
    assert len(stub.check.check_file(stub.ctx, "orders.py")) == 1
    assert syntax.check.check_file(syntax.ctx, "orders.py") == []
    # IMPL-STUB parsed it; IMPL-SYNTAX compiled that tree: one parse in all
    assert parsed.counts() == {"parse": 1, "compile_text": 0, "compile_tree": 1, "hit": 0}
    stub.check.check_file(stub.ctx, "orders.py")  # the same content again: no new parse
    assert parsed.counts()["parse"] == 1
    (tmp_path / "orders.py").write_text(STUB_MODULE.replace("total", "grand_total"))
    assert len(stub.check.check_file(stub.ctx, "orders.py")) == 1
    syntax.check.check_file(syntax.ctx, "orders.py")
    assert parsed.counts() == {"parse": 2, "compile_text": 0, "compile_tree": 2, "hit": 1}


def test_a_file_that_can_hold_no_finding_is_compiled_and_never_parsed(tmp_path: Path) -> None:
    (tmp_path / "orders.py").write_text(PLAIN_MODULE)
    syntax, stub = impl_checks(tmp_path)
    assert syntax.check.check_file(syntax.ctx, "orders.py") == []
    assert stub.check.check_file(stub.ctx, "orders.py") == []
    # compiling the text is its one parse; IMPL-STUB saw that nothing can be a finding
    assert parsed.counts() == {"parse": 0, "compile_text": 1, "compile_tree": 0, "hit": 0}


def test_a_runner_parses_each_file_at_most_once(tmp_path: Path) -> None:
    files = {f"pkg/plain_{i}.py": PLAIN_MODULE.replace("total", f"total_{i}") for i in range(6)}
    files |= {f"pkg/stub_{i}.py": STUB_MODULE.replace("total", f"total_{i}") for i in range(3)}
    files["pkg/todo.py"] = "x = 1  # TODO: more\n"
    files["pkg/broken.py"] = "def f(:\n    pass  # TODO\n"
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_text(text)
    runner = GateRunner(Workspace(tmp_path), Config())
    by_id = {rc.config.id: rc for rc in runner.checks("implementation")}
    stub = runner.run_check(by_id["IMPL-STUB"])
    syntax = runner.run_check(by_id["IMPL-SYNTAX"])
    assert len(stub.findings) == 4 and len(syntax.findings) == 1
    counts = parsed.counts()
    # IMPL-STUB parsed the files that can hold a finding (stubs, a marker comment, the
    # broken file's "pass"), once each; IMPL-SYNTAX compiled every file once, from the
    # remembered tree where there was one
    assert counts["parse"] == 5
    assert counts["compile_tree"] == 4  # the broken file has no tree
    assert counts["compile_text"] == len(files) - 4


def test_concurrent_requests_for_one_content_parse_it_once() -> None:
    text = "\n".join(f"def f{i}(x):\n    return x + {i}" for i in range(400))
    trees: list[ast.Module | None] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        trees.append(parsed.parse(text, "m.py").tree)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert parsed.counts()["parse"] == 1
    assert len(trees) == 8 and all(t is trees[0] and t is not None for t in trees)


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(parsed.MAX_TREES + 10):
        parsed.parse(f"x = {i}\n")
    parsed.parse(f"x = {parsed.MAX_TREES + 9}\n")  # the last one is remembered
    assert parsed.counts()["parse"] == parsed.MAX_TREES + 10
    parsed.parse("x = 0\n")  # forgotten: the oldest went first
    assert parsed.counts()["parse"] == parsed.MAX_TREES + 11
    monkeypatch.setattr(parsed, "MAX_TREE_CHARS", 1000)
    big = "x = 1\n" * 200
    parsed.parse(big)
    parsed.parse(big)  # more text than the trees may hold: kept while it is the newest
    assert parsed.counts()["parse"] == parsed.MAX_TREES + 12
    small = "y = 2\n" * 100
    parsed.parse(small)
    parsed.parse(small)
    assert parsed.counts()["parse"] == parsed.MAX_TREES + 13
    parsed.parse(big)  # no longer the newest: forgotten
    assert parsed.counts()["parse"] == parsed.MAX_TREES + 14
    parsed.parse(small)  # and the big one made room by pushing the small one out
    assert parsed.counts()["parse"] == parsed.MAX_TREES + 15
    for i in range(parsed.MAX_FAILURES + 1):  # why a text does not parse: kept apart
        assert parsed.parse(f"x = ({i}\n").tree is None
    parsed.parse("x = (0\n")  # the oldest failure went first
    assert parsed.counts()["parse"] == parsed.MAX_TREES + parsed.MAX_FAILURES + 17


# -- IMPL-SYNTAX: the same verdict from the text and from a remembered tree ----------------

SYNTAX_CASES = [
    "x = 1\n",
    "return 1\n",
    "def f():\n    nonlocal x\n",
    "def f(a, a):\n    pass\n",
    "x = 1\nfrom __future__ import annotations\n",
    "for x in y:\n    def f():\n        break\n",
    "try:\n    pass\nexcept:\n    pass\nexcept ValueError:\n    pass\n",
    "async def f():\n    yield 1\n    return 2\n",
    "def f():\n    x = 1\n    global x\n",
    "class A:\n    return 1\n",
    "*a, *b = c\n",
    "def f(:\n    pass\n",
    "x = (\n",
    "x = " + "(" * 150 + ")" * 150 + "\n",
    "x = " + "-" * 3000 + "1\n",
    "s = '\\d'\nif x is 1:\n    pass\n",  # warnings, not errors
]


@pytest.mark.parametrize("text", SYNTAX_CASES)
def test_syntax_verdict_is_the_same_from_a_remembered_tree(text: str) -> None:
    def reference() -> object:
        try:
            compile(text, "m.py", "exec", dont_inherit=True)
        except SyntaxError as exc:
            return (type(exc), exc.msg, exc.lineno, exc.offset, exc.end_lineno, exc.end_offset)
        except (RecursionError, MemoryError, ValueError) as exc:
            return type(exc)
        return None

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = reference()
    from_text = compile_problem(text, "m.py")
    remembered = parsed.parse(text, "m.py").tree is not None
    from_tree = compile_problem(text, "m.py")
    assert from_tree == from_text
    assert (from_text is None) == (expected is None)
    if remembered:  # the second verdict came from the tree
        assert parsed.counts()["compile_tree"] == 1
    if isinstance(expected, tuple):
        assert from_text is not None and from_text.message.endswith(str(expected[1]))


# -- IMPL-STUB: findings of reading only what can hold one ---------------------------------


def reference_stub_findings(rc: ResolvedCheck, path: str, text: str) -> list[Finding]:
    """What IMPL-STUB finds by parsing and tokenizing the whole text, always."""
    try:
        tree = ast.parse(text, path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    opts = rc.ctx.options
    assert isinstance(opts, stubs_mod.StubOptions)
    lines = (text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text).split("\n")
    check = rc.check
    assert isinstance(check, stubs_mod.Stubs)
    findings: list[Finding] = []
    if not path.endswith(".pyi") and path.rsplit("/", 1)[-1] not in ("hookspecs.py", "hookspec.py"):
        findings += check._stubs(rc.ctx, path, tree, lines, text)
    if opts.comment_severity != "off" and any(m in text for m in opts.comment_markers):
        findings += stubs_mod.Stubs._comments(rc.ctx, path, text, opts)  # every token
    if "phasegate:" in text:
        findings = [
            f
            for f in findings
            if not (
                0 <= f.range.start.line < len(lines)
                and stubs_mod.suppressed(lines[f.range.start.line], rc.ctx.check.id)
            )
        ]
    findings.sort(key=lambda f: (f.range.start.line, f.range.start.character))
    return findings


@functools.cache
def real_python_files() -> tuple[Path, ...]:
    """phasegate's sources and tests, and modules of the standard library (one in four
    at its top, and asyncio): files that parse, with stubs, abstract methods, marker
    comments and all the ways real code is written."""
    files = sorted((ROOT / "server" / "phasegate").rglob("*.py"))
    files += sorted((ROOT / "tests").rglob("*.py"))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files += sorted(stdlib.glob("*.py"))[::4] + sorted((stdlib / "asyncio").glob("*.py"))
    out = []
    for path in files:
        try:
            ast.parse(path.read_bytes())
        except (SyntaxError, ValueError):
            continue  # test data that does not parse: nothing to compare
        out.append(path)
    return tuple(out)


TRICKY = {
    # stubs the line-level reading must not miss
    "paren_doc.py": "def f():\n    (\n        'doc'\n    )\n    pass\n",
    "doc_closed_in_a_comment_line.py": "def f():\n    '''Doc\n  else:\n# x '''\n    pass\n",
    "backslash_header.py": "def f() -> \\\n        int:\n    pass\n",
    "backslash_body.py": "def f(): \\\n    pass\n",
    "deeper_header_end.py": "def f(a,\n        b):\n    ...\n",
    "black_header.py": "def f(\n    a,\n):\n    # noqa: D102\n\n    ...\n",
    "comprehension_default.py": "def f(a=[x for x in y\n          if x]): pass\n",
    "tabs.py": "class A:\n\tdef f(self):\n\t\tpass\n",
    "crlf.py": "def f():\r\n    pass\r\n# TODO: x\r\n",
    "cr.py": "def f():\r    pass\r# TODO: x\r",
    "nfkc.py": "def f():\n    raise \uff2eotImplementedError\n",
    "semicolon.py": "def f(): 'doc'; pass\n",
    "form_feed.py": "def f():\n\x0c    pass\n",
    "decorated.py": "@app.get('/')\ndef index():\n    ...\n",
    # not stubs, read without parsing
    "handlers.py": "try:\n    x()\nexcept (A, B):\n    pass\nelse: pass\n",
    "exception_class.py": "class E(Exception):\n    pass\n\n\nclass F(E): pass\n",
    "prose.py": 'print("usage: prog [options] ...")\nx = a[1:...]\n# pass the salt\n',
    # markers
    "markers.py": "s = '# TODO not a comment'\nt = '''\n# FIXME inside\n'''\nx = 1  # XXX: real\n",
    "marker_blocks.py": "# TODO: a\n# TODO: b\n\n# note\n# XXX c\nx = 1  # FIXME\n# TODO d\n",
    "marker_prose.py": "# see the TODO list\n# XXX-YYY format\n# TODO.md\nx = 1\n",
    "marker_in_class.py": "class A:\n    x = 1\n\n    # TODO: y\n    def f(self):\n        ...",
    "suppressed.py": (
        "def f():  # phasegate: ignore[IMPL-STUB]\n    pass\n# TODO x  # phasegate: ignore\n"
    ),
    "unparsable.py": "def f(:\n    pass\n# TODO\n",
}


def test_stub_findings_are_those_of_parsing_and_tokenizing_everything(tmp_path: Path) -> None:
    for name, text in TRICKY.items():
        (tmp_path / name).write_bytes(text.encode())
    _, stub = impl_checks(tmp_path)
    found = set()
    for name, text in TRICKY.items():
        got = stub.check.check_file(stub.ctx, name)
        assert got == reference_stub_findings(stub, name, text), name
        if got:
            found.add(name)
    silent = {"handlers.py", "exception_class.py", "prose.py", "marker_prose.py"}
    assert found == set(TRICKY) - silent - {"suppressed.py", "unparsable.py"}
    for path in real_python_files():
        data = path.read_bytes()
        text, problem = decode_source(data)
        if text is None or problem is not None:
            continue
        rel = "real/" + path.name
        target = tmp_path / rel
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(data)
        got = stub.check.check_file(stub.ctx, rel)
        assert got == reference_stub_findings(stub, rel, text), path


def test_files_that_can_hold_nothing_are_neither_parsed_nor_tokenized(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("handlers.py", "exception_class.py", "prose.py", "marker_prose.py"):
        (tmp_path / name).write_text(TRICKY[name])
    tokenized: list[int] = []
    real = tokenize.generate_tokens

    def counting(readline: object) -> object:
        tokenized.append(1)
        return real(readline)  # type: ignore[arg-type]

    monkeypatch.setattr(stubs_mod.tokenize, "generate_tokens", counting)
    _, stub = impl_checks(tmp_path)
    for name in ("handlers.py", "exception_class.py", "prose.py", "marker_prose.py"):
        assert stub.check.check_file(stub.ctx, name) == []
    assert parsed.counts()["parse"] == 0 and tokenized == []


def test_marker_comments_are_tokenized_from_a_fresh_start_near_them() -> None:
    opts = stubs_mod.StubOptions()
    texts = [p.read_text(encoding="utf-8") for p in real_python_files() if p.suffix == ".py"]
    texts = [t for t in texts if any(m in t for m in opts.comment_markers)]
    texts += [TRICKY["marker_blocks.py"], TRICKY["marker_in_class.py"]]
    assert len(texts) > 20

    class Ctx:
        def finding(self, path: str, message: str, rng: object, **kw: object) -> object:
            return (message, rng)

    compared = 0
    for text in texts:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        lines = text.split("\n")
        rows = stubs_mod.marker_rows(lines, opts.comment_markers)
        whole = stubs_mod.Stubs._comments(Ctx(), "p", text, opts)  # type: ignore[arg-type]
        near = (
            stubs_mod.Stubs._comments(Ctx(), "p", text, opts, tree, lines, rows)  # type: ignore[arg-type]
            if rows
            else []
        )
        assert near == whole
        compared += bool(whole)
    assert compared > 10


def test_marker_rows_hold_every_marker_comment() -> None:
    opts = stubs_mod.StubOptions()
    marker = stubs_mod.marker_pattern(tuple(opts.comment_markers))
    for path in real_python_files():
        text = path.read_text(encoding="utf-8")
        if not any(m in text for m in opts.comment_markers):
            continue
        rows = set(stubs_mod.marker_rows(text.split("\n"), opts.comment_markers))
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
        except (tokenize.TokenError, SyntaxError):
            continue
        for tok in tokens:
            if tok.type == tokenize.COMMENT and stubs_mod._marker_use(marker, tok.string):
                assert tok.start[0] - 1 in rows, (path, tok)


def test_the_visitor_sees_every_statement_iter_child_nodes_gives() -> None:
    """Functions are looked for in statement bodies only: for every statement the check
    walks generically, those are exactly the statements among all its children."""
    for path in real_python_files()[:400]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Try, ast.If)) or type(node).__name__ == "TryStar":
                continue  # walked field by field by the visitor itself
            if not isinstance(node, (ast.stmt, ast.Module)):
                continue
            children = [
                c for c in ast.iter_child_nodes(node) if isinstance(c, (ast.stmt, ast.match_case))
            ]
            assert list(stubs_mod._inner_statements(node)) == children


def test_callbacks_read_from_the_text_first_are_the_same() -> None:
    texts = [p.read_text(encoding="utf-8") for p in real_python_files()]
    texts.append("import typer\napp = typer.Typer(\uff43allback=cb)\n")
    for text in texts:
        tree = ast.parse(text)
        assert stubs_mod._Module(tree, text).callbacks() == stubs_mod._Module(tree).callbacks()


# -- reading files -------------------------------------------------------------------------


def test_reading_a_file_resolves_no_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "sub" / "m.py").write_text("x = 1\n")
    ws = Workspace(tmp_path)
    resolved: list[str] = []
    real = os.path.realpath

    def counting(path: object, *args: object, **kw: object) -> str:
        resolved.append(str(path))
        return real(path, *args, **kw)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(os.path, "realpath", counting)
    assert ws.read_bytes("pkg/sub/m.py", max_bytes=100) == b"x = 1\n"
    assert ws.read_text("pkg/sub/m.py") == "x = 1\n"
    assert ws.content_hash("pkg/sub/m.py") != "-"
    assert resolved == []


def test_links_are_read_inside_the_workspace_only(tmp_path: Path) -> None:
    root, outside = tmp_path / "ws", tmp_path / "outside"
    (root / "docs" / "specs").mkdir(parents=True)
    outside.mkdir()
    (root / "docs" / "specs" / "spec.md").write_text("inside\n")
    (outside / "secret.txt").write_text("secret\n")
    (root / ".kiro").symlink_to(root / "docs", target_is_directory=True)
    (root / "leak.txt").symlink_to(outside / "secret.txt")
    (root / "out").symlink_to(outside, target_is_directory=True)
    (root / "moved").mkdir()
    (root / "moved" / "secret.txt").write_text("was inside\n")
    ws = Workspace(root)
    assert ws.read_bytes(".kiro/specs/spec.md") == b"inside\n"  # a link inside: followed
    assert ws.read_bytes("leak.txt") is None
    assert ws.read_bytes("out/secret.txt") is None
    assert ws.read_bytes("docs/../../outside/secret.txt") is None
    assert ws.content_hash("out/secret.txt") == "-"
    assert ws.read_bytes("moved/secret.txt") == b"was inside\n"
    (root / "moved" / "secret.txt").unlink()
    (root / "moved").rmdir()
    (root / "moved").symlink_to(outside, target_is_directory=True)  # swapped for a link
    assert ws.read_bytes("moved/secret.txt") is None
    assert ws.read_text("moved/secret.txt") is None


def test_a_file_that_grows_past_the_limit_after_its_stat_is_too_large(tmp_path: Path) -> None:
    class GrowsWhenRead:
        """A file that another process appends to between its stat and its read."""

        def __init__(self, fh: IO[bytes], path: Path) -> None:
            self.fh, self.path, self.grown = fh, path, False

        def read(self, n: int = -1) -> bytes:
            if not self.grown:
                self.grown = True
                with open(self.path, "ab") as other:
                    other.write(b"y" * 500)
            return self.fh.read(n)

        def fileno(self) -> int:
            return self.fh.fileno()

        def __enter__(self) -> GrowsWhenRead:
            return self

        def __exit__(self, *exc: object) -> None:
            self.fh.close()

    class Growing(Workspace):
        def _open(self, rel: str) -> IO[bytes]:
            return cast("IO[bytes]", GrowsWhenRead(super()._open(rel), self.root / rel))

    (tmp_path / "m.py").write_bytes(b"x" * 100)
    with pytest.raises(FileTooLarge) as info:
        Growing(tmp_path).read_bytes("m.py", max_bytes=300)
    assert info.value.size == 301  # read up to the limit, and one byte more
    (tmp_path / "n.py").write_bytes(b"x" * 100)
    assert Workspace(tmp_path).read_bytes("n.py", max_bytes=300) == b"x" * 100


# -- the benchmark -------------------------------------------------------------------------


def test_the_per_file_benchmark_prints_its_figures() -> None:
    script = str(ROOT / "benchmarks" / "per_file_cpu.py")
    proc = subprocess.run(
        [sys.executable, script, "--files", "40", "--runs", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout)
    assert figures["python_files"] == 41  # 40 modules and their package's __init__.py
    for key in ("parse_cpu_ms_per_file", "checks_cpu_ms_per_file", "checks_over_parse"):
        assert isinstance(figures[key], float) and figures[key] > 0
    # each check's own share, as its result reports it (wall time)
    assert figures["IMPL-STUB_wall_ms_per_file"] > 0 and figures["IMPL-SYNTAX_wall_ms_per_file"] > 0
