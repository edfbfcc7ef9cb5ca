"""Baselines: the findings a workspace had when someone recorded them, as a SARIF file.

``phasegate baseline`` writes every finding of every gate to a committed file (default
``phasegate-baseline.sarif``; SARIF 2.1.0, so other tools read it too). Later runs in
new-code mode classify each finding as ``new`` (not in the baseline) or ``unchanged``,
and each baseline finding no longer found as ``absent`` — robust to lines moving:

* a finding's **fingerprint** is its check, file and message with digit runs blanked
  (``line 12 not covered`` and ``line 40 not covered`` are the same kind of finding), so
  a line moving or a count changing in the message does not make it new;
* its **context hash** is the hash of the text of its first line, whitespace-trimmed:
  among findings with the same fingerprint, those on an identical line are paired first;
  the rest pair up in order, so two copies of one warning where the baseline had one
  make one of them new.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phasegate.model import Finding, Range, Severity

DEFAULT_BASELINE = "phasegate-baseline.sarif"
FINGERPRINT_KEY = "phasegate/v1"
CONTEXT_KEY = "phasegate/context/v1"
_DIGITS = re.compile(r"\d+")


class BaselineError(Exception):
    """The baseline file cannot be read (missing, not SARIF, damaged)."""


def fingerprint(check: str, path: str, message: str) -> str:
    """Check, file and message (digit runs blanked): the same finding wherever it moved."""
    key = f"{check}|{path}|{_DIGITS.sub('#', message)}"
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def context_hash(line_text: str | None) -> str:
    """The hash of a finding's line, whitespace-trimmed ("" when the file is missing)."""
    if line_text is None:
        return ""
    return hashlib.sha1(" ".join(line_text.split()).encode()).hexdigest()[:16]


class LineReader:
    """The text of a workspace's lines, each file read once: what a finding's context
    hash is computed from (new-code mode, the SARIF writer, the GitLab report)."""

    def __init__(self, root: Path) -> None:
        from phasegate.workspace import Workspace

        self.workspace = Workspace(root)
        self._files: dict[str, list[str] | None] = {}

    def line(self, path: str, line: int) -> str | None:
        """Line ``line`` (0-based) of ``path``; None when the file or line is missing."""
        if path not in self._files:
            text = self.workspace.read_text(path)
            self._files[path] = None if text is None else text.splitlines()
        lines = self._files[path]
        if lines is None or not 0 <= line < len(lines):
            return None
        return lines[line]


@dataclass
class Entry:
    """One baseline finding."""

    phase: str
    check: str
    path: str
    message: str
    fingerprint: str
    context: str
    line: int = 0  # 0-based, where it was
    severity: Severity = Severity.WARNING

    def as_finding(self) -> Finding:
        return Finding(
            path=self.path,
            range=Range.lines(self.line),
            severity=self.severity,
            code=self.check,
            message=self.message,
            baseline_state="absent",
        )


@dataclass
class Baseline:
    """A baseline's findings by (phase, check)."""

    path: Path
    entries: dict[tuple[str, str], list[Entry]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.entries.values())

    def match(
        self, phase: str, check: str, findings: list[tuple[Finding, str]]
    ) -> tuple[list[bool], list[Entry]]:
        """Pair ``findings`` (each with its context hash) with the baseline's findings of
        ``(phase, check)``. Returns, per finding, whether it was in the baseline, and the
        baseline findings left unpaired (absent now)."""
        known = self.entries.get((phase, check), [])
        by_fp: dict[str, list[Entry]] = defaultdict(list)
        for e in known:
            by_fp[e.fingerprint].append(e)
        found = [False] * len(findings)
        fps = [fingerprint(check, f.path, f.message) for f, _ in findings]
        # first: same fingerprint on an identical line
        for i, (_f, ctx) in enumerate(findings):
            pool = by_fp.get(fps[i])
            if not pool:
                continue
            for j, e in enumerate(pool):
                if e.context == ctx:
                    found[i] = True
                    del pool[j]
                    break
        # then: same fingerprint, in order
        for i in range(len(findings)):
            if found[i]:
                continue
            pool = by_fp.get(fps[i])
            if pool:
                pool.pop(0)
                found[i] = True
        left = [e for pool in by_fp.values() for e in pool]
        return found, left


def _severity(level: str) -> Severity:
    return {"error": Severity.ERROR, "note": Severity.INFO, "none": Severity.HINT}.get(
        level, Severity.WARNING
    )


def load_baseline(path: Path) -> Baseline:
    """Read a baseline written by ``phasegate baseline`` (or any SARIF whose results
    carry phasegate's fingerprints). Raises :class:`BaselineError`."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BaselineError(
            f"baseline {path} does not exist: write it with `phasegate baseline`"
        ) from None
    except OSError as exc:
        raise BaselineError(f"cannot read the baseline {path}: {exc.strerror or exc}") from None
    try:
        doc = json.loads(raw)
        runs = doc["runs"]
        if not isinstance(runs, list):
            raise TypeError("runs is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise BaselineError(f"{path} is not a SARIF baseline ({exc})") from None
    out = Baseline(path=path)
    for run in runs:
        for res in (run or {}).get("results") or []:
            entry = _entry(res)
            if entry is not None:
                out.entries.setdefault((entry.phase, entry.check), []).append(entry)
    return out


def _entry(res: Any) -> Entry | None:
    if not isinstance(res, dict):
        return None
    if res.get("baselineState") == "absent" or res.get("kind", "fail") != "fail":
        return None  # a finding fixed since an earlier baseline: not one now
    suppressions = res.get("suppressions")
    if isinstance(suppressions, list) and any(
        isinstance(s, dict) and s.get("status", "accepted") == "accepted" for s in suppressions
    ):
        return None  # silenced by a comment (validate --include-suppressed): not a finding
    props = res.get("properties") or {}
    fps = res.get("partialFingerprints") or {}
    check = res.get("ruleId")
    locs = res.get("locations") or []
    try:
        phys = locs[0]["physicalLocation"]
        path = phys["artifactLocation"]["uri"]
        line = int((phys.get("region") or {}).get("startLine", 1)) - 1
    except (IndexError, KeyError, TypeError, ValueError):
        return None
    message = (res.get("message") or {}).get("text", "")
    if not isinstance(check, str) or not isinstance(path, str) or not isinstance(message, str):
        return None
    phase = props.get("phase", "") if isinstance(props, dict) else ""
    return Entry(
        phase=str(phase),
        check=check,
        path=path,
        message=message,
        fingerprint=str(fps.get(FINGERPRINT_KEY) or fingerprint(check, path, message)),
        context=str(fps.get(CONTEXT_KEY) or ""),
        line=max(0, line),
        severity=_severity(str(res.get("level", "warning"))),
    )
