"""Shared rendering of gate results for the terminal and for JSON output.

* :func:`render_gates` prints a table of phases: name, status, score, threshold and the
  checks that failed.
* :func:`render_findings` lists findings as ``path:line:col: CODE message`` (1-based line
  and column, for people), grouped by phase.
* :func:`gates_to_json` builds the JSON document of ``phasegate validate --format json``
  (documented in ``docs/validate-json.md``): workspace-relative paths, 0-based LSP
  positions, lowercase severity names.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from phasegate.model import CheckResult, Finding, GateResult, Severity

_STATUS_STYLE = {
    "passed": "green",
    "completed": "green",
    "failed": "red",
    "regressed": "red",
    "blocked": "red",
    "stalled": "yellow",
    "in_progress": "cyan",
    "pending": "dim",
}

_SEVERITY_STYLE = {
    Severity.ERROR: "red",
    Severity.WARNING: "yellow",
    Severity.INFO: "blue",
    Severity.HINT: "dim",
}


def gate_status(gate: GateResult) -> str:
    """``"passed"`` or ``"failed"``."""
    return "passed" if gate.passed else "failed"


def _failed_label(check: CheckResult) -> str:
    label = check.id
    if check.blocking:
        label += " (blocking)"
    if check.error:
        label += " (error)"
    return label


def render_gates(
    console: Console,
    gates: list[GateResult],
    statuses: dict[str, str] | None = None,
    *,
    title: str | None = None,
) -> None:
    """A table of phases: name, status, score, threshold, failed checks.

    ``statuses`` maps a phase name to the status to show (``completed``, ``stalled``…);
    phases not in it show ``passed``/``failed`` from their gate.
    """
    table = Table(title=title, show_lines=False)
    table.add_column("Phase", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Score", justify="right")
    table.add_column("Threshold", justify="right")
    table.add_column("Failed checks")
    for gate in gates:
        status = (statuses or {}).get(gate.phase) or gate_status(gate)
        style = _STATUS_STYLE.get(status, "")
        failed = ", ".join(_failed_label(c) for c in gate.failed_checks) or "-"
        table.add_row(
            escape(gate.phase),
            f"[{style}]{escape(status)}[/]" if style else escape(status),
            f"{gate.score:.2f}",
            f"{gate.threshold:.2f}",
            escape(failed),
        )
    console.print(table)


def finding_location(finding: Finding) -> str:
    """``path:line:col`` with 1-based line and column."""
    start = finding.range.start
    return f"{finding.path}:{start.line + 1}:{start.character + 1}"


def render_findings(console: Console, gates: list[GateResult], workspace_root: Path) -> None:
    """Findings as ``path:line:col: CODE message`` (1-based), grouped by phase.

    Checks that could not run (their ``error``) and checks skipped in an untrusted
    workspace are listed too, so nothing that affected a gate is hidden.
    """
    del workspace_root  # finding paths are already workspace-relative
    for gate in gates:
        lines: list[str] = []
        for check in gate.checks:
            if check.error:
                lines.append(f"[red]{escape(check.id)}: could not run: {escape(check.error)}[/]")
            if check.skipped:
                lines.append(f"[dim]{escape(check.id)}: skipped: {escape(check.skipped)}[/]")
            for f in check.findings:
                style = _SEVERITY_STYLE.get(f.severity, "")
                loc = escape(finding_location(f))
                code = escape(f.code)
                lines.append(f"{loc}: [{style}]{code}[/] {escape(f.message)}")
        if not lines:
            continue
        console.print(f"[bold]{escape(gate.phase)}[/] ({gate_status(gate)})")
        for line in lines:
            console.print("  " + line, highlight=False, soft_wrap=True)


def _rel(path: str, workspace_root: Path) -> str:
    p = PurePosixPath(path.replace("\\", "/"))
    if p.is_absolute():
        try:
            return Path(path).resolve().relative_to(workspace_root.resolve()).as_posix()
        except ValueError:
            return path
    return p.as_posix()


def finding_to_json(finding: Finding, workspace_root: Path) -> dict[str, Any]:
    r = finding.range
    return {
        "path": _rel(finding.path, workspace_root),
        "range": {
            "start": {"line": r.start.line, "character": r.start.character},
            "end": {"line": r.end.line, "character": r.end.character},
        },
        "severity": Severity(finding.severity).name.lower(),
        "code": finding.code,
        "message": finding.message,
        "owner": finding.owner,
    }


def check_to_json(check: CheckResult, workspace_root: Path) -> dict[str, Any]:
    return {
        "id": check.id,
        "passed": check.passed,
        "blocking": check.blocking,
        "score": check.score,
        "owner": check.owner,
        "findings": [finding_to_json(f, workspace_root) for f in check.findings],
    }


def gates_to_json(workspace_root: Path, gates: list[GateResult]) -> dict[str, Any]:
    """The JSON document of ``phasegate validate --format json``."""
    return {
        "workspace": str(workspace_root),
        "phases": [
            {
                "name": g.phase,
                "status": gate_status(g),
                "score": g.score,
                "threshold": g.threshold,
                "checks": [check_to_json(c, workspace_root) for c in g.checks],
            }
            for g in gates
        ],
    }
