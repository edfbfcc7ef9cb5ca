"""Gate results as a SARIF 2.1.0 log (``phasegate validate --format sarif``).

One run, tool driver ``phasegate``: one rule per check (id, descriptions, and ``helpUri``
when the check's docs are on the web), one result per finding with its level, message, location (URI
relative to ``%SRCROOT%``, 1-based region) and fix. Code-scanning services (GitHub,
GitLab, Azure DevOps) show the results inline on pull requests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from phasegate import __version__
from phasegate.checks.base import Check, UnknownCheck, get_check_class
from phasegate.model import CheckResult, Finding, GateResult, Range, Severity

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
INFORMATION_URI = "https://phasegate.readthedocs.io/"
END_OF_LINE = 10_000  # Range.lines' "to the end of the line"

LEVELS = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "note",
    Severity.HINT: "note",
}


def _uri(path: str) -> str:
    return quote(path.strip("/"), safe="/")


def _region(rng: Range, *, exact: bool = False) -> dict[str, int]:
    """SARIF region (1-based lines and columns, end column exclusive)."""
    region = {
        "startLine": rng.start.line + 1,
        "startColumn": rng.start.character + 1,
    }
    whole_line_end = rng.end.character >= END_OF_LINE
    if rng.end.line != rng.start.line or not whole_line_end or exact:
        region["endLine"] = max(rng.end.line, rng.start.line) + 1
    if exact or not whole_line_end:
        region["endColumn"] = rng.end.character + 1
    return region


def _check_class(check_id: str) -> type[Check] | None:
    try:
        return get_check_class(check_id)
    except UnknownCheck:
        return None


def _rule(result: CheckResult) -> dict[str, Any]:
    cls = _check_class(result.id)
    title = (cls.title if cls and cls.title else "") or result.id
    description = (cls.description if cls and cls.description else "") or title
    help_uri = cls.docs_url(result.id) if cls else Check.docs_url(result.id)
    rule: dict[str, Any] = {
        "id": result.id,
        "name": "".join(part.capitalize() for part in result.id.replace("_", "-").split("-")),
        "shortDescription": {"text": title},
        "fullDescription": {"text": description},
        "help": {"text": description},
        "defaultConfiguration": {"level": "error" if result.blocking else "warning"},
        "properties": {"phase": result.phase, "owner": result.owner, "blocking": result.blocking},
    }
    # A SARIF viewer opens helpUri on another machine: only a web address makes sense there
    # (the built-in checks link to the reference installed with phasegate, a file).
    if help_uri.startswith(("https://", "http://")):
        rule["helpUri"] = help_uri
        rule["help"]["text"] = f"{description}\nSee {help_uri}"
    return rule


def _location(path: str, rng: Range) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(path), "uriBaseId": SRCROOT},
            "region": _region(rng),
        }
    }


def _fix(finding: Finding) -> dict[str, Any] | None:
    if finding.fix is None or not finding.fix.edits:
        return None
    by_path: dict[str, list[dict[str, Any]]] = {}
    for edit in finding.fix.edits:
        by_path.setdefault(edit.path, []).append(
            {
                "deletedRegion": _region(edit.range, exact=True),
                "insertedContent": {"text": edit.new_text},
            }
        )
    return {
        "description": {"text": finding.fix.title},
        "artifactChanges": [
            {"artifactLocation": {"uri": _uri(p), "uriBaseId": SRCROOT}, "replacements": reps}
            for p, reps in by_path.items()
        ],
    }


def _result(finding: Finding, rule_index: int, check: CheckResult) -> dict[str, Any]:
    res: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": LEVELS.get(finding.severity, "warning"),
        "message": {"text": finding.message},
        "locations": [_location(finding.path, finding.range)],
        "partialFingerprints": {"phasegateFindingId/v1": finding.id},
        "properties": {"phase": check.phase, "owner": finding.owner or check.owner},
    }
    if finding.missing_file:
        res["properties"]["missingFile"] = True
    fix = _fix(finding)
    if fix is not None:
        res["fixes"] = [fix]
    return res


def gates_to_sarif(workspace_root: Path, gates: list[GateResult]) -> dict[str, Any]:
    """A SARIF 2.1.0 log (as a JSON-ready dict) of the findings of ``gates``."""
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    for gate in gates:
        for check in gate.checks:
            if check.id not in index:
                index[check.id] = len(rules)
                rules.append(_rule(check))
            if check.error:
                notifications.append(
                    {
                        "level": "error",
                        "message": {"text": f"{check.id}: could not run: {check.error}"},
                        "descriptor": {"id": check.id, "index": index[check.id]},
                    }
                )
            elif check.not_applicable:
                notifications.append(
                    {
                        "level": "note",
                        "message": {"text": f"{check.id}: not applicable: {check.not_applicable}"},
                        "descriptor": {"id": check.id, "index": index[check.id]},
                    }
                )
            for finding in check.findings:
                if finding.code not in index:
                    index[finding.code] = len(rules)
                    rules.append(_rule(check.model_copy(update={"id": finding.code})))
                results.append(_result(finding, index[finding.code], check))
    root_uri = Path(workspace_root).resolve().as_uri().rstrip("/") + "/"
    gate_props = [
        {"phase": g.phase, "score": g.score, "threshold": g.threshold, "passed": g.passed}
        for g in gates
    ]
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "phasegate",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": root_uri}},
                "columnKind": "unicodeCodePoints",
                "invocations": [
                    {
                        "executionSuccessful": not any(
                            n["level"] == "error" for n in notifications
                        ),
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
                "properties": {"gates": gate_props},
            }
        ],
    }
