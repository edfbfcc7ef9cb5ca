"""``phasegate validate --format gitlab``: a GitLab Code Quality report.

GitLab shows Code Quality findings in merge requests (the widget, and the changes view
on Ultimate) from a job artifact declared as ``artifacts:reports:codequality``. The
report is a JSON array of issues, a subset of the Code Climate specification; GitLab
documents these fields (https://docs.gitlab.com/ci/testing/code_quality/, "Code Quality
report format"):

========================  ============================================================
``description``           the finding's check id and message
``check_name``            the check id (``IMPL-LINT``, ``TEST-COVERAGE``...)
``fingerprint``           stable across runs (below): GitLab compares the fingerprints of
                          the merge request's report with the target branch's
``severity``              ``info``, ``minor``, ``major``, ``critical`` or ``blocker``
``location.path``         relative to the repository's top (GitLab links it), so a
                          workspace in a sub-folder of its repository gets that prefix
``location.lines.begin``  1-based line (``lines.end`` too when the finding spans lines)
========================  ============================================================

**Severity.** A finding that fails its gate by itself is ``blocker``: a finding of a
failed blocking check (a failing test), or in new-code mode a *new* finding of a
blocking severity (``[new_code] blocking``) of a check that holds its gate. Otherwise
error → ``major``, warning → ``minor``, information and hints → ``info``.

**Fingerprint.** The check's phase and the finding's baseline fingerprint (check, file
and message with digit runs blanked: :func:`phasegate.baseline.fingerprint`), the hash
of the text of its line (:func:`phasegate.baseline.context_hash`), and the occurrence
among findings sharing all of that. A line moving, or a count in the message changing,
keeps the fingerprint; two identical warnings in one file get two fingerprints (GitLab
shows findings with one fingerprint as one). Hashed with SHA-256, 32 hex digits.

**Checks that could not run** (their result is unknown) are reported too, so a gate
that fails because of one does not look clean in the merge request: one issue per check,
at line 1 of the configuration file (``phasegate.toml``, or ``pyproject.toml`` when the
configuration is there), ``critical`` for a blocking check and ``major`` otherwise.
Skipped and not-applicable checks, and baseline findings now gone (``absent``), are not
issues: GitLab finds fixed issues itself, by comparing reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from phasegate.baseline import LineReader, context_hash, fingerprint
from phasegate.model import CheckResult, Finding, GateResult, Severity

SEVERITIES = ("info", "minor", "major", "critical", "blocker")
_BY_SEVERITY = {
    Severity.ERROR: "major",
    Severity.WARNING: "minor",
    Severity.INFO: "info",
    Severity.HINT: "info",
}
DEFAULT_BLOCKING = frozenset({Severity.ERROR, Severity.WARNING})
DEFAULT_CONFIG_FILE = "phasegate.toml"


def repository_prefix(root: Path) -> str:
    """The workspace's path inside its repository (``""`` at the top, or outside any
    repository): the nearest folder holding ``.git`` (a folder, or a file in a
    worktree or submodule). Reads no git configuration and runs nothing."""
    root = Path(root).resolve()
    for parent in (root, *root.parents):
        if (parent / ".git").exists():
            rel = root.relative_to(parent).as_posix()
            return "" if rel == "." else rel + "/"
    return ""


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _severity(
    finding: Finding, check: CheckResult, gate: GateResult, blocking: frozenset[Severity]
) -> str:
    if check.blocking and check.status == "failed":
        return "blocker"
    if (
        check.id in gate.held
        and finding.baseline_state == "new"
        and Severity(finding.severity) in blocking
    ):
        return "blocker"
    return _BY_SEVERITY.get(Severity(finding.severity), "minor")


def _lines(finding: Finding) -> dict[str, int]:
    start, end = finding.range.start, finding.range.end
    begin = start.line + 1
    lines = {"begin": begin}
    # a range ending at the start of a line ends on the line before it
    last = end.line + 1 if end.character > 0 else end.line
    if last > begin:
        lines["end"] = last
    return lines


def _path(prefix: str, path: str) -> str:
    path = path.replace("\\", "/").lstrip("/")
    while path.startswith("./"):
        path = path[2:]
    return prefix + path


def _issues(
    gates: Iterable[GateResult],
    prefix: str,
    lines: LineReader,
    blocking: frozenset[Severity],
    config_file: str,
) -> list[dict[str, Any]]:
    issues: list[dict[str, Any]] = []
    seen: dict[str, int] = {}

    def unique(key: str) -> str:
        n = seen.get(key, 0)
        seen[key] = n + 1
        return _hash(f"{key}|{n}")

    for gate in gates:
        for check in gate.checks:
            if check.error is not None:
                issues.append(
                    {
                        "description": f"{check.id} could not run: its result is unknown "
                        f"({check.error})",
                        "check_name": check.id,
                        "fingerprint": unique(f"not-run|{gate.phase}|{check.id}"),
                        "severity": "critical" if check.blocking else "major",
                        "location": {"path": _path(prefix, config_file), "lines": {"begin": 1}},
                    }
                )
            for finding in check.findings:
                fp = fingerprint(finding.code, finding.path, finding.message)
                ctx = context_hash(lines.line(finding.path, finding.range.start.line))
                issues.append(
                    {
                        "description": f"{finding.code}: {finding.message}",
                        "check_name": finding.code,
                        "fingerprint": unique(f"{gate.phase}|{fp}|{ctx}"),
                        "severity": _severity(finding, check, gate, blocking),
                        "location": {
                            "path": _path(prefix, finding.path),
                            "lines": _lines(finding),
                        },
                    }
                )
    return issues


def gates_to_gitlab(
    workspace_root: Path,
    gates: list[GateResult],
    *,
    config_file: Path | None = None,
    blocking: Iterable[Severity | str] | None = None,
) -> list[dict[str, Any]]:
    """The GitLab Code Quality report (a JSON-ready list) of the findings of ``gates``.

    ``config_file``: the configuration file (checks that could not run are reported on
    it; default ``phasegate.toml``). ``blocking``: the severities of which a new finding
    holds its gate (``[new_code] blocking``, as severities or their names; default error
    and warning)."""
    root = Path(workspace_root).resolve()
    config_rel = DEFAULT_CONFIG_FILE
    if config_file is not None:
        try:
            config_rel = Path(config_file).resolve().relative_to(root).as_posix()
        except ValueError:
            config_rel = Path(config_file).name
    severities = DEFAULT_BLOCKING
    if blocking is not None:
        severities = frozenset(
            b if isinstance(b, Severity) else Severity[b.upper()] for b in blocking
        )
    return _issues(gates, repository_prefix(root), LineReader(root), severities, config_rel)
