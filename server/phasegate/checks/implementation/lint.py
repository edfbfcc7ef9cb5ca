"""IMPL-LINT: ruff over the workspace, one process per run, its fixes as quick fixes.

``ruff check --output-format json --no-cache --no-fix --exit-zero .`` runs in the
workspace root, so the workspace's own ruff configuration (rules, excludes, per-file
ignores, ``target-version`` from ``requires-python``) applies, and the findings are the
diagnostics the project's own ruff reports there. Nothing is written in the workspace:
no ``.ruff_cache`` and never a fix (``--no-fix`` overrides a ``fix = true`` setting).

Which ruff, which configuration and which rules are decided in
:mod:`phasegate.checks.implementation.ruff_project`: the project's own ruff or the version
it pins, its configuration plus its pre-commit hook's ``args``, and ruff's classic rules
``E4, E7, E9, F`` when nothing chooses rules. Each finding's message ends with what
judged it, e.g. ``[ruff 0.4.3, pyproject.toml]``.

Score: ``1 - files with findings / Python files checked`` — a file with one finding and a
file with fifty weigh the same, so a few noisy files do not sink the gate, and fixing a
file's last finding always raises the score. Not applicable where there is no Python.

Without any ruff configuration, an ``F821 Undefined name`` repeated in three files or more
is left out: a global the scripts' runtime provides (see :func:`drop_runtime_globals`).

One cause, one finding: ruff's parse errors are IMPL-SYNTAX's (judged at the project's
Python version), and ruff's ``RUF200`` (a ``pyproject.toml`` whose metadata does not
parse, reported when the project selects ``RUF`` or ``ALL``) is left out where
DEP-METADATA reports the same line of the same file (:class:`MetadataOverlap`): its
finding names the field and what is wrong with it, and its owner, the devops persona, is
the one to fix package metadata. Where DEP-METADATA is switched off, does not read that
file or reports nothing on that line (an invalid dependency, which it does not judge),
RUF200 stays.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from phasegate.cache import gc_paused
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.checks.command import not_found_error, tail
from phasegate.checks.implementation.ruff_project import (
    BUNDLED,
    FLAKE8_FILES,
    LOCK_FILES,
    PRE_COMMIT_CONFIG,
    RuffBinary,
    RuffConfig,
    bundled_ruff,
    choose_ruff,
    describe,
    known_rules,
    read_ruff_config,
    rule_args,
    safe_args,
)
from phasegate.interpreter import workspace_bin
from phasegate.languages import no_python_reason
from phasegate.model import Finding, Severity
from phasegate.proc import ToolResult, run_tool
from phasegate.workspace import STATE_DIR, PathOutsideWorkspace, Workspace, matches

if TYPE_CHECKING:
    from phasegate.config import CheckConfig, Config

RUFF_CONFIG_FILES = ("pyproject.toml", "ruff.toml", ".ruff.toml")
PYTHON_SUFFIXES = (".py", ".pyi", ".ipynb")
SYNTAX_CODES = {None, "", "E999", "invalid-syntax", "syntax-error"}
METADATA_CODE = "RUF200"  # invalid-pyproject-toml: its metadata does not parse
METADATA_CHECK = "DEP-METADATA"
MAX_RUFF_OUTPUT = 512 * 1024 * 1024

_FINDINGS: TypeAdapter[list[Finding]] = TypeAdapter(list[Finding])


def _from_json(data: bytes) -> Any:
    """ruff's JSON; bytes that are not valid UTF-8 (never seen from ruff) are decoded with
    replacement characters rather than losing the whole run."""
    try:
        return pydantic_core.from_json(data)
    except ValueError:
        return pydantic_core.from_json(data.decode("utf-8", errors="replace"))


class LintOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    args: list[str] = Field(
        default_factory=list,
        description='Extra arguments for `ruff check`, e.g. `["--select", "E,F"]`: rule '
        "selection and settings flags only (anything that fixes, writes or redirects "
        "output is refused); ignored in an untrusted workspace.",
    )
    use_workspace_ruff: bool = Field(
        True, description="Prefer the workspace's `.venv/bin/ruff` when the workspace is trusted."
    )
    max_bytes: int = Field(
        5_000_000,
        gt=0,
        description="Python files larger than this are not linted (an info finding says "
        "so): a generated 90 MB module would cost ruff gigabytes.",
    )
    install_pinned: bool = Field(
        True,
        description="When the project pins a ruff version (pre-commit `rev`, `ruff==X` in "
        "its development dependencies) and the workspace is trusted, install that version "
        "into phasegate's tool cache on first use (`PHASEGATE_NO_TOOL_INSTALL=1` switches "
        "installing off everywhere).",
    )

    @field_validator("args")
    @classmethod
    def _safe(cls, v: list[str]) -> list[str]:
        _kept, bad = safe_args(v, None)
        if bad:
            raise ValueError(
                f"not allowed in lint args: {' '.join(bad)} (only rule selection and "
                "settings flags such as --select, --ignore, --line-length)"
            )
        return v


def find_ruff(root: Path, trusted: bool, use_workspace_ruff: bool = True) -> str | None:
    """The ruff binary to run: the workspace's own when trusted, else phasegate's
    (without the pinned-version install; see :func:`choose_ruff` for the full order)."""
    if trusted and use_workspace_ruff:
        own = workspace_bin(root, "ruff")
        if own:
            return own
    return bundled_ruff()


def _coord(value: Any) -> int:
    """A 1-based ruff row or column -> 0-based (missing or invalid: 0)."""
    if type(value) is int:
        return value - 1 if value > 0 else 0
    try:
        return max(0, int(value or 1) - 1)
    except (TypeError, ValueError):
        return 0


def _pos(loc: Any) -> dict[str, int]:
    """ruff's 1-based row/column -> a 0-based LSP position."""
    if type(loc) is not dict:
        return {"line": 0, "character": 0}
    row = loc.get("row")
    col = loc.get("column")
    return {
        "line": row - 1 if type(row) is int and row > 0 else _coord(row),
        "character": col - 1 if type(col) is int and col > 0 else _coord(col),
    }


def _range(start: Any, end: Any) -> dict[str, dict[str, int]]:
    s = _pos(start)
    if type(end) is not dict:
        return {"start": s, "end": s}
    e = _pos(end)
    sl = s["line"]
    el = e["line"]
    if el < sl or (el == sl and e["character"] < s["character"]):
        e = s
    return {"start": s, "end": e}


class _Paths:
    """ruff's absolute file names -> workspace-relative paths, each resolved once.

    The same answer as :meth:`Workspace.relpath`, computed once per directory rather
    than once per file.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._root = str(workspace.root)
        self._memo: dict[str, str | None] = {}
        self._dirs: dict[str, str | None] = {}

    def _dir(self, directory: str) -> str | None:
        """The workspace-relative path of ``directory`` ("" for the root), as
        :meth:`Workspace.relpath` gives it: as written when it lies inside the root and
        resolves inside it (a directory symlink the file index follows), else its real
        path; None when it is outside the workspace."""
        if directory not in self._dirs:
            root = self._root
            real = os.path.realpath(directory)
            rel: str | None = None
            if real == root or real.startswith(root + os.sep):
                lexical = os.path.normpath(directory)
                shown = lexical if lexical.startswith(root + os.sep) else real
                rel = "" if shown == root else shown[len(root) + 1 :].replace(os.sep, "/")
            self._dirs[directory] = rel
        return self._dirs[directory]

    def rel(self, filename: str) -> str | None:
        try:
            return self._memo[filename]
        except KeyError:
            pass
        rel: str | None = None
        directory, _, name = filename.rpartition(os.sep)
        if (
            os.path.isabs(filename)
            and directory
            and name not in ("", ".", "..")
            and not os.path.islink(filename)
        ):
            d = self._dir(directory)
            if d is not None:
                rel = f"{d}/{name}" if d else name
        if rel is None:
            try:
                rel = self.workspace.relpath(filename)
            except (PathOutsideWorkspace, OSError, ValueError):
                rel = None
        self._memo[filename] = rel
        return rel


def _finding_data(
    diag: dict[str, Any], path: str, ctx_code: str, owner: str, judged_by: str = "ruff"
) -> dict[str, Any]:
    """One ruff JSON diagnostic -> the fields of its finding (validated in bulk later)."""
    code = diag.get("code")
    message = str(diag.get("message") or "")
    syntax = code in SYNTAX_CODES
    text = f"SyntaxError: {message}" if syntax else f"{code} {message}"
    text = f"{text} [{judged_by}]"
    cell = diag.get("cell")
    if cell is not None:
        text = f"cell {cell}: {text}"
    fix = None
    raw_fix = diag.get("fix")
    if type(raw_fix) is dict and cell is None:
        edits = [
            {
                "path": path,
                "range": _range(e.get("location"), e.get("end_location")),
                "new_text": str(e.get("content") or ""),
            }
            for e in raw_fix.get("edits") or ()
            if type(e) is dict
        ]
        if edits:
            applicability = str(raw_fix.get("applicability") or "safe")
            label = str(raw_fix.get("message") or message)
            fix = {"title": f"{label} (ruff {code}, {applicability} fix)", "edits": edits}
    return {
        "path": path,
        "range": _range(diag.get("location"), diag.get("end_location")),
        "severity": Severity.ERROR if syntax else Severity.WARNING,
        "code": ctx_code,
        "message": text,
        "owner": owner,
        "fix": fix,
    }


def diagnostic_to_finding(diag: dict[str, Any], path: str, ctx_code: str, owner: str) -> Finding:
    """One ruff JSON diagnostic -> one finding (with ruff's fix, if it has one)."""
    return Finding.model_validate(_finding_data(diag, path, ctx_code, owner))


def diagnostics_to_findings(
    diags: list[Any],
    workspace: Workspace,
    ctx_code: str,
    owner: str,
    judged_by: str = "ruff",
    keep: Callable[[dict[str, Any], str], bool] | None = None,
) -> list[Finding]:
    """ruff's JSON diagnostics -> findings, validated in one call (pydantic's compiled
    validator over the whole list, not one model at a time). Diagnostics that are not
    objects or name a file outside the workspace are left out."""
    rel = _Paths(workspace).rel
    data: list[dict[str, Any]] = []
    append = data.append
    for diag in diags:
        if type(diag) is not dict:
            continue
        path = rel(str(diag.get("filename") or ""))
        if path is not None and (keep is None or keep(diag, path)):
            append(_finding_data(diag, path, ctx_code, owner, judged_by))
    return _FINDINGS.validate_python(data)


RUNTIME_GLOBAL_FILES = 3  # undefined in this many files: a global the runtime provides
_UNDEFINED = re.compile(r"^F821 Undefined name `([^`]+)`")


def _larger_than(root: Path, files: list[str], limit: int) -> list[tuple[str, int]]:
    """``(path, size)`` of the files over ``limit`` bytes (one stat each)."""
    out: list[tuple[str, int]] = []
    for rel in files:
        try:
            size = os.stat(root / rel).st_size
        except OSError:
            continue
        if size > limit:
            out.append((rel, size))
    return out


def drop_runtime_globals(findings: list[Finding]) -> list[Finding]:
    """Without any ruff configuration: ``F821 Undefined name`` findings for a name that
    is undefined in :data:`RUNTIME_GLOBAL_FILES` files or more are left out. Such a name
    is a global the scripts' runtime provides (CASA's tasks, SCons' ``env``, a notebook
    host's ``display``), which the project would declare in ruff's ``builtins`` setting
    if it configured ruff; a typo is not repeated across files."""
    files_of: dict[str, set[str]] = {}
    names: list[str | None] = []
    for f in findings:
        m = _UNDEFINED.match(f.message)
        name = m.group(1) if m else None
        names.append(name)
        if name is not None:
            files_of.setdefault(name, set()).add(f.path)
    runtime = {n for n, files in files_of.items() if len(files) >= RUNTIME_GLOBAL_FILES}
    if not runtime:
        return findings
    return [f for f, n in zip(findings, names, strict=True) if n not in runtime]


def metadata_checks(config: Config) -> list[CheckConfig]:
    """The enabled DEP-METADATA checks of ``config`` (any phase, exit or entry gate)."""
    return [
        cc
        for pc in config.phases
        for cc in [*pc.checks, *pc.entry_checks]
        if cc.enabled and cc.kind_name == METADATA_CHECK
    ]


class MetadataOverlap:
    """Whether a RUF200 diagnostic is one DEP-METADATA reports too: on a
    ``pyproject.toml`` an enabled DEP-METADATA of the configuration reads (its inputs, in
    a project folder it judges) and on a line where that check reports a finding. Each
    file is judged at most once, and only when ruff reports RUF200 on it."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self._patterns: list[tuple[list[str], list[str]]] | None = None
        self._lines: dict[str, set[int]] = {}

    def _readers(self) -> list[tuple[list[str], list[str]]]:
        if self._patterns is None:
            from phasegate.checks.deployment.metadata import PackageMetadata

            config = self.ctx.config
            self._patterns = [
                (
                    cc.inputs if cc.inputs is not None else PackageMetadata.default_inputs(config),
                    cc.exclude
                    if cc.exclude is not None
                    else PackageMetadata.default_exclude(config),
                )
                for cc in metadata_checks(config)
            ]
        return self._patterns

    def covers(self, path: str, line: int) -> bool:
        """Whether DEP-METADATA reports a finding on ``line`` (0-based) of ``path``."""
        if posixpath.basename(path) != "pyproject.toml":
            return False
        from phasegate.checks.deployment.layout import is_project_folder

        if not is_project_folder(posixpath.dirname(path)):
            return False
        readers = self._readers()
        if not any(matches(path, inc) and not matches(path, exc) for inc, exc in readers):
            return False
        if path not in self._lines:
            from phasegate.checks.deployment.metadata import pyproject_finding_lines

            text = self.ctx.workspace.read_text(path)
            self._lines[path] = (
                set() if text is None else pyproject_finding_lines(self.ctx, path, text)
            )
        return line in self._lines[path]


class Lint(Check):
    id = "IMPL-LINT"
    title = "Lint (ruff)"
    description = (
        "ruff's diagnostics as the project defines them: its own ruff (or the version it "
        "pins in pre-commit or its development dependencies), its configuration and "
        "pre-commit hook `args`, and ruff's classic rules `E4,E7,E9,F` when nothing "
        "chooses rules (and then an undefined name repeated in 3 files or more is taken "
        "for a global the scripts' runtime provides), less what a project without a ruff "
        "configuration leaves out in its flake8 configuration (`ignore`, "
        "`per-file-ignores`, `exclude`; `.pyi` files unless its `filename` takes them); "
        "each message names the ruff and "
        "configuration that judged it. "
        "Never fixes. ruff's fixes are offered as quick fixes. One cause, one finding: "
        "ruff's parse errors are left to IMPL-SYNTAX, and its RUF200 (invalid metadata in "
        "a pyproject.toml, when RUF or ALL is selected) to DEP-METADATA wherever that "
        "check, enabled, reports the same line of the same file (its finding names the "
        "field, and its owner maintains the metadata). Score: share of Python files "
        "without findings. Not applicable where there is no Python."
    )
    scope = "project"
    default_owner = "backend_developer"
    default_weight = 1.0
    default_blocking = False
    runs_workspace_code = False  # phasegate's ruff in an untrusted workspace
    Options = LintOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return [
            *config.artifacts.sources,
            *RUFF_CONFIG_FILES,
            *FLAKE8_FILES,
            PRE_COMMIT_CONFIG,
            *LOCK_FILES,
        ]

    @classmethod
    def config_dependencies(cls, config: Config) -> Any:
        """The DEP-METADATA checks in force (RUF200 is left out where they report)."""
        found = metadata_checks(config)
        return [[cc.inputs, cc.exclude] for cc in found] if found else None

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return self.lint(ctx, None)

    def lint(self, ctx: CheckContext, paths: list[str] | None) -> CheckOutcome:
        """Lint the whole workspace, or only ``paths`` (workspace-relative) when given.

        With ``paths``, ruff's ``--force-exclude`` keeps the workspace's excludes in force
        and the score counts only those files.
        """
        opts = ctx.options
        assert isinstance(opts, LintOptions)
        root = ctx.workspace.root
        if paths is None:
            checked = {f for f in ctx.input_files() if f.endswith(PYTHON_SUFFIXES)}
            if not checked:
                reason = no_python_reason(ctx.workspace) or "no Python files to lint"
                return CheckOutcome(score=1.0, not_applicable=reason)
        else:
            checked = {p for p in paths if p.endswith(PYTHON_SUFFIXES)}
        cfg = read_ruff_config(root)
        binary = choose_ruff(
            root,
            cfg,
            trusted=ctx.trusted,
            use_workspace_ruff=opts.use_workspace_ruff,
            install=opts.install_pinned,
        )
        if binary is None:
            return CheckOutcome(score=0.0, error=not_found_error("ruff", ctx.check.id))
        extra = safe_args(opts.args, root)[0] if ctx.trusted else []
        if paths is not None and not paths:
            return CheckOutcome(score=1.0)
        too_big = _larger_than(root, sorted(checked), opts.max_bytes)
        for rel, _size in too_big:
            extra += ["--extend-exclude", rel]
        res = self._ruff(ctx, binary, cfg, extra, paths)
        judged_by = describe(cfg, binary, bool(extra))
        version = binary.version  # the ruff that judged, for the result's evidence
        if res.returncode not in (0, None) and binary.origin != BUNDLED:
            # the project's pinned ruff cannot read its own configuration (a stale pin):
            # phasegate's ruff judges, and the message says so
            bundled = choose_ruff(
                root, RuffConfig(), trusted=False, use_workspace_ruff=False, install=False
            )
            if bundled is not None:
                why = (tail(res.stderr) or "failed").splitlines()[-1][:120]
                res = self._ruff(ctx, bundled, cfg, extra, paths)
                judged_by = describe(cfg, bundled, bool(extra))
                version = bundled.version
                judged_by += f"; ruff {binary.version} of {binary.origin} failed: {why}"
        out = res.stdout_bytes or b""
        if res.not_found:
            return CheckOutcome(score=0.0, error=not_found_error("ruff", ctx.check.id))
        if res.timed_out:
            return CheckOutcome(
                score=0.0, error=f"ruff timed out after {ctx.timeout:g} s", tool_version=version
            )
        if res.truncated:
            return CheckOutcome(score=0.0, error="ruff's output is too large to read")
        if res.returncode != 0:
            detail = tail(res.stderr) or tail(out[-4000:].decode("utf-8", errors="replace"))
            return CheckOutcome(
                score=0.0, error=f"ruff failed ({res.returncode}): {detail}", tool_version=version
            )
        tests = ctx.config.artifacts.tests
        metadata = MetadataOverlap(ctx)

        def keep(diag: dict[str, Any], path: str) -> bool:
            """Parse errors are IMPL-SYNTAX's (judged at the project's Python version);
            ruff's "syntax was added in Python 3.X" errors stay, but not in test files,
            which projects commonly run only on the Pythons that have that syntax.
            RUF200 is DEP-METADATA's where that check reports the same line."""
            code = diag.get("code")
            if code == METADATA_CODE:
                return not metadata.covers(path, _pos(diag.get("location"))["line"])
            if code not in SYNTAX_CODES:
                return True
            added = "syntax was added in" in str(diag.get("message") or "")
            return added and not matches(path, tests)

        with gc_paused():  # findings by the ten thousand: gc scans would cost more than ruff
            try:
                blank = not out or out.isspace()
                diags = [] if blank else _from_json(out)
            except ValueError as exc:
                return CheckOutcome(score=0.0, error=f"ruff's JSON output is unreadable: {exc}")
            if not isinstance(diags, list):
                return CheckOutcome(score=0.0, error="ruff's JSON output is not a list")
            findings = diagnostics_to_findings(
                diags, ctx.workspace, ctx.check.id, ctx.owner, judged_by, keep
            )
            del diags
        if not cfg.files:
            findings = drop_runtime_globals(findings)
        findings += [
            ctx.finding(
                rel,
                f"not linted: {size} bytes is more than max_bytes ({opts.max_bytes})",
                line=0,
                severity=Severity.INFO,
            )
            for rel, size in too_big
        ]
        bad = {f.path for f in findings if f.severity <= Severity.WARNING}
        total = len(checked | bad)
        score = 1.0 - len(bad) / total if total else 1.0
        return CheckOutcome(findings=findings, score=score, tool_version=version)

    @staticmethod
    def _ruff(
        ctx: CheckContext,
        binary: RuffBinary,
        cfg: RuffConfig,
        extra: list[str],
        paths: list[str] | None,
    ) -> ToolResult:
        argv = [binary.path, "check", "--output-format", "json", "--no-cache", "--exit-zero"]
        argv.append("--no-fix")  # a `fix = true` setting must not edit the workspace
        # phasegate's own state (backups of replaced files among it) is never linted.
        argv += ["--extend-exclude", STATE_DIR]
        known = known_rules(binary.path) if cfg.flake8 is not None else None
        argv += rule_args(cfg, known) + cfg.pre_commit_args + extra
        argv += ["."] if paths is None else ["--force-exclude", "--", *paths]
        return run_tool(
            argv,
            cwd=ctx.workspace.root,
            timeout=ctx.timeout,
            max_output=MAX_RUFF_OUTPUT,
            binary_stdout=True,
        )
