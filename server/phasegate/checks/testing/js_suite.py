"""One run of a JavaScript/TypeScript project's test runner (vitest or jest), shared by
TEST-JSTESTS and TEST-JSCOVERAGE.

For each Node project (a folder with ``package.json``, see
:mod:`phasegate.checks._javascript`) that declares ``vitest`` or ``jest`` (both: the one
its ``test`` script runs), the project's own runner from ``node_modules/.bin`` runs in
its folder, with its own configuration:

* vitest: ``vitest run --reporter=junit --outputFile=<tmp>/junit.xml --no-cache`` — the
  JUnit report gives each test's outcome and, for a failure, the ``file:line:col``
  where it failed;
* jest: ``jest --ci --json --outputFile=<tmp>/jest.json --testLocationInResults`` —
  jest's JSON report (jest writes JUnit only through a plugin the project may not have).

When TEST-JSCOVERAGE is enabled, the same run measures coverage, written as istanbul's
``coverage-final.json`` into the temporary folder (vitest: ``--coverage.enabled=true
--coverage.reporter=json --coverage.reportsDirectory=<tmp> --coverage.reportOnFailure``
(and never ``thresholds.autoUpdate``, which writes into the configuration),
only when the project has ``@vitest/coverage-v8`` or ``@vitest/coverage-istanbul``;
jest: ``--coverage --coverageReporters=json --coverageDirectory=<tmp>``). The project's
coverage settings (``include``, ``exclude``, provider) apply.

When a project's ``package.json`` ``engines.node`` excludes the installed Node.js, a run
where every test passes stands, but failures are not taken for defects of the code: the
result is unknown, and the message says to run a Node.js the project supports. A
sub-project that runs its own tests is left out of the enclosing
project's run
(vitest ``--exclude``; for jest its results are dropped). The reports go to a per-run
folder under ``.phasegate/tmp/``, removed afterwards: nothing is written in the
workspace.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from phasegate.checks._javascript import (
    JS_SOURCE_GLOBS,
    NO_COLOR_ENV,
    PACKAGE_FILES,
    NodeProject,
    engines_error,
    nested_dirs,
    node_error,
    node_projects,
    run_folder,
    version_label,
)
from phasegate.checks.command import tail
from phasegate.proc import Invocation, record, recording, run_tool
from phasegate.workspace import PathOutsideWorkspace, Workspace

if TYPE_CHECKING:
    from phasegate.checks.base import CheckContext
    from phasegate.config import Config

Runner = Literal["vitest", "jest"]
RUNNERS: tuple[Runner, ...] = ("vitest", "jest")
COVERAGE_PROVIDERS = ("@vitest/coverage-v8", "@vitest/coverage-istanbul")
JS_COVERAGE_KIND = "TEST-JSCOVERAGE"
RUNNER_CONFIG_FILES = [
    "vitest.config.*",
    "vitest.workspace.*",
    "vite.config.*",
    "jest.config.*",
    "babel.config.*",
    ".babelrc",
    "tsconfig.json",
    "tsconfig.*.json",
    "**/__snapshots__/**",
]
MAX_SHOWN = 300

VITEST_MARK = "\u276f"  # what vitest writes before a frame, then `tests/a.test.ts:9:23`
_VITEST_FRAME = re.compile(
    VITEST_MARK + r"\s+(?P<path>[^\s:()][^:()\n]*?):(?P<line>\d+):(?P<col>\d+)"
)
_STACK_FRAME = re.compile(r"\(?(?P<path>(?:/|[A-Za-z]:\\)[^:()\n]+):(?P<line>\d+):(?P<col>\d+)\)?")
_COVERAGE_THRESHOLD = re.compile(
    r"coverage threshold|coverage for (?:lines|functions|statements|branches)", re.IGNORECASE
)


def suite_inputs() -> list[str]:
    """Files whose change means the projects' tests must run again."""
    return [*JS_SOURCE_GLOBS, *PACKAGE_FILES, *RUNNER_CONFIG_FILES]


@dataclass
class JsCase:
    """One test of a run."""

    name: str  # "describe > test", as the runner names it
    file: str | None  # workspace-relative test file, when known
    outcome: str  # passed / failed / error / skipped
    message: str = ""
    text: str = ""
    line: int | None = None  # 0-based line where it failed (or is defined), when known


@dataclass
class ProjectRun:
    """The tests of one project."""

    project: NodeProject
    runner: Runner
    version: str | None = None
    returncode: int | None = None
    timed_out: bool = False
    error: str | None = None  # could not run at all
    cases: list[JsCase] = field(default_factory=list)
    output_tail: str = ""
    coverage: dict[str, Any] | None = None  # istanbul's coverage-final.json
    coverage_error: str | None = None
    coverage_skipped: str | None = None  # why coverage is not measured (not applicable)

    @property
    def label(self) -> str:
        return f"{version_label(self.runner, self.version)} in {self.project.label}"


@dataclass
class JsSuiteRun:
    runs: list[ProjectRun] = field(default_factory=list)
    not_applicable: str | None = None
    error: str | None = None
    with_coverage: bool = False
    timeout: float = 0.0
    invocations: list[Invocation] = field(default_factory=list)


def choose_runner(project: NodeProject) -> Runner | None:
    """The test runner the project declares (both: the one its ``test`` script names)."""
    declared = [r for r in RUNNERS if project.declares(r)]
    if len(declared) > 1:
        script = project.scripts.get("test", "")
        for r in declared:
            if re.search(rf"\b{r}\b", script):
                return r
    return declared[0] if declared else None


def js_coverage_wanted(config: Config) -> bool:
    for phase in config.phases:
        for cc in [*phase.checks, *phase.entry_checks]:
            if cc.enabled and cc.kind_name == JS_COVERAGE_KIND:
                return True
    return False


# -- the shared run ---------------------------------------------------------------------
@dataclass
class _Memo:
    key: str
    run: JsSuiteRun
    consumers: set[str] = field(default_factory=set)


_memo: dict[Path, _Memo] = {}
_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()
suite_runs = 0  # how many times the projects' tests actually ran in this process


def _lock_for(root: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(root, threading.Lock())


def _key(ws: Workspace, timeout: float) -> str:
    """Whether the two test checks of one validation share a run: the timeout and the
    inputs' content hashes, through the result cache's memo (:meth:`Workspace.known_hash`)."""
    h = hashlib.sha1(f"{timeout}".encode())
    for path in ws.glob(suite_inputs()):
        h.update(path.encode())
        h.update(ws.known_hash(path).encode())
    return h.hexdigest()


def run_js_suite(ctx: CheckContext, *, coverage: bool) -> JsSuiteRun:
    """Run the projects' tests, or reuse the run the other check of this validation made
    (as long as the inputs are unchanged and the asking check has not used it yet)."""
    ws = ctx.workspace
    consumer = f"{ctx.phase}:{ctx.check.id}"
    with _lock_for(ws.root):
        key = _key(ws, ctx.timeout)
        memo = _memo.get(ws.root)
        if (
            memo is not None
            and memo.key == key
            and consumer not in memo.consumers
            and (memo.run.with_coverage or not coverage)
        ):
            memo.consumers.add(consumer)
            record(memo.run.invocations)
            return memo.run
        with recording() as calls:
            run = _execute(ws, ctx.timeout, coverage or js_coverage_wanted(ctx.config))
        run.invocations = calls
        _memo[ws.root] = _Memo(key, run, {consumer})
        return run


def _execute(ws: Workspace, timeout: float, want_coverage: bool) -> JsSuiteRun:
    global suite_runs
    projects = [p for p in node_projects(ws) if not p.package_error]
    suite = JsSuiteRun(with_coverage=want_coverage, timeout=timeout)
    if not projects:
        suite.not_applicable = "no package.json in this workspace: no JavaScript/TypeScript tests"
        return suite
    chosen = [(p, r) for p in projects if (r := choose_runner(p)) is not None]
    if not chosen:
        suite.not_applicable = (
            "no test runner this check knows in package.json (vitest or jest); tests run "
            "another way (`node --test`, mocha…) can be gated with a `command` check"
        )
        return suite
    missing = node_error()
    if missing:
        suite.error = missing
        return suite
    suite_runs += 1
    testing = [p for p, _r in chosen]
    with run_folder(ws, "jstests") as tmp:
        for n, (project, runner) in enumerate(chosen):
            nested = nested_dirs(project, testing)
            run = ProjectRun(project, runner, project.package_version(runner))
            suite.runs.append(run)
            program = project.bin(runner)
            if program is None:
                run.error = project.not_installed(runner, f"package.json declares {runner}")
                continue
            unsupported = engines_error(project)
            if runner == "vitest":
                _run_vitest(ws, run, program, tmp / str(n), nested, timeout, want_coverage)
            else:
                _run_jest(ws, run, program, tmp / str(n), timeout, want_coverage)
            failed = [c for c in run.cases if c.outcome in ("failed", "error")]
            if unsupported and not run.error and (failed or run.returncode not in (0, None)):
                # failures on a Node.js the project excludes say nothing about its code
                what = f"{len(failed)} test(s) failed" if failed else f"{runner} failed"
                run.error = f"{what} on a Node.js the project does not support: {unsupported}"
                run.coverage, run.coverage_error = None, run.error
            if nested:  # the sub-projects' own runs report their tests
                inside = tuple(f"{project.rel(s)}/" for s in nested)
                run.cases = [c for c in run.cases if not (c.file or "").startswith(inside)]
    return suite


def _provider(project: NodeProject) -> str | None:
    for name in COVERAGE_PROVIDERS:
        if project.package_dir(name) is not None:
            return name
    return None


def _run_vitest(
    ws: Workspace,
    run: ProjectRun,
    program: str,
    tmp: Path,
    nested: list[str],
    timeout: float,
    want_coverage: bool,
) -> None:
    tmp.mkdir(parents=True, exist_ok=True)
    junit = tmp / "junit.xml"
    cov_dir = tmp / "coverage"
    argv = [program, "run", "--reporter=junit", f"--outputFile={junit}", "--no-cache"]
    for sub in nested:
        argv += ["--exclude", f"{sub}/**"]
    p = run.project
    with_cov = False
    if want_coverage:
        provider = _provider(p)
        if provider is not None:
            with_cov = True
            argv += [
                "--coverage.enabled=true",
                "--coverage.reporter=json",
                f"--coverage.reportsDirectory={cov_dir}",
                "--coverage.reportOnFailure=true",
                # thresholds.autoUpdate would write the measured figures into the config
                "--coverage.thresholds.autoUpdate=false",
            ]
        elif any(p.declares(name) for name in COVERAGE_PROVIDERS):
            run.coverage_error = p.not_installed(
                "the coverage provider", "package.json declares @vitest/coverage-*"
            )
        else:
            run.coverage_skipped = (
                f"vitest in {p.label} measures no coverage: the project has no coverage "
                "provider (add @vitest/coverage-v8 to its devDependencies)"
            )
    res = run_tool(argv, cwd=p.path, timeout=timeout, env=NO_COLOR_ENV)
    _note_result(run, res.returncode, res.timed_out, res.stdout, res.stderr)
    if res.not_found:
        run.error = f"cannot run {program}"
        return
    if junit.is_file():
        try:
            run.cases = parse_vitest_junit(junit.read_bytes(), ws, p)
        except ET.ParseError as exc:
            if not res.timed_out:
                run.error = f"vitest's JUnit report is unreadable: {exc}"
    elif not res.timed_out:
        detail = tail(res.stderr, 8, 1200) or tail(res.stdout, 8, 1200)
        run.error = f"vitest wrote no report (exit code {res.returncode}): {detail}"
    if with_cov:
        _read_coverage(run, cov_dir, res.timed_out, timeout)


def _run_jest(
    ws: Workspace, run: ProjectRun, program: str, tmp: Path, timeout: float, want_coverage: bool
) -> None:
    tmp.mkdir(parents=True, exist_ok=True)
    report = tmp / "jest.json"
    cov_dir = tmp / "coverage"
    argv = [
        program,
        "--ci",
        "--json",
        f"--outputFile={report}",
        "--testLocationInResults",
        "--watchAll=false",
    ]
    if want_coverage:
        argv += ["--coverage", "--coverageReporters=json", f"--coverageDirectory={cov_dir}"]
    res = run_tool(argv, cwd=run.project.path, timeout=timeout, env=NO_COLOR_ENV)
    _note_result(run, res.returncode, res.timed_out, res.stdout, res.stderr)
    if res.not_found:
        run.error = f"cannot run {program}"
        return
    data: Any = None
    if report.is_file():
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            if not res.timed_out:
                run.error = f"jest's JSON report is unreadable: {exc}"
                return
    if isinstance(data, dict):
        run.cases = parse_jest_json(data, ws, run.project)
    elif not res.timed_out:
        detail = tail(res.stderr, 8, 1200) or tail(res.stdout, 8, 1200)
        run.error = f"jest wrote no report (exit code {res.returncode}): {detail}"
    if want_coverage:
        _read_coverage(run, cov_dir, res.timed_out, timeout)


def _note_result(
    run: ProjectRun, returncode: int | None, timed_out: bool, stdout: str, stderr: str
) -> None:
    run.returncode = returncode
    run.timed_out = timed_out
    run.output_tail = tail(stdout, 15, 2000) + ("\n" + tail(stderr, 10, 1500) if stderr else "")


def _read_coverage(run: ProjectRun, cov_dir: Path, timed_out: bool, timeout: float) -> None:
    if timed_out:
        run.coverage_error = f"the tests timed out after {timeout:g} s"
        return
    final = cov_dir / "coverage-final.json"
    if not final.is_file():
        run.coverage_error = f"{run.runner} wrote no coverage report ({final.name})"
        return
    try:
        data = json.loads(final.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        run.coverage_error = f"the coverage report is unreadable: {exc}"
        return
    run.coverage = data if isinstance(data, dict) else None


def coverage_threshold_failure(run: ProjectRun) -> bool:
    """Whether the runner's non-zero exit is the project's own coverage threshold."""
    return bool(_COVERAGE_THRESHOLD.search(run.output_tail))


# -- reports ----------------------------------------------------------------------------
def workspace_path(ws: Workspace, base: Path, raw: str) -> str | None:
    """A runner's path (absolute, or relative to ``base``) -> workspace-relative; None
    when outside the workspace or in node_modules."""
    raw = raw.strip()
    if not raw:
        return None
    p = Path(raw)
    if not p.is_absolute():
        p = base / p
    try:
        rel = ws.relpath(p)
    except (PathOutsideWorkspace, OSError, ValueError):
        return None
    return None if rel in ("", ".") or "node_modules/" in rel else rel


def parse_vitest_junit(data: bytes, ws: Workspace, project: NodeProject) -> list[JsCase]:
    """Test cases of vitest's JUnit report (``classname`` = the test file, relative to
    the project; a file that failed to load is one case named after the file)."""
    root = ET.fromstring(data)
    cases: list[JsCase] = []
    for tc in root.iter("testcase"):
        classname = tc.get("classname") or ""
        name = tc.get("name") or ""
        file = workspace_path(ws, project.path, classname) if classname else None
        if file is not None and not (ws.root / file).is_file():
            file = None
        outcome, message, text = "passed", "", ""
        for tag in ("failure", "error", "skipped"):
            el = tc.find(tag)
            if el is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
                message = el.get("message") or ""
                text = el.text or ""
                break
        if outcome == "failed" and name == classname:
            outcome = "error"  # the file itself failed (an import, a syntax error)
        case = JsCase(name, file, outcome, message, text)
        if outcome in ("failed", "error"):
            case.line = _failure_line(ws, project.path, case, _VITEST_FRAME)
        cases.append(case)
    return cases


def parse_jest_json(data: dict[str, Any], ws: Workspace, project: NodeProject) -> list[JsCase]:
    """Test cases of jest's ``--json`` report; a test file that failed to run is one case
    named after the file."""
    cases: list[JsCase] = []
    for suite in data.get("testResults") or []:
        if not isinstance(suite, dict):
            continue
        file = workspace_path(ws, project.path, str(suite.get("name") or ""))
        results = [a for a in suite.get("assertionResults") or [] if isinstance(a, dict)]
        if suite.get("status") == "failed" and not results:
            message = str(suite.get("message") or suite.get("failureMessage") or "")
            case = JsCase(file or str(suite.get("name")), file, "error", "", message)
            case.line = _failure_line(ws, project.path, case, _STACK_FRAME)
            cases.append(case)
            continue
        for a in results:
            status = str(a.get("status") or "")
            outcome = {"passed": "passed", "failed": "failed"}.get(status, "skipped")
            titles = [str(t) for t in a.get("ancestorTitles") or []] + [str(a.get("title") or "")]
            text = "\n".join(str(m) for m in a.get("failureMessages") or [])
            case = JsCase(" > ".join(t for t in titles if t), file, outcome, "", text)
            loc = a.get("location")
            if outcome == "failed":
                case.line = _failure_line(ws, project.path, case, _STACK_FRAME)
            if case.line is None and isinstance(loc, dict) and isinstance(loc.get("line"), int):
                case.line = max(0, int(loc["line"]) - 1)
            cases.append(case)
    return cases


def _failure_line(ws: Workspace, base: Path, case: JsCase, frames: re.Pattern[str]) -> int | None:
    """0-based line of the test file where the case failed: the first frame of its
    message in that file; else where the test is defined (its title in the file)."""
    for m in frames.finditer(case.text or case.message):
        rel = workspace_path(ws, base, m["path"])
        if rel is not None and (case.file is None or rel == case.file):
            if case.file is None:
                case.file = rel
            return max(0, int(m["line"]) - 1)
    if case.file is None:
        return None
    title = case.name.rsplit(" > ", 1)[-1]
    text = ws.read_text(case.file) or ""
    for quote in ("'", '"', "`"):
        at = text.find(f"{quote}{title}{quote}")
        if at >= 0:
            return text.count("\n", 0, at)
    return None


def short_message(case: JsCase) -> str:
    """The failure's first meaningful line(s), for a finding."""
    raw = case.message or case.text
    lines = [ln.strip() for ln in raw.strip().splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith((VITEST_MARK, "at ", "\u23af"))][:3]
    msg = " ".join(lines)
    msg = re.sub(r"\x1b\[[0-9;]*m", "", msg)
    return (msg[:MAX_SHOWN] + "…") if len(msg) > MAX_SHOWN else msg
