"""Shared rendering of gate results for the terminal and for JSON output.

* :func:`render_gates` prints a table of phases: name, status, score, threshold and the
  checks that failed (plain aligned lines off a terminal, never wrapped); below it, how
  many checks ran, came from the cache, were skipped or could not run (their evidence),
  so a degraded run never reads like a clean one.
* :func:`render_findings` lists findings as ``path:line:col: CODE message`` (1-based line
  and column, for people), grouped by phase.
* :func:`gates_to_json` builds the JSON document of ``phasegate validate --format json``
  (documented in ``docs/validate-json.md``): workspace-relative paths, 0-based LSP
  positions, lowercase severity names.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from phasegate.model import CheckResult, Finding, GateResult, Severity

if TYPE_CHECKING:  # rich is imported only to render for a terminal
    from rich.console import Console

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
        label += " (could not run)"
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
    phases not in it show ``passed``/``failed`` from their gate. Off a terminal the table
    is plain lines (see :func:`phasegate.commands._table.print_table`).
    """
    rows = []
    for gate in gates:
        status = (statuses or {}).get(gate.phase) or gate_status(gate)
        failed = ", ".join(_failed_label(c) for c in gate.failed_checks) or "-"
        rows.append([gate.phase, status, f"{gate.score:.2f}", f"{gate.threshold:.2f}", failed])
    from phasegate.commands._table import print_table

    print_table(
        console,
        ["Phase", "Status", "Score", "Threshold", "Failed checks"],
        rows,
        title=title,
        right={2, 3},
        no_wrap=2,
        styles={1: _STATUS_STYLE},
    )
    line = evidence_summary(gates)
    if line:
        console.print(line, highlight=False, emoji=False)


def evidence_summary(gates: list[GateResult]) -> str:
    """``checks: 9 ran, 3 from cache, 1 skipped (untrusted), 1 could not run`` as rich
    markup: red when a check could not run, yellow when one was skipped, else dim."""
    from rich.markup import escape

    from phasegate.evidence import counts, summary_line

    line = summary_line(gates)
    if not line:
        return ""
    n = counts(c for g in gates for c in g.checks)
    style = "red" if n["not_run"] else ("yellow" if n["skipped"] else "dim")
    return f"[{style}]{escape(line)}[/]"


def finding_location(finding: Finding) -> str:
    """``path:line:col`` with 1-based line and column."""
    start = finding.range.start
    return f"{finding.path}:{start.line + 1}:{start.character + 1}"


def render_findings(console: Console, gates: list[GateResult], workspace_root: Path) -> None:
    """Findings as ``path:line:col: CODE message`` (1-based), grouped by phase.

    Checks that could not run (their ``error``), checks skipped in an untrusted
    workspace and checks with nothing to judge (not applicable) are listed too, so
    nothing that affected a gate is hidden.
    """
    del workspace_root  # finding paths are already workspace-relative
    if not console.is_terminal and not console.record:
        _write_findings_plain(console, gates)
        return
    from rich.markup import escape

    for gate in gates:
        lines: list[str] = []
        for check in gate.checks:
            if check.error:
                lines.append(f"[red]{escape(check.id)}: could not run: {escape(check.error)}[/]")
            if check.skipped:
                lines.append(f"[dim]{escape(check.id)}: skipped: {escape(check.skipped)}[/]")
            if check.not_applicable:
                na = escape(check.not_applicable)
                lines.append(f"[dim]{escape(check.id)}: not applicable: {na}[/]")
            if check.new_code is not None and check.new_code.note:
                lines.append(f"{escape(check.id)}: {escape(check.new_code.note)}")
            for f in _in_new_code_order(check):
                style = _SEVERITY_STYLE.get(f.severity, "")
                loc = escape(finding_location(f))
                code = escape(f.code)
                tag = _STATE_TAG.get(f.baseline_state or "", "")
                line = f"{loc}: [{style}]{code}[/] {escape(f.message)}"
                lines.append(f"{line} [dim]{tag}[/]" if tag else line)
        if not lines:
            continue
        console.print(f"[bold]{escape(gate.phase)}[/] ({gate_status(gate)})")
        for line in lines:
            # emoji=False: "a.py:100:5" must not become "a.py💯5"
            console.print("  " + line, highlight=False, soft_wrap=True, emoji=False)


_STATE_TAG = {"new": "(new)", "unchanged": "(unchanged)", "absent": "(fixed)"}
_STATE_ORDER = {"new": 0, "unchanged": 1, "absent": 2}


def _in_new_code_order(check: CheckResult) -> list[Finding]:
    """The findings to list: outside new-code mode as they are; in it, new first, then
    unchanged (inherited), then the baseline findings gone (fixed)."""
    if check.new_code is None:
        return check.findings
    both = [*check.findings, *check.absent]
    return sorted(both, key=lambda f: _STATE_ORDER.get(f.baseline_state or "", 0))


def _write_findings_plain(console: Console, gates: list[GateResult]) -> None:
    """:func:`render_findings` off a terminal, where it has no styles: the same lines
    written directly (tens of thousands of findings would otherwise each go through
    rich's markup parser for nothing)."""
    out = console.file
    for gate in gates:
        lines: list[str] = []
        for check in gate.checks:
            if check.error:
                lines.append(f"  {check.id}: could not run: {check.error}\n")
            if check.skipped:
                lines.append(f"  {check.id}: skipped: {check.skipped}\n")
            if check.not_applicable:
                lines.append(f"  {check.id}: not applicable: {check.not_applicable}\n")
            if check.new_code is not None and check.new_code.note:
                lines.append(f"  {check.id}: {check.new_code.note}\n")
            for f in _in_new_code_order(check):
                start = f.range.start
                loc = f"{f.path}:{start.line + 1}:{start.character + 1}"
                tag = _STATE_TAG.get(f.baseline_state or "", "")
                lines.append(f"  {loc}: {f.code} {f.message}{' ' + tag if tag else ''}\n")
        if lines:
            out.write(f"{gate.phase} ({gate_status(gate)})\n")
            out.write("".join(lines))
    out.flush()


def _is_plain_relative(path: str) -> bool:
    """True when ``path`` is already what :func:`_rel` returns (the usual case)."""
    return (
        bool(path)
        and path != "."
        and not path.startswith(("/", "./"))
        and not path.endswith(("/", "/."))
        and "\\" not in path
        and "//" not in path
        and "/./" not in path
    )


def _rel(path: str, workspace_root: Path) -> str:
    if _is_plain_relative(path):
        return path
    p = PurePosixPath(path.replace("\\", "/"))
    if p.is_absolute():
        try:
            return Path(path).resolve().relative_to(workspace_root.resolve()).as_posix()
        except ValueError:
            return path
    return p.as_posix()


_SEVERITY_NAMES = {int(s): s.name.lower() for s in Severity}
_JSON_FINDING_FIELDS = {"path", "range", "severity", "code", "message", "owner", "baseline_state"}
_findings_adapter: Any = None


def _findings_to_json(findings: list[Finding], rels: dict[str, str], root: Path) -> Any:
    """``finding_to_json`` over a whole list: pydantic's compiled serialiser makes the
    dicts in one call, then only the severity names and paths are set."""
    global _findings_adapter
    if _findings_adapter is None:
        from pydantic import TypeAdapter

        _findings_adapter = TypeAdapter(list[Finding])
    out: list[dict[str, Any]] = _findings_adapter.dump_python(
        findings, mode="json", include={"__all__": _JSON_FINDING_FIELDS}
    )
    names = _SEVERITY_NAMES
    for d in out:
        d["severity"] = names[d["severity"]]
        if d["baseline_state"] is None:  # outside new-code mode
            del d["baseline_state"]
        path = d["path"]
        rel = rels.get(path)
        if rel is None:
            rel = rels[path] = _rel(path, root)
        d["path"] = rel
    return out


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


def check_to_json(
    check: CheckResult, workspace_root: Path, _rels: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "id": check.id,
        "status": check.status,
        "reason": check.reason,
        "passed": check.passed,
        "blocking": check.blocking,
        "score": check.score,
        "owner": check.owner,
        "findings": _findings_to_json(
            check.findings, {} if _rels is None else _rels, workspace_root
        ),
        **_new_code_json(check, workspace_root, _rels),
        # how the result was obtained (see phasegate.model.Evidence); None: not recorded
        "evidence": check.evidence.model_dump(mode="json") if check.evidence else None,
    }


def _new_code_json(
    check: CheckResult, workspace_root: Path, rels: dict[str, str] | None
) -> dict[str, Any]:
    """New-code mode only: the split of the findings, the whole-code verdict and the
    baseline findings gone (``absent``)."""
    if check.new_code is None:
        return {}
    return {
        "new_code": check.new_code.model_dump(mode="json"),
        "absent": _findings_to_json(check.absent, {} if rels is None else rels, workspace_root),
    }


def gates_to_json(workspace_root: Path, gates: list[GateResult]) -> dict[str, Any]:
    """The JSON document of ``phasegate validate --format json``."""
    rels: dict[str, str] = {}
    return {
        "workspace": str(workspace_root),
        "phases": [
            {
                "name": g.phase,
                "status": gate_status(g),
                "score": g.score,
                "threshold": g.threshold,
                "unknown": [c.id for c in g.unknown],
                "not_applicable": g.not_applicable,
                **({"new_code": g.new_code, "held": g.held} if g.new_code else {}),
                "checks": [check_to_json(c, workspace_root, rels) for c in g.checks],
            }
            for g in gates
        ],
    }


def dump_json(document: Any, *, pretty: bool) -> bytes:
    """``document`` as UTF-8 JSON (indented by 2 when ``pretty``), by pydantic's compiled
    encoder: for tens of thousands of findings it is many times faster than ``json``'s
    indenting encoder, which is pure Python. Text that is not valid Unicode (a file name
    undecodable in UTF-8) falls back to ``json``, which escapes it."""
    import pydantic_core

    try:
        return pydantic_core.to_json(document, indent=2 if pretty else None)
    except ValueError:
        import json

        if pretty:
            return json.dumps(document, indent=2).encode("ascii")
        return json.dumps(document, separators=(",", ":")).encode("ascii")
