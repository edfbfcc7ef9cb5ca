"""``phasegate validate --format junit``: the gates as JUnit XML.

CI services show JUnit XML as test results (GitLab's ``artifacts:reports:junit``, Jenkins,
Azure Pipelines, GitHub actions that publish test reports). The document is
``<testsuites name="phasegate">`` with:

* one ``<testsuite>`` per validated phase (``name`` the phase), whose ``<properties>``
  hold the gate's ``score``, ``threshold`` and ``passed`` (and in new-code mode
  ``new_code``, what new code was judged against, and ``held``);
* one ``<testcase>`` per check of the gate (``classname`` ``phasegate.<phase>``,
  ``name`` the check id, ``time`` its seconds):

  - a failed check has a ``<failure>`` whose ``message`` says how many findings (new ones
    in new-code mode) and whose text lists them as ``path:line:col: CODE message``;
  - a check that could not run has an ``<error>`` (its result is unknown, never a pass);
  - a check skipped in an untrusted workspace or with nothing to judge here is
    ``<skipped>``, with the reason;
  - a passing check that still reported findings (non-blocking ones, inherited ones in
    new-code mode) lists them in ``<system-out>``;

* one more ``<testcase name="gate">`` per phase, failing when the gate fails, with why
  (score below threshold, a blocking check failed, new findings hold it, a check could
  not run): a gate can fail on its score alone, with every failed check non-blocking.

Counts (``tests``, ``failures``, ``errors``, ``skipped``) are given on every suite, and
on ``<testsuites>`` all but ``skipped``, which the common JUnit schema (Jenkins',
also used by pytest's tests) does not allow there. Times have at most 3 decimals, as
that schema requires. Characters XML 1.0 cannot carry (control characters in a test's
output, undecodable file names) are written as ``\\xNN`` escapes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from phasegate.model import CheckResult, Finding, GateResult

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_STATE_TAG = {"new": " (new)", "unchanged": " (unchanged)", "absent": " (fixed)"}
_STATE_ORDER = {"new": 0, "unchanged": 1, "absent": 2}
SUITES_NAME = "phasegate"


def _clean(text: str) -> str:
    """``text`` with what XML 1.0 cannot hold escaped as ``\\xNN`` (``\\uNNNN``)."""

    def esc(m: re.Match[str]) -> str:
        c = ord(m.group())
        return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"

    return _INVALID_XML.sub(esc, text)


def _time(seconds: float) -> str:
    return f"{max(seconds, 0.0):.3f}"


def _finding_line(finding: Finding) -> str:
    start = finding.range.start
    loc = f"{finding.path}:{start.line + 1}:{start.character + 1}"
    tag = _STATE_TAG.get(finding.baseline_state or "", "")
    return f"{loc}: {finding.code} {finding.message}{tag}"


def _listed(check: CheckResult) -> list[Finding]:
    """The findings to list: in new-code mode new first, then unchanged, then fixed."""
    if check.new_code is None:
        return list(check.findings)
    both = [*check.findings, *check.absent]
    return sorted(both, key=lambda f: _STATE_ORDER.get(f.baseline_state or "", 0))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _failure_message(check: CheckResult) -> str:
    if check.new_code is not None:
        nc = check.new_code
        msg = f"{_plural(nc.new, 'new finding')} ({nc.unchanged} unchanged)"
        if nc.note:
            msg += f": {nc.note}"
        return msg
    if check.findings:
        return f"{_plural(len(check.findings), 'finding')} (score {check.score:.2f})"
    return f"failed (score {check.score:.2f})"


def _text(findings: Iterable[Finding], head: str = "") -> str:
    lines = [head] if head else []
    lines.extend(_finding_line(f) for f in findings)
    return _clean("\n".join(lines))


def _testcase(parent: ET.Element, gate: GateResult, check: CheckResult) -> str:
    """Add the check's test case; returns its outcome (passed/failure/error/skipped)."""
    case = ET.SubElement(
        parent,
        "testcase",
        classname=_clean(f"{SUITES_NAME}.{gate.phase}"),
        name=_clean(check.id),
        time=_time(check.duration_s),
    )
    status = check.status
    if status == "error":
        el = ET.SubElement(case, "error", type="could-not-run", message=_clean(check.error or ""))
        el.text = _clean(f"{check.id} could not run: its result is unknown.\n{check.error}")
        return "error"
    if status in ("skipped", "not_applicable"):
        reason = check.reason or status
        label = "skipped" if status == "skipped" else "not applicable"
        ET.SubElement(case, "skipped", type=status, message=_clean(f"{label}: {reason}"))
        return "skipped"
    findings = _listed(check)
    if status == "failed":
        message = _failure_message(check)
        el = ET.SubElement(case, "failure", type=_clean(check.id), message=_clean(message))
        head = "blocking check: its failure fails the gate" if check.blocking else ""
        el.text = _text(findings, head) or _clean(message)
        return "failure"
    if findings:
        ET.SubElement(case, "system-out").text = _text(findings)
    return "passed"


def _gate_failure(gate: GateResult) -> str:
    """Why the gate failed, in one line."""
    why: list[str] = []
    if gate.score < gate.threshold:
        why.append(f"score {gate.score:.2f} below threshold {gate.threshold:.2f}")
    if gate.blocking_failed:
        why.append(f"blocking check failed: {', '.join(gate.blocking_failed)}")
    if gate.held:
        why.append(f"new findings hold it: {', '.join(gate.held)}")
    unknown = [c.id for c in gate.unknown]
    if unknown:
        why.append(f"could not run: {', '.join(unknown)}")
    return "; ".join(why) or f"gate failed (score {gate.score:.2f}, threshold {gate.threshold:.2f})"


def _suite(parent: ET.Element, gate: GateResult) -> dict[str, int]:
    suite = ET.SubElement(parent, "testsuite", name=_clean(gate.phase))
    props = ET.SubElement(suite, "properties")
    values = {
        "score": f"{gate.score:.4f}",
        "threshold": f"{gate.threshold:.4f}",
        "passed": "true" if gate.passed else "false",
    }
    if gate.new_code is not None:
        values["new_code"] = gate.new_code
        values["held"] = ",".join(gate.held)
    for name, value in values.items():
        ET.SubElement(props, "property", name=name, value=_clean(value))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    outcome_key = {"failure": "failures", "error": "errors", "skipped": "skipped"}
    for check in gate.checks:
        outcome = _testcase(suite, gate, check)
        counts["tests"] += 1
        if outcome in outcome_key:
            counts[outcome_key[outcome]] += 1
    case = ET.SubElement(
        suite,
        "testcase",
        classname=_clean(f"{SUITES_NAME}.{gate.phase}"),
        name="gate",
        time=_time(gate.duration_s),
    )
    counts["tests"] += 1
    verdict = f"score {gate.score:.2f}, threshold {gate.threshold:.2f}"
    if not gate.passed:
        el = ET.SubElement(case, "failure", type="gate", message=_clean(_gate_failure(gate)))
        failed = ", ".join(c.id for c in gate.failed_checks) or "none"
        why = _gate_failure(gate)
        el.text = _clean(f"{gate.phase} gate failed: {why}\nfailed checks: {failed}")
        counts["failures"] += 1
    else:
        ET.SubElement(case, "system-out").text = _clean(f"{gate.phase} gate passed: {verdict}")
    for key in ("tests", "failures", "errors", "skipped"):
        suite.set(key, str(counts[key]))
    suite.set("time", _time(gate.duration_s))
    return counts


def gates_to_junit(gates: list[GateResult], *, pretty: bool = False) -> bytes:
    """The JUnit XML document (UTF-8, with its XML declaration) of ``gates``."""
    root = ET.Element("testsuites", name=SUITES_NAME)
    total = {"tests": 0, "failures": 0, "errors": 0}
    for gate in gates:
        counts = _suite(root, gate)
        for key in total:
            total[key] += counts[key]
    for key, value in total.items():
        root.set(key, str(value))
    root.set("time", _time(sum(g.duration_s for g in gates)))
    if pretty:
        ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body
