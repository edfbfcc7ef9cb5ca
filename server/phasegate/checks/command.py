"""``command``: run any tool as a check; pass by exit code, findings parsed from its output.

```toml
[[phases.checks]]
id = "BANDIT"
kind = "command"
inputs = ["**/*.py"]
options = { command = ["bandit", "-r", ".", "-f", "sarif"], format = "sarif",
            success_codes = [0, 1] }
```

``format`` is ``sarif`` (SARIF 2.1.0), ``json`` (a list of
``{path, line, column, end_line, end_column, message, severity}``, 1-based), ``lines``
(``path:line:col: message``) or ``exit-code`` (no findings, only the verdict). An
argument equal to ``{files}`` is replaced by the check's input files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.findings_parse import FindingMaker, ParseError, dedupe, parse_output, severity_of
from phasegate.model import Finding, Range, Severity
from phasegate.proc import ToolResult, run_tool
from phasegate.workspace import PathOutsideWorkspace, Workspace

if TYPE_CHECKING:
    from phasegate.config import Config

CONFIG_FILES = ("phasegate.toml", "pyproject.toml")


def config_file(workspace: Workspace) -> tuple[str, bool]:
    """Where a finding with no file of its own goes: the config file, and whether it exists."""
    for name in CONFIG_FILES:
        if (workspace.root / name).is_file():
            return name, True
    return CONFIG_FILES[0], False


def tail(text: str, lines: int = 5, chars: int = 600) -> str:
    """The last few non-empty lines of a tool's output, for a message."""
    kept = [ln.rstrip() for ln in text.strip().splitlines() if ln.strip()][-lines:]
    out = "\n".join(kept)
    return out[-chars:]


def not_found_error(program: str, check_id: str) -> str:
    return f"{program} not found: install it or disable check {check_id}"


class CommandOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: list[str] = Field(min_length=1, description="The program and its arguments.")
    format: Literal["sarif", "json", "lines", "exit-code"] = Field(
        "exit-code", description="How to read findings from the output."
    )
    success_codes: list[int] = Field(
        default_factory=lambda: [0], description="Exit codes that mean the check passed."
    )
    stream: Literal["stdout", "stderr", "both"] = Field(
        "stdout", description="Which output holds the findings."
    )
    cwd: str = Field(".", description="Working directory, relative to the workspace root.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables.")
    severity: Literal["error", "warning", "info", "hint"] = Field(
        "warning", description="Severity of findings whose output gives none."
    )


class CommandCheck(Check):
    id = "command"
    title = "Command"
    description = (
        "Runs a configured tool; passes by exit code; findings from its SARIF, JSON or "
        "`path:line:col: message` output."
    )
    scope = "project"
    default_owner = "backend_developer"
    runs_workspace_code = True
    Options = CommandOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["**/*"]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        opts = ctx.options
        assert isinstance(opts, CommandOptions)
        ws = ctx.workspace
        try:
            cwd = ws.abspath(opts.cwd)
        except PathOutsideWorkspace:
            return CheckOutcome(score=0.0, error=f"cwd {opts.cwd!r} is outside the workspace")
        if not cwd.is_dir():
            return CheckOutcome(score=0.0, error=f"cwd {opts.cwd!r} is not a directory")
        argv: list[str] = []
        for arg in opts.command:
            if arg == "{files}":
                argv += ctx.input_files()
            else:
                argv.append(arg)
        res = run_tool(argv, cwd=cwd, timeout=ctx.timeout, env=opts.env)
        return outcome_from_result(ctx, res, opts, cwd)


def outcome_from_result(
    ctx: CheckContext, res: ToolResult, opts: CommandOptions, cwd: Path
) -> CheckOutcome:
    program = opts.command[0]
    if res.not_found:
        return CheckOutcome(score=0.0, error=not_found_error(program, ctx.check.id))
    if res.timed_out:
        return CheckOutcome(score=0.0, error=f"{program} timed out after {ctx.timeout:g} s")
    if opts.stream == "stdout":
        text = res.stdout
    elif opts.stream == "stderr":
        text = res.stderr
    else:
        text = res.stdout + "\n" + res.stderr
    maker = FindingMaker(
        workspace=ctx.workspace,
        code=ctx.check.id,
        owner=ctx.owner,
        default_severity=severity_of(opts.severity, Severity.WARNING),
        base_dir=cwd,
    )
    passed = res.returncode in opts.success_codes
    try:
        parsed = parse_output(opts.format, text, maker)
    except ParseError as exc:
        detail = tail(res.stderr) or tail(res.stdout)
        msg = f"{program} exited with {res.returncode}; its output is not {opts.format}: {exc}"
        return CheckOutcome(score=0.0, error=f"{msg}\n{detail}" if detail else msg)
    findings = dedupe(parsed.findings)
    if not passed and not findings:
        where, exists = config_file(ctx.workspace)
        detail = tail(res.stderr) or tail(res.stdout)
        message = f"`{' '.join(opts.command)}` exited with {res.returncode}"
        if detail:
            message += f": {detail}"
        findings.append(
            Finding(
                path=where,
                range=Range.lines(0),
                severity=Severity.ERROR,
                code=ctx.check.id,
                message=message,
                owner=ctx.owner,
                missing_file=not exists,
            )
        )
    return CheckOutcome(findings=findings, score=1.0 if passed else 0.0, passed=passed)
