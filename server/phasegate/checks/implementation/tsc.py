"""IMPL-TSC: the TypeScript compiler's type check, ``tsc --noEmit``, with the project's own tsc.

For each Node project (a folder with ``package.json``, see
:mod:`phasegate.checks._javascript`) holding a ``tsconfig.json``, the project's own
``node_modules/.bin/tsc --noEmit -p tsconfig.json --pretty false`` runs in its folder.
Each ``file(line,col): error TSxxxx: message`` is a finding at that position (the word
there is the range); an error of no file (a broken ``tsconfig.json``) is a finding on
the configuration.

* A *solution* ``tsconfig.json`` (``"files": []`` and ``references``, as Vite's
  templates write) checks nothing by itself: each configuration it references is
  checked instead.
* ``--noEmit`` still writes a ``.tsbuildinfo`` file when the configuration asks for
  ``incremental`` or ``composite`` builds: it is sent to phasegate's temporary folder
  (``--tsBuildInfoFile``), so nothing is written in the workspace. What the
  configuration resolves to (``extends`` followed) is read from ``tsc --showConfig``.

tsc runs no code of the project, but the program itself is the workspace's own
(``node_modules``): the check is skipped in an untrusted workspace like every check that
runs a workspace program.

Score: ``1 - files with errors / files checked`` (the files the configuration includes).
Not applicable where no project has a ``tsconfig.json`` or TypeScript is not a
dependency; could not run when ``typescript`` is declared but not installed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks._javascript import (
    NO_COLOR_ENV,
    PACKAGE_FILES,
    NodeProject,
    no_projects_reason,
    node_error,
    node_projects,
    run_folder,
    version_label,
)
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.checks.command import tail
from phasegate.findings_parse import FindingMaker
from phasegate.model import Finding, Range, Severity
from phasegate.proc import run_tool

if TYPE_CHECKING:
    from pathlib import Path

    from phasegate.config import Config

TSCONFIG = "tsconfig.json"
TS_INPUTS = ["*.ts", "*.tsx", "*.mts", "*.cts", "tsconfig.json", "tsconfig.*.json", "jsconfig.json"]
MAX_MESSAGE = 600

_DIAGNOSTIC = re.compile(
    r"^(?P<file>.+?)\((?P<line>\d+),(?P<col>\d+)\): (?P<level>error|warning|message) "
    r"(?P<code>TS\d+): (?P<msg>.*)$"
)
_GLOBAL = re.compile(r"^(?P<level>error|warning|message) (?P<code>TS\d+): (?P<msg>.*)$")
_WORD = re.compile(r"[\w$#@]+")


class TscOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    configs: list[str] | None = Field(
        None,
        description="tsconfig files to check, workspace-relative; default: the "
        "`tsconfig.json` of every project with a package.json (a solution tsconfig: the "
        "configurations it references).",
    )


@dataclass
class _Target:
    project: NodeProject
    config: str  # relative to the project folder


@dataclass
class _Checked:
    findings: list[Finding] = field(default_factory=list)
    files: set[str] = field(default_factory=set)
    error: str | None = None


def _wants_typescript(project: NodeProject, projects: list[NodeProject]) -> bool:
    """Whether the project, or a project that contains it, declares ``typescript``."""
    prefix = project.dir
    for other in projects:
        inside = not other.dir or prefix == other.dir or prefix.startswith(f"{other.dir}/")
        if inside and other.declares("typescript"):
            return True
    return False


class Tsc(Check):
    id = "IMPL-TSC"
    title = "Type check TypeScript (tsc --noEmit)"
    description = (
        "The project's own `tsc --noEmit -p tsconfig.json` (from its `node_modules/.bin`) "
        "in each folder with a package.json and a tsconfig.json; a solution tsconfig "
        "(`files: []` and references) checks the configurations it references. Each "
        "error is a finding at its file, line and column. Nothing is written in the "
        "workspace (a `.tsbuildinfo` goes to phasegate's temporary folder). Score: share "
        "of checked files without errors. Skipped in an untrusted workspace (the program "
        "is the workspace's). Not applicable without a tsconfig.json or a typescript "
        "dependency; could not run when typescript is declared but not installed."
    )
    scope = "project"
    default_owner = "backend_developer"
    default_weight = 1.0
    default_severity = Severity.ERROR
    runs_workspace_code = True  # node_modules/.bin/tsc is a file of the workspace
    Options = TscOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return [*TS_INPUTS, *PACKAGE_FILES]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        opts = ctx.options
        assert isinstance(opts, TscOptions)
        projects = [p for p in node_projects(ctx.workspace) if not p.package_error]
        if not projects:
            return CheckOutcome(score=1.0, not_applicable=no_projects_reason())
        targets = self._targets(ctx, projects, opts)
        if not targets:
            return CheckOutcome(
                score=1.0, not_applicable="no tsconfig.json beside a package.json: no TypeScript"
            )
        runnable: list[tuple[_Target, str]] = []
        errors: list[str] = []
        skipped: list[str] = []
        for t in targets:
            program = t.project.bin("tsc")
            if program is not None:
                runnable.append((t, program))
            elif _wants_typescript(t.project, projects):
                errors.append(t.project.not_installed("tsc", "typescript is a dependency"))
            else:
                skipped.append(t.project.rel(t.config))
        if not runnable and not errors:
            return CheckOutcome(
                score=1.0,
                not_applicable=f"{', '.join(skipped)}: typescript is not a dependency of the "
                "project, so no tsc is installed to check it",
            )
        missing = node_error()
        if missing:
            return CheckOutcome(score=0.0, error=missing)
        findings: list[Finding] = []
        files: set[str] = set()
        version: str | None = None
        seen: set[tuple[str, int, int, str]] = set()
        with run_folder(ctx.workspace, "tsc") as tmp:
            for n, (t, program, shown) in enumerate(self._expand(ctx, runnable)):
                version = version or t.project.package_version("typescript")
                if shown is None:
                    shown = self._show_config(ctx, t, program)
                checked = self._check(ctx, t, program, shown, tmp, n, version)
                for f in checked.findings:
                    key = (f.path, f.range.start.line, f.range.start.character, f.message)
                    if key not in seen:  # a file two configurations include
                        seen.add(key)
                        findings.append(f)
                files |= checked.files
                if checked.error:
                    errors.append(checked.error)
        bad = {f.path for f in findings if f.severity <= Severity.WARNING}
        total = len(files | bad)
        if errors:
            return CheckOutcome(
                findings=findings, score=0.0, error="; ".join(errors), tool_version=version
            )
        score = 1.0 - len(bad) / total if total else 1.0
        return CheckOutcome(findings=findings, score=score, tool_version=version)

    # -- which configurations ------------------------------------------------------------
    @staticmethod
    def _targets(ctx: CheckContext, projects: list[NodeProject], opts: TscOptions) -> list[_Target]:
        if opts.configs is None:
            return [_Target(p, TSCONFIG) for p in projects if p.has_file(TSCONFIG)]
        out: list[_Target] = []
        for rel in opts.configs:
            rel = rel.strip("/")
            owner = max(
                (p for p in projects if not p.dir or rel.startswith(f"{p.dir}/")),
                key=lambda p: len(p.dir),
                default=None,
            )
            if owner is not None:
                out.append(_Target(owner, rel[len(owner.dir) + 1 :] if owner.dir else rel))
        return out

    def _expand(
        self, ctx: CheckContext, runnable: list[tuple[_Target, str]]
    ) -> list[tuple[_Target, str, dict[str, Any] | None]]:
        """Solution configurations replaced by the configurations they reference; each
        with what ``--showConfig`` said of it when it was asked already."""
        out: list[tuple[_Target, str, dict[str, Any] | None]] = []
        for t, program in runnable:
            shown = self._show_config(ctx, t, program)
            refs = shown.get("references") if isinstance(shown, dict) else None
            solution = (
                isinstance(refs, list) and refs and "files" not in shown and "include" not in shown
            )
            if not solution:
                out.append((t, program, shown))
                continue
            assert isinstance(refs, list)
            base = t.project.path / t.config
            for ref in refs:
                raw = ref.get("path") if isinstance(ref, dict) else None
                if not isinstance(raw, str):
                    continue
                target = (base.parent / raw).resolve()
                if target.is_dir():
                    target = target / TSCONFIG
                try:
                    rel = target.relative_to(t.project.path.resolve()).as_posix()
                except ValueError:
                    continue  # outside the project: not this project's to check
                out.append((_Target(t.project, rel), program, None))
        return out

    @staticmethod
    def _show_config(ctx: CheckContext, t: _Target, program: str) -> dict[str, Any]:
        """``tsc -p <config> --showConfig``: the configuration as tsc resolves it ({} when
        it cannot say, e.g. the file is broken: the type check reports why)."""
        res = run_tool(
            [program, "-p", t.config, "--showConfig"],
            cwd=t.project.path,
            timeout=ctx.timeout,
            env=NO_COLOR_ENV,
        )
        if res.returncode != 0:
            return {}
        try:
            data = json.loads(res.stdout)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    # -- one configuration ---------------------------------------------------------------
    def _check(
        self,
        ctx: CheckContext,
        t: _Target,
        program: str,
        shown: dict[str, Any],
        tmp: Path,
        n: int,
        version: str | None,
    ) -> _Checked:
        p = t.project
        out = _Checked()
        options = shown.get("compilerOptions")
        if not isinstance(options, dict):
            options = {}
        argv = [program, "--noEmit", "-p", t.config, "--pretty", "false"]
        if options.get("incremental") or options.get("composite"):
            argv += ["--tsBuildInfoFile", str(tmp / f"{n}.tsbuildinfo")]
        maker = FindingMaker(ctx.workspace, ctx.check.id, ctx.owner, Severity.ERROR, p.path)
        listed = shown.get("files")
        if isinstance(listed, list):
            for raw in listed:
                rel = maker.relpath(str(raw)) if isinstance(raw, str) else None
                if rel is not None and "node_modules/" not in rel:
                    out.files.add(rel)
        res = run_tool(argv, cwd=p.path, timeout=ctx.timeout, env=NO_COLOR_ENV)
        where = f"in {p.label}"
        if res.not_found:
            out.error = f"cannot run {program}"
            return out
        if res.timed_out:
            out.error = f"tsc {where} timed out after {ctx.timeout:g} s"
            return out
        judged_by = f"{version_label('tsc', version)}, {p.rel(t.config)}"
        out.findings = self._parse(ctx, maker, res.stdout, p.rel(t.config), judged_by)
        if res.returncode not in (0, 1, 2) or (res.returncode != 0 and not out.findings):
            detail = tail(res.stderr, 8, 1200) or tail(res.stdout, 8, 1200)
            out.error = f"tsc failed {where} (exit code {res.returncode}): {detail}"
        return out

    @staticmethod
    def _parse(
        ctx: CheckContext, maker: FindingMaker, stdout: str, config: str, judged_by: str
    ) -> list[Finding]:
        """``file(line,col): error TSxxxx: message`` lines (the indented lines after one
        continue its message) -> findings."""
        entries: list[tuple[str | None, int, int, str, str, str]] = []
        for line in stdout.splitlines():
            m = _DIAGNOSTIC.match(line)
            g = None if m else _GLOBAL.match(line)
            if m is not None:
                path = maker.relpath(m["file"])
                entries.append(
                    (path, int(m["line"]), int(m["col"]), m["level"], m["code"], m["msg"])
                )
            elif g is not None:
                entries.append((config, 0, 0, g["level"], g["code"], g["msg"]))
            elif entries and line.startswith(" ") and line.strip():
                last = entries[-1]
                entries[-1] = (*last[:5], f"{last[5]} {line.strip()}")
        findings: list[Finding] = []
        texts: dict[str, list[str]] = {}
        for path, line_no, col, level, code, msg in entries:
            if path is None:
                continue  # a file outside the workspace
            severity = {"error": Severity.ERROR, "warning": Severity.WARNING}.get(
                level, Severity.INFO
            )
            if line_no == 0:
                rng = Range.lines(0)
            else:
                if path not in texts:
                    texts[path] = (ctx.workspace.read_text(path) or "").splitlines()
                rng = _word_range(texts[path], line_no - 1, col - 1)
            if len(msg) > MAX_MESSAGE:
                msg = msg[: MAX_MESSAGE - 1] + "…"
            findings.append(maker.make(path, f"{code}: {msg} [{judged_by}]", rng, severity))
        return findings


def _word_range(lines: list[str], line: int, col: int) -> Range:
    """The word at ``line``/``col`` (tsc gives only where an error starts), else the
    character there."""
    text = lines[line] if 0 <= line < len(lines) else ""
    m = _WORD.match(text, col) if 0 <= col < len(text) else None
    end = m.end() if m is not None else col + 1
    return Range.span(line, max(0, col), line, max(end, col))
