"""Gate results as a SARIF 2.1.0 log (``phasegate validate --format sarif``, and the
baseline file ``phasegate baseline`` writes).

One run, tool driver ``phasegate``: one rule per check (id, descriptions, and ``helpUri``:
the check's section of the documentation, :meth:`phasegate.checks.base.Check.docs_url`),
one result per finding with its level, message, location (URI relative to ``%SRCROOT%``,
1-based region) and fix. Code-scanning services (GitHub, GitLab, Azure DevOps) show the
results inline on pull requests.

Every result carries ``partialFingerprints``: phasegate's finding id, and the baseline
fingerprint and context hash of :mod:`phasegate.baseline` (what a baseline is matched
by: check, file and message with digits blanked; the text of the finding's first line).
In new-code mode (:mod:`phasegate.newcode`) each result has a ``baselineState``
(``new`` or ``unchanged``), and each baseline finding now gone is listed as a result
with ``baselineState: "absent"`` (and ``kind: "pass"``, so a consumer that ignores
baseline states does not count a fixed finding as a problem).

Findings silenced by a suppression comment (``phasegate: ignore[ID]``), when the gates
carry them (``validate --format sarif --include-suppressed``: the runner's
``keep_suppressed``), are results too, with ``suppressions``: one ``{"kind": "inSource",
"status": "accepted", "justification": <the comment>, "location": <its line>}``. They
count in no gate, are left out of ``newCodeCounts``, and a baseline never takes them for
findings (:func:`phasegate.baseline.load_baseline`).

The one invocation says how the results were obtained: ``executionSuccessful`` is false
when a check could not run or timed out; a notification names each check that could not
run, was skipped (untrusted workspace) or had nothing to judge; ``properties.checks``
holds each check's evidence (how it ran, the commands, exit codes, tool version, inputs
hash). The workspace's commit (and whether it had uncommitted changes) is in the run's
properties, and in ``versionControlProvenance`` too when the repository's address is
known (its ``origin`` remote, credentials removed): SARIF requires one there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from phasegate import __version__
from phasegate.baseline import CONTEXT_KEY, FINGERPRINT_KEY, LineReader, context_hash, fingerprint
from phasegate.checks.base import Check, UnknownCheck, get_check_class
from phasegate.model import CheckResult, Finding, GateResult, Range, Severity

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
INFORMATION_URI = "https://phasegate.readthedocs.io/"
END_OF_LINE = 10_000  # Range.lines' "to the end of the line"
FINDING_ID_KEY = "phasegateFindingId/v1"
GIT_TIMEOUT = 10.0

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
        "helpUri": help_uri,
        "defaultConfiguration": {"level": "error" if result.blocking else "warning"},
        "properties": {"phase": result.phase, "owner": result.owner, "blocking": result.blocking},
    }
    # The built-in checks link to the documentation site when PHASEGATE_DOCS_URL names it,
    # else to the rendered reference installed with phasegate: a file:// address, which
    # opens where the log was made (a viewer elsewhere still has the help text).
    if help_uri.startswith(("https://", "http://")):
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


def _fingerprints(finding: Finding, lines: LineReader) -> dict[str, str]:
    return {
        FINDING_ID_KEY: finding.id,
        FINGERPRINT_KEY: fingerprint(finding.code, finding.path, finding.message),
        CONTEXT_KEY: context_hash(lines.line(finding.path, finding.range.start.line)),
    }


def _result(
    finding: Finding,
    rule_index: int,
    check: CheckResult,
    lines: LineReader,
    *,
    new_code: bool = False,
) -> dict[str, Any]:
    level = LEVELS.get(finding.severity, "warning")
    res: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": level,
        "message": {"text": finding.message},
        "locations": [_location(finding.path, finding.range)],
        "partialFingerprints": _fingerprints(finding, lines),
        "properties": {"phase": check.phase, "owner": finding.owner or check.owner},
    }
    if new_code and finding.baseline_state is not None:
        res["baselineState"] = finding.baseline_state
        if finding.baseline_state == "absent":
            # fixed: no longer a problem for a consumer that ignores baseline states
            # (a result whose kind is not "fail" has level "none"); the level it had
            # is kept in the properties
            res["kind"] = "pass"
            res["level"] = "none"
            res["properties"]["baselineLevel"] = level
    if finding.missing_file:
        res["properties"]["missingFile"] = True
    fix = _fix(finding)
    if fix is not None and finding.baseline_state != "absent":
        res["fixes"] = [fix]
    return res


class _Texts:
    """The text of workspace files, each read once (None: unreadable)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._texts: dict[str, str | None] = {}

    def get(self, path: str) -> str | None:
        if path not in self._texts:
            try:
                data = (self.root / path).read_bytes()
                self._texts[path] = data.decode("utf-8", "replace")
            except (OSError, ValueError):
                self._texts[path] = None
        return self._texts[path]


def _suppression(finding: Finding, texts: _Texts) -> dict[str, Any]:
    """SARIF's ``suppression`` of a finding a comment silenced: in the source, accepted,
    the comment as its justification and its line as its location."""
    from phasegate.suppress import comment_text, covering

    out: dict[str, Any] = {"kind": "inSource", "status": "accepted"}
    text = texts.get(finding.path)
    found = (
        covering(finding.path, text, finding.code, finding.range.start.line)
        if text is not None
        else None
    )
    if text is not None and found is not None:
        out["justification"] = comment_text(text, found)
        out["location"] = _location(
            finding.path, Range.span(found.line, found.col, found.line, found.end)
        )
    return out


def _suppressed_result(
    finding: Finding, rule_index: int, check: CheckResult, lines: LineReader, texts: _Texts
) -> dict[str, Any]:
    res = _result(finding, rule_index, check, lines)
    res["suppressions"] = [_suppression(finding, texts)]
    return res


# -- evidence ---------------------------------------------------------------------------
def _how(check: CheckResult) -> str:
    if check.evidence is not None:
        return check.evidence.how
    if check.error is not None:
        return "not_run"
    if check.skipped is not None:
        return "skipped"
    return "cached" if check.cached else "ran"


def _check_evidence(check: CheckResult) -> dict[str, Any]:
    ev = check.evidence
    return {
        "id": check.id,
        "phase": check.phase,
        "status": check.status,
        "how": _how(check),
        "rule": ev.rule if ev is not None else "",
        "commands": [list(c) for c in ev.commands] if ev is not None else [],
        "exitCodes": list(ev.exit_codes) if ev is not None else [],
        "toolVersion": ev.tool_version if ev is not None else None,
        "durationS": round(ev.duration_s if ev is not None else check.duration_s, 3),
        "inputsHash": ev.inputs_hash if ev is not None else None,
        "timedOut": bool(ev is not None and ev.timed_out),
    }


def _notification(level: str, text: str, check: CheckResult, rule_index: int) -> dict[str, Any]:
    return {
        "level": level,
        "message": {"text": text},
        # descriptor: read by consumers of earlier phasegate logs (by id only: its index
        # would point into the driver's notification descriptors, which there are none of)
        "descriptor": {"id": check.id},
        "associatedRule": {"id": check.id, "index": rule_index},
        "properties": {"phase": check.phase},
    }


def _notifications(check: CheckResult, rule_index: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    timed_out = check.evidence is not None and check.evidence.timed_out
    if check.error:
        out.append(
            _notification("error", f"{check.id}: could not run: {check.error}", check, rule_index)
        )
    elif timed_out:
        out.append(_notification("error", f"{check.id}: timed out", check, rule_index))
    elif check.skipped:
        text = f"{check.id}: skipped, did not run: {check.skipped}"
        out.append(_notification("note", text, check, rule_index))
    elif check.not_applicable:
        text = f"{check.id}: not applicable: {check.not_applicable}"
        out.append(_notification("note", text, check, rule_index))
    return out


def _public_uri(url: str) -> str | None:
    """A remote's address as an absolute URI without credentials; None when it is none."""
    url = url.strip()
    if not url or any(c.isspace() for c in url):
        return None
    scp = re.fullmatch(r"(?:([^@/:]+)@)?([^@/:]+):(?!//)(.+)", url)
    if scp and "://" not in url and len(scp.group(2)) > 1:  # git@host:owner/repo.git
        user = f"{scp.group(1)}@" if scp.group(1) else ""
        return f"ssh://{user}{scp.group(2)}/{scp.group(3).lstrip('/')}"
    if url.startswith("/"):
        return Path(url).as_uri()
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if parts.scheme == "file":
        return urlunsplit(("file", "", parts.path, "", "")) if parts.path else None
    if not parts.scheme or not host:
        return None
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None:
        netloc += f":{port}"
    # a user name is kept for ssh (it names the account); on the web it may be a token
    if parts.username and parts.scheme not in ("http", "https"):
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def repository_uri(root: Path) -> str | None:
    """The address of the repository ``root`` is in (its ``origin`` remote), without
    credentials; None when there is none or git cannot tell. Runs git once, reading
    only configuration."""
    from phasegate.changes import SAFE_GIT
    from phasegate.proc import run_tool

    res = run_tool(
        ["git", *SAFE_GIT, "config", "--get", "remote.origin.url"],
        cwd=root,
        timeout=GIT_TIMEOUT,
        env={"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
    )
    if not res.ok:
        return None
    return _public_uri(res.stdout)


def _gate_properties(gate: GateResult) -> dict[str, Any]:
    props: dict[str, Any] = {
        "phase": gate.phase,
        "score": gate.score,
        "threshold": gate.threshold,
        "passed": gate.passed,
    }
    if gate.new_code is not None:
        props["newCode"] = gate.new_code
        props["held"] = list(gate.held)
    return props


def gates_to_sarif(workspace_root: Path, gates: list[GateResult]) -> dict[str, Any]:
    """A SARIF 2.1.0 log (as a JSON-ready dict) of the findings of ``gates``."""
    root = Path(workspace_root).resolve()
    lines = LineReader(root)
    texts = _Texts(root)
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    evidence: list[dict[str, Any]] = []
    counts = {"new": 0, "unchanged": 0, "absent": 0}
    unsuccessful = False
    commit: str | None = None
    dirty: bool | None = None

    def rule_index(check: CheckResult, code: str) -> int:
        if code not in index:
            index[code] = len(rules)
            rules.append(
                _rule(check if code == check.id else check.model_copy(update={"id": code}))
            )
        return index[code]

    for gate in gates:
        new_code = gate.new_code is not None
        for check in gate.checks:
            ri = rule_index(check, check.id)
            notifications.extend(_notifications(check, ri))
            ev = check.evidence
            unsuccessful |= check.error is not None or (ev is not None and ev.timed_out)
            evidence.append(_check_evidence(check))
            if ev is not None and ev.commit and commit is None:
                commit, dirty = ev.commit, ev.dirty
            for finding in check.findings:
                results.append(
                    _result(
                        finding, rule_index(check, finding.code), check, lines, new_code=new_code
                    )
                )
                if new_code and finding.baseline_state in ("new", "unchanged"):
                    counts[finding.baseline_state] += 1
            if new_code:
                for finding in check.absent:
                    gone = finding.model_copy(update={"baseline_state": "absent"})
                    results.append(
                        _result(gone, rule_index(check, gone.code), check, lines, new_code=True)
                    )
                    counts["absent"] += 1
            for finding in check.suppressed:
                results.append(
                    _suppressed_result(
                        finding, rule_index(check, finding.code), check, lines, texts
                    )
                )
    root_uri = root.as_uri().rstrip("/") + "/"
    run_props: dict[str, Any] = {"gates": [_gate_properties(g) for g in gates]}
    label = next((g.new_code for g in gates if g.new_code is not None), None)
    if label is not None:
        run_props["newCode"] = label
        run_props["newCodeCounts"] = counts
    run: dict[str, Any] = {
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
                "executionSuccessful": not unsuccessful,
                "toolExecutionNotifications": notifications,
                "properties": {"checks": evidence},
            }
        ],
        "results": results,
        "properties": run_props,
    }
    if commit is not None:
        run_props["commit"] = commit
        if dirty is not None:
            run_props["dirty"] = dirty
        repo = repository_uri(root)
        if repo is not None:
            run["versionControlProvenance"] = [{"repositoryUri": repo, "revisionId": commit}]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
