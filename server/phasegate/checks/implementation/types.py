"""IMPL-TYPES (optional, off by default): a type checker over the source files.

``tool = "auto"`` picks, in order: mypy installed in the workspace's interpreter
(``python -m mypy``); pyright (the workspace's ``.venv/bin/pyright`` or on PATH); mypy on
PATH, pointed at the workspace's interpreter with ``--python-executable``. mypy keeps its
cache in ``.phasegate/cache/mypy``, so nothing is written in the workspace itself.

Score: ``1 - files with errors / source files checked``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.checks.command import not_found_error, tail
from phasegate.findings_parse import FindingMaker, Parsed, parse_lines
from phasegate.interpreter import InterpreterNotFound, find_interpreter, probe, workspace_bin
from phasegate.model import Range, Severity
from phasegate.proc import run_tool

if TYPE_CHECKING:
    from phasegate.config import Config


class TypeCheckOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: Literal["auto", "mypy", "pyright"] = Field("auto", description="Type checker to run.")
    args: list[str] = Field(default_factory=list, description="Extra arguments for the tool.")
    targets: list[str] | None = Field(
        None, description="Paths to check; default: the check's input files."
    )


def parse_pyright(stdout: str, maker: FindingMaker) -> Parsed:
    """Findings from ``pyright --outputjson`` (0-based ranges already)."""
    data = json.loads(stdout)
    out = Parsed()
    for d in data.get("generalDiagnostics") or []:
        path = maker.relpath(str(d.get("file") or ""))
        if path is None:
            out.dropped += 1
            continue
        sev = {"error": Severity.ERROR, "warning": Severity.WARNING}.get(
            str(d.get("severity")), Severity.INFO
        )
        r = d.get("range") or {}
        s, e = r.get("start") or {}, r.get("end") or {}
        rng = Range.span(
            int(s.get("line", 0)),
            int(s.get("character", 0)),
            int(e.get("line", s.get("line", 0))),
            int(e.get("character", s.get("character", 0))),
        )
        msg = str(d.get("message") or "")
        if d.get("rule"):
            msg += f" [{d['rule']}]"
        out.findings.append(maker.make(path, msg + " [pyright]", rng, sev))
    return out


class TypeCheck(Check):
    id = "IMPL-TYPES"
    title = "Type check"
    description = "mypy (or pyright) over the source files, in the workspace's interpreter."
    scope = "project"
    default_owner = "backend_developer"
    default_weight = 1.0
    default_severity = Severity.ERROR
    runs_workspace_code = True  # the workspace's interpreter and its mypy plugins
    Options = TypeCheckOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return [*config.artifacts.sources, "pyproject.toml", "mypy.ini", ".mypy.ini", "setup.cfg"]

    @classmethod
    def default_exclude(cls, config: Config) -> list[str]:
        return []

    def run(self, ctx: CheckContext) -> CheckOutcome:
        opts = ctx.options
        assert isinstance(opts, TypeCheckOptions)
        root = ctx.workspace.root
        try:
            python: str | None = find_interpreter(root, ctx.config)
        except InterpreterNotFound:
            python = None
        targets = opts.targets
        if targets is None:
            targets = [f for f in ctx.input_files() if f.endswith((".py", ".pyi"))]
        if not targets:
            return CheckOutcome(score=1.0)
        maker = FindingMaker(ctx.workspace, ctx.check.id, ctx.owner, Severity.ERROR, root)
        cache_dir = ctx.workspace.state_dir / "cache" / "mypy"
        mypy_flags = [
            "--show-column-numbers",
            "--show-error-end",
            "--no-error-summary",
            "--no-color-output",
            "--no-pretty",
            "--cache-dir",
            str(cache_dir),
        ]
        tool = opts.tool
        argv: list[str] | None = None
        kind = "mypy"
        env = {"PYTHONDONTWRITEBYTECODE": "1", "MYPY_FORCE_COLOR": "0"}
        if tool in ("auto", "mypy") and python is not None:
            p = probe(python, root)
            if p is not None and p.has("mypy"):
                argv = [python, "-m", "mypy", *mypy_flags]
        if argv is None and tool in ("auto", "pyright"):
            pyright = workspace_bin(root, "pyright") or shutil.which("pyright")
            if pyright:
                kind = "pyright"
                argv = [pyright, "--outputjson"]
                if python:
                    argv += ["--pythonpath", python]
        if argv is None and tool in ("auto", "mypy"):
            mypy = workspace_bin(root, "mypy") or shutil.which("mypy")
            if mypy:
                argv = [mypy, *mypy_flags]
                if python:
                    argv += ["--python-executable", python]
        if argv is None:
            name = "pyright" if tool == "pyright" else "mypy"
            return CheckOutcome(score=0.0, error=not_found_error(name, ctx.check.id))
        if kind == "mypy":
            cache_dir.mkdir(parents=True, exist_ok=True)
        argv += [*opts.args, "--", *targets] if kind == "mypy" else [*opts.args, *targets]
        res = run_tool(argv, cwd=root, timeout=ctx.timeout, env=env)
        if res.not_found:
            return CheckOutcome(score=0.0, error=not_found_error(kind, ctx.check.id))
        if res.timed_out:
            return CheckOutcome(score=0.0, error=f"{kind} timed out after {ctx.timeout:g} s")
        if kind == "pyright":
            try:
                parsed = parse_pyright(res.stdout, maker)
            except (ValueError, AttributeError) as exc:
                detail = tail(res.stderr) or tail(res.stdout)
                return CheckOutcome(score=0.0, error=f"pyright output unreadable ({exc}): {detail}")
        else:
            if res.returncode not in (0, 1):
                detail = tail(res.stderr) or tail(res.stdout)
                return CheckOutcome(score=0.0, error=f"mypy failed ({res.returncode}): {detail}")
            parsed = parse_lines(res.stdout, maker)
            for i, f in enumerate(parsed.findings):
                if not f.message.endswith("[mypy]"):
                    parsed.findings[i] = f.model_copy(update={"message": f"{f.message} [mypy]"})
        findings = parsed.findings
        checked = {Path(t).as_posix() for t in targets}
        bad = {f.path for f in findings if f.severity <= Severity.WARNING}
        total = len(checked | bad)
        score = 1.0 - len(bad) / total if total else 1.0
        return CheckOutcome(findings=findings, score=score)
