"""IMPL-JSLINT: the JavaScript/TypeScript project's own linter — eslint, else biome.

For each Node project of the workspace (a folder with ``package.json``, see
:mod:`phasegate.checks._javascript`) that configures a linter:

* **eslint** when the project has an eslint configuration (``eslint.config.*``,
  ``.eslintrc*``, or ``eslintConfig`` in ``package.json``): its own
  ``node_modules/.bin/eslint --format json --no-error-on-unmatched-pattern <paths>`` runs
  in the project folder, so its configuration, plugins and ignores apply. The paths and
  the rule options (``--ext``, ``--config``, ``--rule``, ``--ignore-pattern``…) are those
  of the project's ``lint`` script when it runs eslint (``eslint src tests --ext .ts``),
  else ``.``; output, fixing and caching options of the script are left out. Each
  message is a finding at its exact range; eslint's fix, when it has one, is the
  finding's quick fix. eslint's *errors* are warnings of this check (lint, as IMPL-LINT's)
  and fail it; eslint's *warnings* are information, unless the script says
  ``--max-warnings 0``; a file eslint cannot parse is an error.
* **biome** otherwise, when the project has ``biome.json``/``biome.jsonc`` or declares
  ``@biomejs/biome``: ``biome lint --reporter=github`` over the script's paths (else
  ``.``), each diagnostic a finding at its range (no quick fixes).

eslint's configuration is JavaScript the project wrote (``eslint.config.js`` runs), and
the programs are the workspace's own files: the check runs workspace code, so it is
skipped in an untrusted workspace. A sub-project with a configuration of its own is
linted by its own linter and left out of the enclosing project's run.

Score: ``1 - files with findings / files linted``. Not applicable where no project
configures a linter; *could not run* when one does but the linter is not installed in
``node_modules`` (the message says which install command to run) or Node.js is missing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks._javascript import (
    JS_SOURCE_GLOBS,
    JS_SOURCE_SUFFIXES,
    NO_COLOR_ENV,
    PACKAGE_FILES,
    NodeProject,
    TextPositions,
    nested_dirs,
    no_projects_reason,
    node_error,
    node_projects,
    script_invocation,
    sort_script_args,
    version_label,
)
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.checks.command import tail
from phasegate.findings_parse import FindingMaker, range_1based
from phasegate.model import Finding, Fix, Range, Severity, TextEdit
from phasegate.proc import run_tool
from phasegate.workspace import matches

if TYPE_CHECKING:
    from phasegate.config import Config

ESLINT_FLAT_CONFIGS = (
    "eslint.config.js",
    "eslint.config.mjs",
    "eslint.config.cjs",
    "eslint.config.ts",
    "eslint.config.mts",
    "eslint.config.cts",
)
ESLINT_LEGACY_CONFIGS = (
    ".eslintrc.js",
    ".eslintrc.cjs",
    ".eslintrc.yaml",
    ".eslintrc.yml",
    ".eslintrc.json",
    ".eslintrc",
)
BIOME_CONFIGS = ("biome.json", "biome.jsonc")
LINT_CONFIG_FILES = [
    *ESLINT_FLAT_CONFIGS,
    *ESLINT_LEGACY_CONFIGS,
    ".eslintignore",
    *BIOME_CONFIGS,
    "tsconfig.json",
    "tsconfig.*.json",
]
LINT_SCRIPTS = ("lint", "lint:js", "lint:ts", "lint:eslint", "eslint", "lint:biome", "biome")
MAX_LINT_OUTPUT = 256 * 1024 * 1024

# eslint options of a lint script passed on (they choose rules, files or settings) ...
_ESLINT_KEEP_WITH_VALUE = frozenset(
    {
        "--ext",
        "-c",
        "--config",
        "--ignore-pattern",
        "--ignore-path",
        "--rulesdir",
        "--resolve-plugins-relative-to",
        "--parser",
        "--parser-options",
        "--env",
        "--global",
        "--plugin",
        "--rule",
        "--report-unused-disable-directives-severity",
        "--flag",
    }
)
_ESLINT_KEEP_FLAGS = frozenset(
    {
        "--no-eslintrc",
        "--no-config-lookup",
        "--no-ignore",
        "--no-inline-config",
        "--report-unused-disable-directives",
        "--quiet",
    }
)
# ... read only ...
_ESLINT_READ = frozenset({"--max-warnings"})
# ... and left out with their value (phasegate chooses output, fixing and caching).
_ESLINT_DROP_WITH_VALUE = frozenset(
    {
        "-f",
        "--format",
        "-o",
        "--output-file",
        "--cache-location",
        "--cache-strategy",
        "--fix-type",
        "--concurrency",
    }
)
_BIOME_KEEP_WITH_VALUE = frozenset({"--config-path", "--only", "--skip"})
_BIOME_DROP_WITH_VALUE = frozenset({"--reporter", "--max-diagnostics", "--log-level", "--log-kind"})

_GITHUB_LINE = re.compile(
    r"^::(?P<level>error|warning|notice|info)\s+(?P<props>[^:]*)::(?P<msg>.*)$"
)


class JsLintOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    linter: Literal["auto", "eslint", "biome"] = Field(
        "auto",
        description="Which linter: `auto` = eslint where the project configures it, else "
        "biome where it configures or declares it.",
    )
    use_scripts: bool = Field(
        True,
        description="Lint the paths the project's `lint` script names, with its rule "
        "options (`eslint src --ext .ts`); false: `.` with the configuration alone.",
    )


@dataclass
class _Plan:
    """How one project is linted."""

    project: NodeProject
    tool: Literal["eslint", "biome"]
    config: str  # what configures it, for messages
    program: str | None
    args: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    from_script: bool = False
    warnings_fail: bool = False


@dataclass
class _Linted:
    findings: list[Finding] = field(default_factory=list)
    files: set[str] = field(default_factory=set)
    error: str | None = None
    version: str | None = None


def eslint_config(project: NodeProject) -> str | None:
    """The eslint configuration in the project folder (its name), or None."""
    found = project.first_file(ESLINT_FLAT_CONFIGS) or project.first_file(ESLINT_LEGACY_CONFIGS)
    if found is None and isinstance(project.package.get("eslintConfig"), dict):
        return "package.json eslintConfig"
    return found


def eslint_config_above(project: NodeProject) -> str | None:
    """An eslint configuration in a folder above the project, inside the workspace (eslint
    looks for it there), as a workspace-relative path; None when there is none."""
    ws = project.workspace
    for folder in list(project.ancestors())[1:]:
        for name in (*ESLINT_FLAT_CONFIGS, *ESLINT_LEGACY_CONFIGS):
            if (folder / name).is_file():
                rel = ws.relpath(folder / name)
                return rel
    return None


def biome_config(project: NodeProject) -> str | None:
    found = project.first_file(BIOME_CONFIGS)
    if found is None and project.declares("@biomejs/biome"):
        return "biome defaults"
    return found


class JsLint(Check):
    id = "IMPL-JSLINT"
    title = "Lint JavaScript/TypeScript (eslint or biome)"
    description = (
        "The project's own linter from its `node_modules/.bin`: eslint where the project "
        "configures it (its configuration, plugins and ignores; the paths and rule "
        "options of its `lint` script), else biome. Each message is a finding at its "
        "exact range; eslint's fixes are quick fixes. eslint errors fail the check, "
        "eslint warnings are information unless the script says `--max-warnings 0`. "
        "Score: share of linted files without findings. Runs workspace code (the "
        "configuration is JavaScript): skipped in an untrusted workspace. Not applicable "
        "without a package.json or a configured linter; could not run (with the install "
        "command to run) when the linter is not installed."
    )
    scope = "project"
    default_owner = "backend_developer"
    default_weight = 1.0
    default_blocking = False
    runs_workspace_code = True  # eslint.config.js is the project's code; so is node_modules
    Options = JsLintOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return [*JS_SOURCE_GLOBS, *PACKAGE_FILES, *LINT_CONFIG_FILES]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        opts = ctx.options
        assert isinstance(opts, JsLintOptions)
        projects = node_projects(ctx.workspace)
        if not projects:
            return CheckOutcome(score=1.0, not_applicable=no_projects_reason())
        findings: list[Finding] = [
            ctx.finding(
                p.rel("package.json"),
                f"package.json is {p.package_error}: no tool can read it",
                line=0,
                severity=Severity.ERROR,
            )
            for p in projects
            if p.package_error
        ]
        plans = self._plans(projects, opts)
        if not plans:
            if findings:
                return CheckOutcome(findings=findings, score=0.0)
            return CheckOutcome(
                score=1.0,
                not_applicable="no linter configured for the JavaScript/TypeScript code "
                "(no eslint configuration, no biome.json, no @biomejs/biome dependency)",
            )
        missing = node_error()
        if missing:
            return CheckOutcome(score=0.0, error=missing)
        errors: list[str] = []
        files: set[str] = set()
        version: str | None = None
        configured = [p for p in projects if any(pl.project is p for pl in plans)]
        for plan in plans:
            if plan.program is None:
                why = f"{plan.config} configures it" if plan.config else "it is a dependency"
                errors.append(plan.project.not_installed(plan.tool, why))
                continue
            nested = nested_dirs(plan.project, configured)
            linted = (
                self._eslint(ctx, plan, nested)
                if plan.tool == "eslint"
                else self._biome(ctx, plan, nested)
            )
            findings += linted.findings
            files |= linted.files
            version = version or linted.version
            if linted.error:
                errors.append(linted.error)
        bad = {f.path for f in findings if f.severity <= Severity.WARNING}
        total = len(files | bad)
        if errors:
            return CheckOutcome(
                findings=findings, score=0.0, error="; ".join(errors), tool_version=version
            )
        if not total:
            tools = ", ".join(sorted({p.tool for p in plans}))
            return CheckOutcome(
                score=1.0,
                not_applicable=f"{tools} linted no file (its configuration and the lint "
                "script's paths leave every file out)",
                tool_version=version,
            )
        score = 1.0 - len(bad) / total
        return CheckOutcome(findings=findings, score=score, tool_version=version)

    # -- which projects, which linter ---------------------------------------------------
    @staticmethod
    def _plans(projects: list[NodeProject], opts: JsLintOptions) -> list[_Plan]:
        """The projects linted: those with a linter configuration of their own, and those
        whose lint script runs eslint under the configuration of a folder above them. A
        project without either, inside a project that is linted, is linted by the
        enclosing run."""
        plans: list[_Plan] = []
        for p in projects:
            if p.package_error:
                continue
            use_eslint = opts.linter in ("auto", "eslint")
            eslint = eslint_config(p) if use_eslint else None
            words = script_invocation(p, ("eslint",), LINT_SCRIPTS) if opts.use_scripts else None
            if use_eslint and eslint is None and words is not None:
                eslint = eslint_config_above(p)
            biome = biome_config(p) if opts.linter in ("auto", "biome") and not eslint else None
            if eslint:
                plan = _Plan(p, "eslint", eslint, p.bin("eslint"))
                if words is not None:
                    sorted_args = sort_script_args(
                        p,
                        words,
                        _ESLINT_KEEP_WITH_VALUE,
                        _ESLINT_KEEP_FLAGS,
                        _ESLINT_READ,
                        _ESLINT_DROP_WITH_VALUE,
                    )
                    plan.args, plan.paths = sorted_args.options, sorted_args.paths
                    plan.from_script = True
                    plan.warnings_fail = sorted_args.seen.get("--max-warnings") == "0"
                plans.append(plan)
            elif biome:
                plan = _Plan(p, "biome", biome, p.bin("biome"))
                words = script_invocation(p, ("biome",), LINT_SCRIPTS) if opts.use_scripts else None
                if words is not None:
                    # `biome check src`, `biome lint src`, `biome ci .`: the paths after it
                    rest = words[1:] if words and not words[0].startswith("-") else words
                    sorted_args = sort_script_args(
                        p, rest, _BIOME_KEEP_WITH_VALUE, frozenset(), frozenset(),
                        _BIOME_DROP_WITH_VALUE,
                    )  # fmt: skip
                    plan.args, plan.paths = sorted_args.options, sorted_args.paths
                    plan.from_script = True
                plans.append(plan)
        return plans

    # -- eslint -------------------------------------------------------------------------
    def _eslint(self, ctx: CheckContext, plan: _Plan, nested: list[str]) -> _Linted:
        p = plan.project
        assert plan.program is not None
        out = _Linted(version=p.package_version("eslint"))
        argv = [plan.program, "--format", "json", "--no-error-on-unmatched-pattern", *plan.args]
        for sub in nested:
            argv += ["--ignore-pattern", f"{sub}/**"]
        argv += plan.paths or ["."]
        res = run_tool(
            argv, cwd=p.path, timeout=ctx.timeout, env=NO_COLOR_ENV, max_output=MAX_LINT_OUTPUT
        )
        judged_by = _judged_by("eslint", out.version, plan)
        where = f"in {p.label}"
        if res.not_found:
            out.error = f"cannot run {plan.program}"
            return out
        if res.timed_out:
            out.error = f"eslint {where} timed out after {ctx.timeout:g} s"
            return out
        if res.truncated:
            out.error = f"eslint's output {where} is too large to read"
            return out
        try:
            report = json.loads(res.stdout) if res.stdout.strip() else None
        except ValueError:
            report = None
        if res.returncode not in (0, 1) or not isinstance(report, list):
            detail = tail(res.stderr, 8, 1200) or tail(res.stdout, 8, 1200)
            out.error = f"eslint failed {where} (exit code {res.returncode}): {detail}"
            return out
        maker = FindingMaker(ctx.workspace, ctx.check.id, ctx.owner, Severity.WARNING, p.path)
        for entry in report:
            if not isinstance(entry, dict):
                continue
            path = maker.relpath(str(entry.get("filePath") or ""))
            if path is None:
                continue
            messages = [m for m in entry.get("messages") or [] if isinstance(m, dict)]
            if any(_ignored_notice(m) for m in messages):
                continue  # a file the configuration ignores, named by the script
            out.files.add(path)
            positions: TextPositions | None = None
            for m in messages:
                fix: Fix | None = None
                raw_fix = m.get("fix")
                if isinstance(raw_fix, dict):
                    if positions is None:
                        positions = TextPositions(_source(ctx, entry, path))
                    fix = _eslint_fix(path, raw_fix, positions, m)
                out.findings.append(self._eslint_finding(maker, path, m, judged_by, plan, fix))
        return out

    @staticmethod
    def _eslint_finding(
        maker: FindingMaker,
        path: str,
        m: dict[str, Any],
        judged_by: str,
        plan: _Plan,
        fix: Fix | None,
    ) -> Finding:
        rule = m.get("ruleId")
        text = str(m.get("message") or "").strip()
        if m.get("fatal"):
            severity = Severity.ERROR
        elif m.get("severity") == 2:
            severity = Severity.WARNING
        else:
            severity = Severity.WARNING if plan.warnings_fail else Severity.INFO
        label = f"{rule} {text}" if rule else text
        if m.get("severity") != 2 and not m.get("fatal"):
            label = f"{label} (eslint warning)"
        rng = range_1based(
            _int(m.get("line")), _int(m.get("column")), _int(m.get("endLine")),
            _int(m.get("endColumn")),
        )  # fmt: skip
        return maker.make(path, f"{label} [{judged_by}]", rng, severity, fix)

    # -- biome --------------------------------------------------------------------------
    def _biome(self, ctx: CheckContext, plan: _Plan, nested: list[str]) -> _Linted:
        p = plan.project
        assert plan.program is not None
        out = _Linted(version=p.package_version("@biomejs/biome"))
        major = _major(out.version)
        argv = [
            plan.program,
            "lint",
            "--reporter=github",
            f"--max-diagnostics={'none' if major is None or major >= 2 else 200}",
            "--no-errors-on-unmatched",
            "--colors=off",
            *plan.args,
            *(plan.paths or ["."]),
        ]
        res = run_tool(
            argv, cwd=p.path, timeout=ctx.timeout, env=NO_COLOR_ENV, max_output=MAX_LINT_OUTPUT
        )
        judged_by = _judged_by("biome", out.version, plan)
        where = f"in {p.label}"
        if res.not_found:
            out.error = f"cannot run {plan.program}"
            return out
        if res.timed_out:
            out.error = f"biome {where} timed out after {ctx.timeout:g} s"
            return out
        maker = FindingMaker(ctx.workspace, ctx.check.id, ctx.owner, Severity.WARNING, p.path)
        parsed = 0
        for line in res.stdout.splitlines():
            m = _GITHUB_LINE.match(line.strip())
            if m is None:
                continue
            parsed += 1
            props = _github_props(m["props"])
            path = maker.relpath(props.get("file", ""))
            if path is None or any(path.startswith(f"{p.rel(s)}/") for s in nested):
                continue
            title = props.get("title", "")
            level = m["level"]
            if level == "error":
                severity = Severity.ERROR if title.startswith("parse") else Severity.WARNING
            else:
                severity = Severity.INFO
            rng = range_1based(
                _int(props.get("line")), _int(props.get("col")), _int(props.get("endLine")),
                _int(props.get("endColumn")),
            )  # fmt: skip
            message = _github_unescape(m["msg"])
            label = f"{title} {message}".strip()
            out.findings.append(maker.make(path, f"{label} [{judged_by}]", rng, severity))
        if res.returncode not in (0, 1) or (res.returncode == 1 and not parsed):
            detail = tail(res.stderr, 8, 1200) or tail(res.stdout, 8, 1200)
            out.error = f"biome failed {where} (exit code {res.returncode}): {detail}"
            return out
        # biome does not list the files it linted: the project's JavaScript/TypeScript
        # files (less sub-projects and the paths the script leaves out) stand for them
        prefix = f"{p.dir}/" if p.dir else ""
        roots = [f"{prefix}{x.strip('./')}".rstrip("/") for x in plan.paths if x.strip("./")]
        for rel in ctx.workspace.glob(JS_SOURCE_GLOBS):
            if not rel.startswith(prefix) or not rel.endswith(JS_SOURCE_SUFFIXES):
                continue
            if any(rel.startswith(f"{p.rel(s)}/") for s in nested):
                continue
            if roots and not any(rel == r or rel.startswith(f"{r}/") for r in roots):
                continue
            if matches(rel, ["*.d.ts"]):
                continue
            out.files.add(rel)
        return out


def _judged_by(tool: str, version: str | None, plan: _Plan) -> str:
    """``eslint 9.39.2, web/eslint.config.js, lint script``: what judged the findings."""
    p = plan.project
    config = p.rel(plan.config) if p.has_file(plan.config) else plan.config  # else: above
    parts = [version_label(tool, version), config]
    if plan.from_script:
        parts.append("lint script")
    return ", ".join(parts)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _major(version: str | None) -> int | None:
    m = re.match(r"(\d+)", version or "")
    return int(m.group(1)) if m else None


def _ignored_notice(m: dict[str, Any]) -> bool:
    """eslint's "File ignored because of a matching ignore pattern" notice."""
    return m.get("ruleId") is None and str(m.get("message", "")).startswith("File ignored")


def _source(ctx: CheckContext, entry: dict[str, Any], path: str) -> str:
    source = entry.get("source")
    if isinstance(source, str):
        return source
    return ctx.workspace.read_text(path) or ""


def _eslint_fix(
    path: str, raw: dict[str, Any], positions: TextPositions, m: dict[str, Any]
) -> Fix | None:
    """eslint's fix (a text replacement between two offsets) as a quick fix."""
    span = raw.get("range")
    text = raw.get("text")
    if not (isinstance(span, list) and len(span) == 2 and isinstance(text, str)):
        return None
    start, end = _int(span[0]), _int(span[1])
    if start is None or end is None or end < start:
        return None
    sl, sc = positions.position(start)
    el, ec = positions.position(end)
    rule = m.get("ruleId") or "eslint"
    edit = TextEdit(path=path, range=Range.span(sl, sc, el, ec), new_text=text)
    return Fix(title=f"Fix: {rule} (eslint's fix)", edits=[edit])


def _github_props(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(","):
        key, eq, value = part.partition("=")
        if eq:
            out[key.strip()] = _github_unescape(value)
    return out


def _github_unescape(text: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text.strip()
