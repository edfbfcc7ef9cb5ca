"""TEST-PYTEST: the workspace's test suite, run by the workspace's interpreter.

``<python> -m pytest -q -p no:cacheprovider --junitxml=.phasegate/tmp/<run>/junit.xml``
runs in the workspace root; each failing or erroring test becomes a finding at the line
of the test file where it failed (from the traceback), with the assertion message. When
coverage.py is installed in that interpreter and TEST-COVERAGE is enabled, the same run
is made under ``-m coverage run`` so the suite runs once for both checks (see
:func:`run_suite`). When the interpreter has pytest-xdist, the run is spread over
workers (:mod:`phasegate.checks.testing.parallel`). A virtual environment's interpreter
runs with the environment's ``bin`` first on PATH (:func:`phasegate.interpreter.venv_env`).

Nothing is written in the workspace outside ``.phasegate/``: no ``.pytest_cache``
(``-p no:cacheprovider``), no ``__pycache__`` (``PYTHONDONTWRITEBYTECODE=1``), the
JUnit XML and the coverage data go to a per-run folder under ``.phasegate/tmp/`` that is
removed afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.checks.command import tail
from phasegate.checks.testing.exists import defines_tests, no_python_tests_reason
from phasegate.checks.testing.parallel import (
    PLUGIN_MODULE,
    Workers,
    load_tests_time,
    plugin_env,
    save_tests_time,
    worker_count,
    write_plugin,
    xdist_args,
)
from phasegate.interpreter import InterpreterNotFound, find_interpreter, probe, venv_env
from phasegate.languages import no_python_reason
from phasegate.model import Finding, Range, Severity
from phasegate.proc import Invocation, record, recording, run_tool
from phasegate.toml_locate import TOMLDecodeError, toml_loads
from phasegate.workspace import PathOutsideWorkspace, Workspace

if TYPE_CHECKING:
    from phasegate.config import Config

SUITE_CONFIG_FILES = (
    "pyproject.toml",
    "setup.cfg",
    "pytest.ini",
    "tox.ini",
    ".coveragerc",
    "conftest.py",
    "**/conftest.py",
)
COVERAGE_KIND = "TEST-COVERAGE"
EXIT_NO_TESTS = 5
EXIT_USAGE = 4


def suite_inputs(config: Config) -> list[str]:
    """Files whose change means the test suite must run again."""
    return [*config.artifacts.sources, *config.artifacts.tests, *SUITE_CONFIG_FILES]


@dataclass
class TestCase:
    """One ``<testcase>`` of the JUnit XML."""

    __test__ = False  # not a pytest test class

    classname: str
    name: str
    file: str | None  # workspace-relative, when known
    line: int | None  # 0-based definition line, when known
    outcome: str  # passed / failed / error / skipped
    message: str = ""
    text: str = ""
    seconds: float = 0.0  # pytest's timing of the test

    @property
    def key(self) -> tuple[str | None, str, str]:
        return (self.file, self.classname, self.name)

    @property
    def node_id(self) -> str:
        """pytest's id of the test (``file::Class::name``), to run it alone; a file's
        collection error is the file."""
        if not self.file:
            return self.label
        if not self.classname:
            return self.file
        mod = self.file[:-3].replace("/", ".") if self.file.endswith(".py") else ""
        rest = self.classname[len(mod) + 1 :] if mod and self.classname.startswith(mod) else ""
        return "::".join([self.file, *(rest.split(".") if rest else []), self.name])

    @property
    def label(self) -> str:
        if self.file and self.classname:
            mod = self.file[:-3].replace("/", ".") if self.file.endswith(".py") else ""
            rest = self.classname[len(mod) + 1 :] if mod and self.classname.startswith(mod) else ""
            parts = [self.file, *([rest] if rest else []), self.name]
            return "::".join(parts)
        if self.file:
            return self.file
        return f"{self.classname}::{self.name}" if self.classname else self.name


@dataclass
class SuiteRun:
    """The outcome of one run of the workspace's test suite."""

    python: str
    returncode: int | None = None
    timed_out: bool = False
    timeout: float = 0.0
    error: str | None = None  # could not run at all
    cases: list[TestCase] = field(default_factory=list)
    output_tail: str = ""
    with_coverage: bool = False
    coverage: dict[str, Any] | None = None
    coverage_error: str | None = None
    # the programs the run ran: a check that reuses the run reports them as its own
    invocations: list[Invocation] = field(default_factory=list)
    workers: int = 0  # pytest-xdist workers; 0: one process
    # tests that failed in parallel and passed when they ran again serially
    parallel_only: list[TestCase] = field(default_factory=list)
    # the project's packages the tests imported from elsewhere (None: not asked yet);
    # both checks of a shared run judge it, the interpreter is asked once
    foreign: dict[str, str | None] | None = None


# -- the shared run ---------------------------------------------------------------------
@dataclass
class _Memo:
    key: str
    run: SuiteRun
    consumers: set[str] = field(default_factory=set)


_memo: dict[Path, _Memo] = {}
suite_runs = 0  # how many times the suite was actually run in this process
_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(root: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(root, threading.Lock())


def coverage_wanted(config: Config) -> bool:
    """True when an enabled check of kind TEST-COVERAGE is configured."""
    for phase in config.phases:
        for cc in [*phase.checks, *phase.entry_checks]:
            if cc.enabled and cc.kind_name == COVERAGE_KIND:
                return True
    return False


def _suite_key(ws: Workspace, config: Config, python: str, timeout: float) -> str:
    """Whether the two test checks of one validation share a run: the interpreter, the
    timeout and the suite's inputs' content hashes, through the result cache's memo
    (:meth:`Workspace.known_hash`): in a workspace of thousands of modules, reading them
    all would hold up the start of the tests, the longest step."""
    h = hashlib.sha1(f"{python}|{timeout}|{config.test_workers}".encode())
    for path in ws.glob(suite_inputs(config)):
        h.update(path.encode())
        h.update(ws.known_hash(path).encode())
    return h.hexdigest()


def run_suite(ctx: CheckContext, *, coverage: bool) -> SuiteRun:
    """Run the suite, or reuse the run another check of this validation already made.

    A run is shared between checks (TEST-PYTEST, TEST-COVERAGE) as long as the suite's
    inputs are unchanged and the asking check has not used it yet: the next validation
    (the same check asking again) runs the suite again.
    """
    ws = ctx.workspace
    try:
        python = find_interpreter(ws.root, ctx.config)
    except InterpreterNotFound as exc:
        return SuiteRun(python="", error=str(exc))
    consumer = f"{ctx.phase}:{ctx.check.id}"
    with _lock_for(ws.root):
        key = _suite_key(ws, ctx.config, python, ctx.timeout)
        memo = _memo.get(ws.root)
        if (
            memo is not None
            and memo.key == key
            and consumer not in memo.consumers
            and (memo.run.with_coverage or not coverage)
        ):
            memo.consumers.add(consumer)
            record(memo.run.invocations)  # the evidence of the check that reuses it
            return memo.run
        before = _top_level(ws.root)
        try:
            with recording() as calls:
                run = _execute(
                    ws,
                    python,
                    ctx.timeout,
                    coverage or coverage_wanted(ctx.config),
                    ctx.config.test_workers,
                    len(_test_files(ctx)),
                )
            run.invocations = calls
        finally:
            _remove_new_empty_dirs(ws.root, before)
        _memo[ws.root] = _Memo(key, run, {consumer})
        return run


def _top_level(root: Path) -> set[str]:
    try:
        return set(os.listdir(root))
    except OSError:
        return set()


# Folders of test tools' own state a run creates at the root when its tool is not told
# otherwise (an older Hypothesis without HYPOTHESIS_STORAGE_DIRECTORY): removed when new
TOOL_STATE_DIRS = frozenset({".hypothesis"})


def _remove_new_empty_dirs(root: Path, before: set[str]) -> None:
    """Remove the empty folders the suite's plugins left at the root (pytest-benchmark
    creates `.benchmarks/` on start), and new folders of test tools' own state, so a
    validation leaves the workspace as it was. Anything else with content in it is the
    suite's own output and is left alone."""
    for name in _top_level(root) - before:
        path = root / name
        if not path.is_dir() or path.is_symlink():
            continue
        if name not in TOOL_STATE_DIRS and any(
            f for _d, _sub, files in os.walk(path) for f in files
        ):
            continue
        shutil.rmtree(path, ignore_errors=True)


def _suite_env(ws: Workspace, python: str) -> dict[str, str]:
    """The environment every run of the suite gets: the activated venv's; no bytecode
    written; no options from the caller's PYTEST_ADDOPTS; Hypothesis's example database
    under ``.phasegate/cache/`` (kept, so an example that failed is tried first next
    time, as in the project's own ``.hypothesis/``) instead of in the workspace."""
    return {
        **venv_env(python),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTEST_ADDOPTS": "",
        "HYPOTHESIS_STORAGE_DIRECTORY": str(ws.state_dir / "cache" / "hypothesis"),
    }


def _execute(
    ws: Workspace,
    python: str,
    timeout: float,
    want_coverage: bool,
    workers: Workers,
    test_files: int,
) -> SuiteRun:
    global suite_runs
    suite_runs += 1
    root = ws.root
    info = probe(python, root)
    if info is None:
        return SuiteRun(python=python, error=f"cannot run the interpreter {python}")
    if not info.has("pytest"):
        return SuiteRun(
            python=python,
            error=f"pytest is not installed in {python}: install it there "
            "(or set `interpreter`), or disable check TEST-PYTEST",
        )
    needs = requires_python(ws)
    if needs is not None and not needs.contains(info.version, prereleases=True):
        return SuiteRun(
            python=python,
            error=f"the project requires Python {needs} and {python} is Python "
            f"{info.version}: point `interpreter` (or a `.venv`) at a Python it supports",
        )
    with_cov = want_coverage and info.has("coverage")
    run = SuiteRun(python=python, with_coverage=with_cov, timeout=timeout)
    if want_coverage and not with_cov:
        run.coverage_error = (
            f"coverage is not installed in {python}: install it there, or disable check "
            "TEST-COVERAGE"
        )
    tmp = ws.state_dir / "tmp" / f"run-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        junit = tmp / "junit.xml"
        data_file = tmp / ".coverage"
        has_xdist = info.has("xdist")
        cache_dir = ws.state_dir / "cache"
        run.workers = worker_count(
            workers, has_xdist, test_files, load_tests_time(cache_dir) if has_xdist else None
        )
        env = {**_suite_env(ws, python), "COVERAGE_FILE": str(data_file)}
        pytest_cov = info.has("pytest_cov")
        started = time.monotonic()
        options = _options(run.workers, has_xdist, with_cov and pytest_cov)
        argv = _suite_argv(python, junit, tmp, env, with_cov, run.workers, options)
        res = run_tool(argv, cwd=root, timeout=timeout, env=env)
        if res.returncode == EXIT_USAGE and options and not junit.is_file():
            # the project's pytest knows none of them: its plugins are not loaded
            # (`-p no:xdist` in addopts, PYTEST_DISABLE_PLUGIN_AUTOLOAD): the suite runs
            # as it runs there, serially, without them
            run.workers = 0
            for stale in tmp.glob(".coverage*"):  # the stopped run's, combined otherwise
                stale.unlink()
            argv = _suite_argv(python, junit, tmp, env, with_cov, 0, [])
            res = run_tool(argv, cwd=root, timeout=timeout - (time.monotonic() - started), env=env)
        run.returncode = res.returncode
        run.timed_out = res.timed_out
        run.output_tail = tail(res.stdout, 15, 2000) + (
            "\n" + tail(res.stderr, 10, 1500) if res.stderr.strip() else ""
        )
        if res.not_found:
            run.error = f"cannot run the interpreter {python}"
            return run
        if junit.is_file():
            try:
                run.cases = parse_junit(junit.read_bytes(), ws)
            except ET.ParseError as exc:
                if not res.timed_out:
                    run.error = f"pytest's JUnit XML is unreadable: {exc}"
        if has_xdist and run.cases and not res.timed_out:  # read only where xdist is
            save_tests_time(cache_dir, sum(c.seconds for c in run.cases))
        if run.workers and not res.timed_out and run.error is None:
            budget = timeout - (time.monotonic() - started)
            _confirm_serially(ws, run, tmp, budget, pytest_cov=pytest_cov)
        if with_cov and not res.timed_out:
            run.coverage, cov_err = _coverage_json(ws, python, tmp, data_file, timeout)
            if cov_err:
                run.coverage_error = cov_err
        elif with_cov:
            run.coverage_error = f"test suite timed out after {timeout:g} s"
        return run
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            (ws.state_dir / "tmp").rmdir()  # only when empty


def _pytest_args(junit: Path) -> list[str]:
    """``-m pytest`` and what every run of the suite is given."""
    return [
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit1",
    ]


def _options(workers: int, has_xdist: bool, no_cov: bool) -> list[str]:
    """The options of plugins the run relies on: xdist's, and ``--no-cov`` where the
    project's own pytest-cov (its ``--cov`` in ``addopts``) would otherwise measure in
    place of ``coverage run``, and report or fail by its own floor."""
    return [*xdist_args(workers, has_xdist), *(["--no-cov"] if no_cov else [])]


def _suite_argv(
    python: str,
    junit: Path,
    tmp: Path,
    env: dict[str, str],
    with_cov: bool,
    workers: int,
    options: list[str],
) -> list[str]:
    """The command that runs the suite (and adds what it needs to ``env``)."""
    pytest_args = [*_pytest_args(junit), *options]
    if with_cov and workers:
        # coverage in every worker: the plugin starts it there; the controller's own data
        # goes to a file of its own too, all combined before the report
        write_plugin(tmp)
        env.update(plugin_env(tmp))
        return [
            python,
            "-m",
            "coverage",
            "run",
            "--parallel-mode",
            *pytest_args,
            "-p",
            PLUGIN_MODULE,
        ]
    if with_cov:
        return [python, "-m", "coverage", "run", *pytest_args]
    return [python, *pytest_args]


def _confirm_serially(
    ws: Workspace, run: SuiteRun, tmp: Path, budget: float, *, pytest_cov: bool
) -> None:
    """Run the tests that failed in parallel again, serially, and let these results stand
    for them: a test that fails only beside other workers' tests is kept aside in
    ``run.parallel_only``. Without time left for it, when a failure has no file to run
    again, or when the serial run cannot judge them, the parallel results stand."""
    bad = [c for c in run.cases if c.outcome in ("failed", "error")]
    if not bad or any(c.file is None for c in bad) or budget < 1.0:
        return
    junit = tmp / "junit-serial.xml"
    # a plugin's coverage data file, never the root's
    env = {**_suite_env(ws, run.python), "COVERAGE_FILE": str(tmp / "serial.coverage")}
    # by pytest's ids, with absolute paths, so that no file name can read as an option
    ids = [str(ws.root / node) for node in sorted({c.node_id for c in bad})]
    options = _options(0, True, pytest_cov)
    argv = [run.python, *_pytest_args(junit), *options, *ids]
    res = run_tool(argv, cwd=ws.root, timeout=budget, env=env)
    # 2: interrupted, as by a collection error, which the JUnit XML holds
    if res.timed_out or res.returncode not in (0, 1, 2) or not junit.is_file():
        return  # the serial run could not judge them: the parallel results stand
    try:
        serial = parse_junit(junit.read_bytes(), ws)
    except ET.ParseError:
        return
    again = {c.key: c for c in serial}
    run.parallel_only = [
        c for c in bad if (found := again.get(c.key)) and found.outcome in ("passed", "skipped")
    ]
    gone = {c.key for c in bad} | set(again)
    run.cases = [c for c in run.cases if c.key not in gone] + serial
    if run.returncode in (0, 1):
        run.returncode = 1 if any(c.outcome in ("failed", "error") for c in run.cases) else 0


def _coverage_json(
    ws: Workspace, python: str, tmp: Path, data_file: Path, timeout: float
) -> tuple[dict[str, Any] | None, str | None]:
    env = {"PYTHONDONTWRITEBYTECODE": "1", "COVERAGE_FILE": str(data_file)}
    if any(p.name.startswith(".coverage.") for p in tmp.iterdir()):  # parallel = true
        run_tool([python, "-m", "coverage", "combine"], cwd=ws.root, timeout=timeout, env=env)
    out = tmp / "coverage.json"
    res = run_tool(
        [python, "-m", "coverage", "json", "-q", "--ignore-errors", "-o", str(out)],
        cwd=ws.root,
        timeout=timeout,
        env=env,
    )
    if not out.is_file():
        detail = tail(res.stdout) or tail(res.stderr)
        return None, f"no coverage data: {detail or 'coverage json wrote nothing'}"
    try:
        data = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"coverage JSON unreadable: {exc}"
    if not isinstance(data, dict):
        return None, None
    files = data.get("files")
    if isinstance(files, dict):
        # phasegate's own files (the workers' coverage plugin) are no part of the project
        state = str(ws.state_dir)
        for name in list(files):
            full = os.path.normpath(os.path.join(ws.root, str(name)))
            if full == state or full.startswith(state + os.sep):
                del files[name]
    return data, None


# -- JUnit XML --------------------------------------------------------------------------
_TB_LINE = re.compile(r"^(?P<path>[^\s:][^:\n]*?):(?P<line>\d+): ", re.MULTILINE)
_TB_FILE = re.compile(r'File "(?P<path>[^"\n]+)", line (?P<line>\d+)')


def _rel(ws: Workspace, raw: str) -> str | None:
    raw = raw.strip()
    if not raw or raw.startswith("<"):
        return None
    p = Path(raw)
    if not p.is_absolute():
        p = ws.root / p
    try:
        rel = ws.relpath(os.path.normpath(p))
    except (PathOutsideWorkspace, OSError):
        return None
    return rel if rel not in ("", ".") else None


def _file_of_classname(ws: Workspace, classname: str, name: str) -> str | None:
    """``tests.test_x.TestY`` -> ``tests/test_x.py`` when that file exists."""
    dotted = classname or name
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        cand = "/".join(parts[:n]) + ".py"
        if (ws.root / cand).is_file():
            return cand
    return None


def parse_junit(data: bytes, ws: Workspace) -> list[TestCase]:
    """Test cases of a JUnit XML report (pytest's, any family)."""
    root = ET.fromstring(data)
    cases: list[TestCase] = []
    for tc in root.iter("testcase"):
        classname = tc.get("classname") or ""
        name = tc.get("name") or ""
        file_attr = tc.get("file")
        file = _rel(ws, file_attr) if file_attr else None
        if file is None:
            file = _file_of_classname(ws, classname, name)
        line_attr = tc.get("line")
        line = int(line_attr) if line_attr and line_attr.isdigit() else None
        outcome, message, text = "passed", "", ""
        for tag in ("failure", "error", "skipped"):
            el = tc.find(tag)
            if el is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
                message = el.get("message") or ""
                text = el.text or ""
                break
        try:
            seconds = max(0.0, float(tc.get("time") or 0.0))
        except ValueError:
            seconds = 0.0
        cases.append(TestCase(classname, name, file, line, outcome, message, text, seconds))
    return cases


def failure_location(ws: Workspace, case: TestCase) -> tuple[str | None, int | None]:
    """(file, 0-based line) where the test failed: the test file's frame in the traceback,
    else the test's definition line, else ``def <name>`` in its file."""
    fallback: tuple[str, int] | None = None
    for m in [*_TB_LINE.finditer(case.text), *_TB_FILE.finditer(case.text)]:
        rel = _rel(ws, m["path"])
        if rel is None:
            continue
        if case.file is None or rel == case.file:
            return rel, int(m["line"]) - 1
        if fallback is None:
            fallback = (rel, int(m["line"]) - 1)
    if case.file is not None:
        if case.line is not None:
            return case.file, case.line
        text = ws.read_text(case.file) or ""
        base = case.name.split("[", 1)[0]
        pat = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(base)}\b", re.MULTILINE)
        m2 = pat.search(text)
        return case.file, (text.count("\n", 0, m2.start()) if m2 else 0)
    if fallback is not None:
        return fallback
    return None, None


# `<Foo object at 0x7f3a…>`: an address differs on every run, and a finding's message
# is part of its fingerprint (baselines, SARIF), so it is left out
_ADDRESS = re.compile(r"(?<= at )0x[0-9a-fA-F]{4,}\b")


def _short(message: str, text: str) -> str:
    msg = " ".join(ln.strip() for ln in message.strip().splitlines()[:3] if ln.strip())
    if not msg:
        errs = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("E ")]
        msg = " ".join(errs[:3])
    msg = _ADDRESS.sub("0x…", msg)
    return (msg[:300] + "…") if len(msg) > 300 else msg


def _line_range(ws: Workspace, path: str, line: int) -> Range:
    text = ws.read_text(path)
    if text is None:
        return Range.lines(line)
    lines = text.splitlines()
    if 0 <= line < len(lines):
        s = lines[line]
        start = len(s) - len(s.lstrip())
        return Range.lines(line, start, len(s))
    return Range.lines(line)


def requires_python(ws: Workspace) -> SpecifierSet | None:
    """The ``requires-python`` of the workspace's ``pyproject.toml``, if it says one."""
    text = ws.read_text("pyproject.toml")
    if not text:
        return None
    try:
        return SpecifierSet(str(toml_loads(text)["project"]["requires-python"]))
    except (TOMLDecodeError, KeyError, TypeError, InvalidSpecifier, ValueError):
        return None


def project_packages(ws: Workspace) -> list[str]:
    """The workspace's own top-level import packages: ``src/<pkg>/__init__.py`` and
    ``<pkg>/__init__.py`` at the root (not tests, docs or examples)."""
    found: set[str] = set()
    for path in ws.files():
        parts = path.split("/")
        if parts[-1] != "__init__.py":
            continue
        if len(parts) == 2:
            name = parts[0]
        elif len(parts) == 3 and parts[0] == "src":
            name = parts[1]
        else:
            continue
        if name.isidentifier() and name not in {"tests", "test", "docs", "examples"}:
            found.add(name)
    return sorted(found)


_ORIGIN_CODE = (
    "import importlib.util as u, json, sys;"
    "sys.path[:0] = json.loads(sys.argv[1]);"
    "print(json.dumps({n: getattr(u.find_spec(n), 'origin', None) for n in sys.argv[2:]}))"
)


def foreign_packages(ws: Workspace, python: str, timeout: float) -> dict[str, str | None]:
    """The workspace's packages that ``python`` does not import from the workspace (as
    pytest would see them: the root and ``pythonpath`` of pytest's settings on the path),
    with where it does import them from (None: not at all)."""
    names = project_packages(ws)
    if not names:
        return {}
    extra = [str(ws.root)]
    text = ws.read_text("pyproject.toml") or ""
    try:
        opts = toml_loads(text)["tool"]["pytest"]["ini_options"]
        paths = opts.get("pythonpath", [])
        extra += [str(ws.root / p) for p in ([paths] if isinstance(paths, str) else paths)]
    except (TOMLDecodeError, KeyError, TypeError, AttributeError):
        pass
    res = run_tool(
        [python, "-c", _ORIGIN_CODE, json.dumps(extra), *names],
        cwd=ws.root,
        timeout=timeout,
        env={"PYTHONDONTWRITEBYTECODE": "1"},
    )
    try:
        origins = json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {}
    out: dict[str, str | None] = {}
    root = str(ws.root)
    for name, origin in origins.items():
        if origin is None or not os.path.realpath(origin).startswith(root + os.sep):
            out[name] = origin
    return out


_NO_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")


def missing_modules(ws: Workspace, cases: list[TestCase]) -> list[tuple[TestCase, str]]:
    """Collection errors caused by a module that is neither installed in the test
    interpreter nor part of the workspace (a missing test dependency): (case, module)."""
    out: list[tuple[TestCase, str]] = []
    for case in cases:
        if case.outcome != "error":
            continue
        m = _NO_MODULE.search(case.text) or _NO_MODULE.search(case.message)
        if m is None:
            continue
        top = m.group(1).split(".", 1)[0]
        local = [top, f"{top}.py", f"src/{top}", f"src/{top}.py"]
        if any((ws.root / p).exists() for p in local):
            continue  # the workspace's own module: a real error in the code or layout
        out.append((case, top))
    return out


def _test_files(ctx: CheckContext) -> list[str]:
    """The test files (``artifacts.tests``), without package and conftest files."""
    files = ctx.workspace.glob(ctx.config.artifacts.tests)
    return [f for f in files if not f.endswith(("__init__.py", "conftest.py"))]


def tests_anchor(ctx: CheckContext) -> tuple[str, bool]:
    """Where a suite-level finding goes: the first test file, else ``tests/`` (missing)."""
    files = _test_files(ctx) or ctx.workspace.glob(ctx.config.artifacts.tests)
    if files:
        return files[0], False
    return "tests/", True


class PytestOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_findings: int = Field(100, ge=1, description="Failing tests shown as findings at most.")


class SuiteCheck(Check):
    """A check on a run of the workspace's test suite (:func:`run_suite`), owned by the QA
    persona; it runs workspace code, so it is skipped in an untrusted workspace."""

    scope = "project"
    default_owner = "qa_engineer"
    runs_workspace_code = True

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return suite_inputs(config)

    @classmethod
    def config_dependencies(cls, config: Config) -> Any:
        # another interpreter, or the suite spread over workers, may judge otherwise
        return {"interpreter": config.interpreter, "test_workers": config.test_workers}


class PytestRun(SuiteCheck):
    id = "TEST-PYTEST"
    # a failing test fails the gate whatever changed: new-code mode keeps the verdict
    new_code_rule = "whole"
    title = "Tests pass (pytest)"
    description = (
        "The workspace's interpreter runs its pytest suite, as in its activated virtual "
        "environment; each failing test is a finding at its file and line. With "
        "pytest-xdist installed there, the suite runs across the CPUs (`test_workers`), "
        "coverage is measured in every worker, and a test that fails runs again serially: "
        "one that then passes is an info finding (it fails only beside other tests), never "
        "a failure. Score: share of tests that pass. A suite that could not "
        "run or timed out leaves the result unknown (never a pass). Not applicable in a "
        "workspace whose sources are all in languages other than Python, or mostly in "
        "another language with no Python test and tests in other languages."
    )
    default_weight = 2.0
    default_blocking = True
    default_severity = Severity.ERROR
    Options = PytestOptions

    def run(self, ctx: CheckContext) -> CheckOutcome:
        opts = ctx.options
        assert isinstance(opts, PytestOptions)
        ws = ctx.workspace
        reason = no_python_reason(ws) or no_python_tests_reason(ws, ctx.config.artifacts.tests)
        if reason is not None:
            return CheckOutcome(score=1.0, not_applicable=reason)
        run = run_suite(ctx, coverage=False)
        return outcome_of_run(ctx, run, opts.max_findings)


def outcome_of_run(ctx: CheckContext, run: SuiteRun, max_findings: int = 100) -> CheckOutcome:
    ws = ctx.workspace
    if run.error and not run.timed_out:
        return CheckOutcome(score=0.0, error=run.error)
    if run.timed_out:
        return CheckOutcome(
            score=0.0,
            error=f"the test suite timed out after {run.timeout:g} s and was stopped, so its "
            "result is unknown: make the suite faster, or raise `timeouts.tests` (or this "
            "check's `timeout`) in the configuration",
        )
    cases = run.cases
    if run.returncode == EXIT_NO_TESTS or (run.returncode == 0 and not cases):
        where, missing = tests_anchor(ctx)
        return CheckOutcome(
            findings=[ctx.finding(where, "no tests collected by pytest", missing_file=missing)],
            score=0.0,
            passed=False,
        )
    if not cases and run.returncode != 0:
        return CheckOutcome(
            score=0.0,
            error=f"pytest failed with exit code {run.returncode} before running any test:\n"
            f"{run.output_tail}",
        )
    if run.returncode not in (0, 1, 2) and not any(c.outcome != "passed" for c in cases):
        return CheckOutcome(
            score=0.0,
            error=f"pytest failed with exit code {run.returncode}:\n{run.output_tail}",
        )
    findings: list[Finding] = []
    bad = [c for c in cases if c.outcome in ("failed", "error")]
    if bad and run.python:
        if run.foreign is None:
            run.foreign = foreign_packages(ws, run.python, 60.0)
        foreign = run.foreign
        if foreign:
            where = "; ".join(
                f"{n} from {o}" if o else f"{n} not at all" for n, o in sorted(foreign.items())
            )
            return CheckOutcome(
                score=0.0,
                error=f"the tests ran against another copy of the project: {run.python} "
                f"imports {where}, not this workspace's code. Install the project into "
                "its own environment (`pip install -e .` in a `.venv`) or set "
                "`interpreter`",
            )
    # a collection error in a file that defines no test is a script named like a test
    scripts = [
        c
        for c in bad
        if c.outcome == "error" and c.file and not defines_tests(ws.read_text(c.file) or "")
    ]
    # pytest stops at a collection error (exit 2); in xdist workers the rest runs (exit 1)
    if scripts and len(scripts) == len(bad) and run.returncode in (1, 2):
        names = ", ".join(sorted({c.file or "" for c in scripts}))
        return CheckOutcome(
            score=0.0,
            error=f"pytest stopped at files named like tests that define no test ({names}): "
            "they are scripts; keep pytest away from them (`testpaths`, `--ignore`, or "
            "rename them), so the suite can run",
        )
    lacking = missing_modules(ws, bad)
    if lacking and len(lacking) == len(bad) and run.returncode in (1, 2):
        # every error is a test module importing a package the interpreter lacks: the
        # environment is incomplete, the suite did not run, the result is unknown
        names = ", ".join(sorted({mod for _case, mod in lacking}))
        files = ", ".join(sorted({c.file or c.name for c, _mod in lacking}))
        return CheckOutcome(
            score=0.0,
            error=f"the test suite could not run: {run.python} lacks {names} (imported by "
            f"{files}). Install the project's test dependencies in that interpreter (or a "
            "`.venv`), or set `interpreter` in the configuration",
        )
    for case in bad[:max_findings]:
        path, line = failure_location(ws, case)
        what = "failed" if case.outcome == "failed" else "error"
        msg = f"{case.label} {what}: {_short(case.message, case.text)}".rstrip(": ")
        if path is None:
            where, missing = tests_anchor(ctx)
            findings.append(ctx.finding(where, msg, missing_file=missing))
        else:
            findings.append(ctx.finding(path, msg, _line_range(ws, path, line or 0)))
    if len(bad) > max_findings:
        where = findings[-1].path
        findings.append(
            ctx.finding(
                where,
                f"{len(bad) - max_findings} more failing tests not shown",
                severity=Severity.INFO,
            )
        )
    for case in run.parallel_only[:max_findings]:
        path, line = failure_location(ws, case)
        what = "failed" if case.outcome == "failed" else "had an error"
        msg = (
            f"{case.label} {what} when the suite ran in {run.workers} pytest-xdist workers "
            "and passed when it ran again serially: it depends on other tests or on "
            f"shared state ({_short(case.message, case.text)})"
        )
        if path is None:
            where, missing = tests_anchor(ctx)
            findings.append(ctx.finding(where, msg, severity=Severity.INFO, missing_file=missing))
        else:
            rng = _line_range(ws, path, line or 0)
            findings.append(ctx.finding(path, msg, rng, severity=Severity.INFO))
    counted = [c for c in cases if c.outcome != "skipped"]
    if run.returncode == 2 and not bad:
        return CheckOutcome(
            score=0.0, error=f"pytest was interrupted (exit code 2):\n{run.output_tail}"
        )
    score = 1.0 - len(bad) / len(counted) if counted else 0.0
    return CheckOutcome(findings=findings, score=score, passed=not bad and run.returncode == 0)
