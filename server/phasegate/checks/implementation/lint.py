"""IMPL-LINT: ruff over the workspace, one process per run, its fixes as quick fixes.

``ruff check --output-format json --no-cache --exit-zero .`` runs in the workspace root,
so the workspace's own ruff configuration (rules, excludes, per-file ignores) applies and
the findings are exactly the diagnostics ``ruff check`` reports there. Nothing is written
in the workspace (no ``.ruff_cache``).

Which ruff: the workspace's own ``.venv/bin/ruff`` when the workspace is trusted (it is
the version the project pins), else the one phasegate depends on, else ``ruff`` on PATH.

Score: ``1 - files with findings / Python files checked`` — a file with one finding and a
file with fifty weigh the same, so a few noisy files do not sink the gate, and fixing a
file's last finding always raises the score.
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from phasegate.cache import gc_paused
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.checks.command import not_found_error, tail
from phasegate.interpreter import workspace_bin
from phasegate.model import Finding, Severity
from phasegate.proc import run_tool
from phasegate.workspace import STATE_DIR, PathOutsideWorkspace, Workspace

if TYPE_CHECKING:
    from phasegate.config import Config

RUFF_CONFIG_FILES = ("pyproject.toml", "ruff.toml", ".ruff.toml")
PYTHON_SUFFIXES = (".py", ".pyi", ".ipynb")
SYNTAX_CODES = {None, "", "E999", "invalid-syntax", "syntax-error"}
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
        description='Extra arguments for `ruff check`, e.g. `["--select", "E,F"]`.',
    )
    use_workspace_ruff: bool = Field(
        True, description="Prefer the workspace's `.venv/bin/ruff` when the workspace is trusted."
    )


def find_ruff(root: Path, trusted: bool, use_workspace_ruff: bool = True) -> str | None:
    """The ruff binary to run (see the module docs for the order)."""
    if trusted and use_workspace_ruff:
        own = workspace_bin(root, "ruff")
        if own:
            return own
    try:
        mod: Any = importlib.import_module("ruff")
        found = mod.find_ruff_bin()
        if found:
            return str(found)
    except (ImportError, FileNotFoundError, AttributeError):
        pass
    return shutil.which("ruff")


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

    The same answer as :meth:`Workspace.relpath` (the real path, links resolved,
    relative to the root), computed once per directory rather than once per file.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._root = str(workspace.root)
        self._memo: dict[str, str | None] = {}
        self._dirs: dict[str, str | None] = {}

    def _dir(self, directory: str) -> str | None:
        """The workspace-relative real path of ``directory`` ("" for the root), or None
        when it is outside the workspace."""
        if directory not in self._dirs:
            real = os.path.realpath(directory)
            rel: str | None = None
            if real == self._root:
                rel = ""
            elif real.startswith(self._root + os.sep):
                rel = real[len(self._root) + 1 :].replace(os.sep, "/")
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


def _finding_data(diag: dict[str, Any], path: str, ctx_code: str, owner: str) -> dict[str, Any]:
    """One ruff JSON diagnostic -> the fields of its finding (validated in bulk later)."""
    code = diag.get("code")
    message = str(diag.get("message") or "")
    syntax = code in SYNTAX_CODES
    text = f"SyntaxError: {message} [ruff]" if syntax else f"{code} {message} [ruff]"
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
    diags: list[Any], workspace: Workspace, ctx_code: str, owner: str
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
        if path is not None:
            append(_finding_data(diag, path, ctx_code, owner))
    return _FINDINGS.validate_python(data)


class Lint(Check):
    id = "IMPL-LINT"
    title = "Lint (ruff)"
    description = (
        "ruff's diagnostics, with the workspace's ruff configuration; ruff's fixes are "
        "offered as quick fixes. Score: share of Python files without findings."
    )
    scope = "project"
    default_owner = "backend_developer"
    default_weight = 1.0
    default_blocking = False
    runs_workspace_code = False  # phasegate's ruff in an untrusted workspace
    Options = LintOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return [*config.artifacts.sources, *RUFF_CONFIG_FILES]

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
        ruff = find_ruff(root, ctx.trusted, opts.use_workspace_ruff)
        if ruff is None:
            return CheckOutcome(score=0.0, error=not_found_error("ruff", ctx.check.id))
        argv = [ruff, "check", "--output-format", "json", "--no-cache", "--exit-zero"]
        # phasegate's own state (backups of replaced files among it) is never linted.
        argv += ["--extend-exclude", STATE_DIR]
        argv += opts.args
        if paths is None:
            argv.append(".")
        else:
            if not paths:
                return CheckOutcome(score=1.0)
            argv += ["--force-exclude", "--", *paths]
        res = run_tool(
            argv, cwd=root, timeout=ctx.timeout, max_output=MAX_RUFF_OUTPUT, binary_stdout=True
        )
        out = res.stdout_bytes or b""
        if res.not_found:
            return CheckOutcome(score=0.0, error=not_found_error("ruff", ctx.check.id))
        if res.timed_out:
            return CheckOutcome(score=0.0, error=f"ruff timed out after {ctx.timeout:g} s")
        if res.truncated:
            return CheckOutcome(score=0.0, error="ruff's output is too large to read")
        if res.returncode != 0:
            detail = tail(res.stderr) or tail(out[-4000:].decode("utf-8", errors="replace"))
            return CheckOutcome(score=0.0, error=f"ruff failed ({res.returncode}): {detail}")
        with gc_paused():  # findings by the ten thousand: gc scans would cost more than ruff
            try:
                blank = not out or out.isspace()
                diags = [] if blank else _from_json(out)
            except ValueError as exc:
                return CheckOutcome(score=0.0, error=f"ruff's JSON output is unreadable: {exc}")
            if not isinstance(diags, list):
                return CheckOutcome(score=0.0, error="ruff's JSON output is not a list")
            findings = diagnostics_to_findings(diags, ctx.workspace, ctx.check.id, ctx.owner)
            del diags
        if paths is None:
            checked = {f for f in ctx.input_files() if f.endswith(PYTHON_SUFFIXES)}
        else:
            checked = {p for p in paths if p.endswith(PYTHON_SUFFIXES)}
        bad = {f.path for f in findings}
        total = len(checked | bad)
        score = 1.0 - len(bad) / total if total else 1.0
        return CheckOutcome(findings=findings, score=score)
