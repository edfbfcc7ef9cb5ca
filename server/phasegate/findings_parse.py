"""Turning tool output into findings: SARIF 2.1.0, a JSON list, or ``path:line:col: message``.

Every parser gives findings with workspace-relative POSIX paths and 0-based LSP ranges.
Tool positions are 1-based (SARIF, the JSON list, the line format) and converted here.
Findings about files outside the workspace are dropped.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from phasegate.model import Finding, Fix, Position, Range, Severity, TextEdit
from phasegate.workspace import PathOutsideWorkspace, Workspace

END_OF_LINE = 10_000  # "to the end of the line", as Range.lines uses

SEVERITY_WORDS: dict[str, Severity] = {
    "error": Severity.ERROR,
    "fatal": Severity.ERROR,
    "critical": Severity.ERROR,
    "warning": Severity.WARNING,
    "warn": Severity.WARNING,
    "note": Severity.INFO,
    "info": Severity.INFO,
    "information": Severity.INFO,
    "hint": Severity.HINT,
    "none": Severity.HINT,
    "style": Severity.HINT,
}


class ParseError(ValueError):
    """The tool's output is not in the announced format."""


@dataclass
class Parsed:
    """What a parser found: findings inside the workspace, and how many were dropped."""

    findings: list[Finding] = field(default_factory=list)
    dropped: int = 0  # results about files outside the workspace (or with no file)


@dataclass
class FindingMaker:
    """Fills in what every finding of one check shares."""

    workspace: Workspace
    code: str
    owner: str = ""
    default_severity: Severity = Severity.WARNING
    base_dir: Path | None = None  # relative tool paths are relative to this (default: root)

    def relpath(self, raw: str) -> str | None:
        """Workspace-relative path of a tool's path or ``file://`` URI; None if outside."""
        raw = raw.strip()
        if not raw:
            return None
        if raw.startswith("file:"):
            parsed = urlparse(raw)
            raw = unquote(parsed.path)
        base = self.base_dir or self.workspace.root
        p = Path(raw)
        if not p.is_absolute():
            p = base / p
        try:
            rel = self.workspace.relpath(os.path.normpath(p))
        except (PathOutsideWorkspace, OSError):
            return None
        return None if rel in ("", ".") else rel

    def make(
        self,
        path: str,
        message: str,
        range: Range,
        severity: Severity | None = None,
        fix: Fix | None = None,
    ) -> Finding:
        return Finding(
            path=path,
            range=range,
            severity=self.default_severity if severity is None else severity,
            code=self.code,
            message=message,
            owner=self.owner,
            fix=fix,
        )


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return None


def range_1based(
    line: int | None,
    column: int | None = None,
    end_line: int | None = None,
    end_column: int | None = None,
) -> Range:
    """LSP range from 1-based positions (end column exclusive, as SARIF and ruff use).

    No column: the whole line. No end: from the column to the end of the line.
    """
    sl = max(0, (line or 1) - 1)
    sc = max(0, (column or 1) - 1)
    if end_line is None and end_column is None:
        return Range.span(sl, sc, sl, END_OF_LINE)
    el = max(sl, (end_line or (sl + 1)) - 1)
    ec = END_OF_LINE if end_column is None else max(0, end_column - 1)
    if el == sl and ec < sc:
        ec = sc
    return Range.span(sl, sc, el, ec)


def severity_of(word: Any, default: Severity) -> Severity:
    if isinstance(word, str):
        return SEVERITY_WORDS.get(word.strip().lower(), default)
    return default


# --------------------------------------------------------------------------------------
# SARIF 2.1.0
# --------------------------------------------------------------------------------------


def _sarif_message(obj: Mapping[str, Any] | None, rule: Mapping[str, Any] | None) -> str:
    text = ""
    if isinstance(obj, Mapping):
        text = str(obj.get("text") or obj.get("markdown") or "")
        msg_id = obj.get("id")
        if not text and msg_id and isinstance(rule, Mapping):
            strings = rule.get("messageStrings") or {}
            entry = strings.get(msg_id) if isinstance(strings, Mapping) else None
            if isinstance(entry, Mapping):
                text = str(entry.get("text") or "")
                for i, arg in enumerate(obj.get("arguments") or []):
                    text = text.replace("{" + str(i) + "}", str(arg))
    if not text and isinstance(rule, Mapping):
        sd = rule.get("shortDescription")
        if isinstance(sd, Mapping):
            text = str(sd.get("text") or "")
    return text.strip() or "(no message)"


def _sarif_uri(loc: Mapping[str, Any], base_ids: Mapping[str, str]) -> str | None:
    uri = loc.get("uri")
    if not isinstance(uri, str) or not uri:
        return None
    base_id = loc.get("uriBaseId")
    if base_id and not uri.startswith("file:") and not uri.startswith("/"):
        base = base_ids.get(str(base_id))
        if base:
            return base.rstrip("/") + "/" + uri
    return uri


def _offset_to_position(text: str, offset: int) -> Position:
    before = text[: max(0, offset)]
    line = before.count("\n")
    return Position(line=line, character=len(before) - (before.rfind("\n") + 1))


def _sarif_region(region: Mapping[str, Any] | None, maker: FindingMaker, path: str) -> Range | None:
    if not isinstance(region, Mapping):
        return None
    start = _int(region.get("startLine"))
    if start is not None:
        return range_1based(
            start,
            _int(region.get("startColumn")),
            _int(region.get("endLine")),
            _int(region.get("endColumn")),
        )
    offset = _int(region.get("charOffset"))
    if offset is not None:
        text = maker.workspace.read_text(path)
        if text is None:
            return None
        length = _int(region.get("charLength")) or 0
        return Range(
            start=_offset_to_position(text, offset),
            end=_offset_to_position(text, offset + length),
        )
    return None


def _sarif_fix(
    fix: Mapping[str, Any], maker: FindingMaker, base_ids: Mapping[str, str]
) -> Fix | None:
    edits: list[TextEdit] = []
    for change in fix.get("artifactChanges") or []:
        if not isinstance(change, Mapping):
            return None
        raw = _sarif_uri(change.get("artifactLocation") or {}, base_ids)
        path = maker.relpath(raw) if raw else None
        if path is None:
            return None
        for rep in change.get("replacements") or []:
            if not isinstance(rep, Mapping):
                return None
            region = dict(rep.get("deletedRegion") or {})
            if "startLine" in region and "endColumn" not in region and "startColumn" in region:
                # an insertion point: empty range at the start column
                region["endLine"] = region.get("endLine", region["startLine"])
                region["endColumn"] = region["startColumn"]
            rng = _sarif_region(region, maker, path)
            if rng is None:
                return None
            inserted = rep.get("insertedContent") or {}
            new_text = str(inserted.get("text") or "") if isinstance(inserted, Mapping) else ""
            edits.append(TextEdit(path=path, range=rng, new_text=new_text))
    if not edits:
        return None
    desc = fix.get("description")
    title = str(desc.get("text") or "") if isinstance(desc, Mapping) else ""
    return Fix(title=title or "Apply the tool's fix", edits=edits)


def parse_sarif(data: Any, maker: FindingMaker) -> Parsed:
    """Findings from a SARIF 2.1.0 log (a parsed dict, or its JSON text)."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ParseError(f"not SARIF: invalid JSON ({exc})") from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("runs"), list):
        raise ParseError("not SARIF: no `runs` list")
    out = Parsed()
    for run in data["runs"]:
        if not isinstance(run, Mapping):
            continue
        base_ids: dict[str, str] = {}
        for name, spec in (run.get("originalUriBaseIds") or {}).items():
            if isinstance(spec, Mapping) and isinstance(spec.get("uri"), str):
                base_ids[str(name)] = spec["uri"]
        driver = (run.get("tool") or {}).get("driver") or {}
        rules = [r for r in driver.get("rules") or [] if isinstance(r, Mapping)]
        by_id = {str(r.get("id")): r for r in rules if r.get("id")}
        for res in run.get("results") or []:
            if not isinstance(res, Mapping):
                continue
            if res.get("kind") not in (None, "fail"):
                continue  # pass / notApplicable / informational-kind results
            if res.get("suppressions"):
                continue
            rule_id = res.get("ruleId") or (res.get("rule") or {}).get("id")
            rule: Mapping[str, Any] | None = by_id.get(str(rule_id)) if rule_id else None
            if rule is None:
                idx = _int(res.get("ruleIndex", (res.get("rule") or {}).get("index")))
                if idx is not None and 0 <= idx < len(rules):
                    rule = rules[idx]
                    rule_id = rule_id or rule.get("id")
            level = res.get("level")
            if level is None and rule is not None:
                level = (rule.get("defaultConfiguration") or {}).get("level")
            severity = severity_of(level or "warning", maker.default_severity)
            message = _sarif_message(res.get("message"), rule)
            if rule_id:
                message = f"{message} [{rule_id}]"
            locations = [x for x in res.get("locations") or [] if isinstance(x, Mapping)]
            phys = (locations[0].get("physicalLocation") or {}) if locations else {}
            raw = _sarif_uri(phys.get("artifactLocation") or {}, base_ids) if phys else None
            path = maker.relpath(raw) if raw else None
            if path is None:
                out.dropped += 1
                continue
            rng = _sarif_region(phys.get("region"), maker, path) or Range.lines(0)
            fix = None
            for f in res.get("fixes") or []:
                if isinstance(f, Mapping):
                    fix = _sarif_fix(f, maker, base_ids)
                    if fix is not None:
                        break
            out.findings.append(maker.make(path, message, rng, severity, fix))
    return out


# --------------------------------------------------------------------------------------
# JSON list
# --------------------------------------------------------------------------------------


def parse_json_list(data: Any, maker: FindingMaker) -> Parsed:
    """Findings from ``[{path, line, column, end_line, end_column, message, severity}]``.

    Lines and columns are 1-based; ``file`` is accepted for ``path``, and a top-level
    object with a ``findings`` list is unwrapped.
    """
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data) if str(data).strip() else []
        except ValueError as exc:
            raise ParseError(f"not a JSON list: {exc}") from exc
    if isinstance(data, Mapping) and isinstance(data.get("findings"), list):
        data = data["findings"]
    if not isinstance(data, list):
        raise ParseError("not a JSON list of findings")
    out = Parsed()
    for item in data:
        if not isinstance(item, Mapping):
            continue
        raw = item.get("path", item.get("file", item.get("filename")))
        path = maker.relpath(str(raw)) if raw else None
        if path is None:
            out.dropped += 1
            continue
        rng = range_1based(
            _int(item.get("line")),
            _int(item.get("column", item.get("col"))),
            _int(item.get("end_line")),
            _int(item.get("end_column")),
        )
        message = str(item.get("message") or "(no message)")
        code = item.get("code") or item.get("rule")
        if code:
            message = f"{message} [{code}]"
        sev = severity_of(item.get("severity"), maker.default_severity)
        out.findings.append(maker.make(path, message, rng, sev))
    return out


# --------------------------------------------------------------------------------------
# path:line:col: message lines
# --------------------------------------------------------------------------------------

_LINE_RE = re.compile(
    r"^\s*(?P<path>[^:\n]+?):(?P<line>\d+)"
    r"(?::(?P<col>\d+))?(?::(?P<eline>\d+):(?P<ecol>\d+))?:\s?"
    r"(?:(?P<sev>error|warning|warn|note|info|hint|fatal)\s*:\s*)?(?P<msg>.*)$",
    re.IGNORECASE,
)


def parse_lines(text: str, maker: FindingMaker) -> Parsed:
    """Findings from ``path:line[:col[:end_line:end_col]]: [severity:] message`` lines.

    This is the format of gcc, mypy (``--show-error-end`` too), flake8, ruff's concise
    output and many more. Other lines are ignored; a ``note:`` line right after a finding
    of the same place is appended to its message.
    """
    out = Parsed()
    for raw_line in text.splitlines():
        m = _LINE_RE.match(raw_line.rstrip())
        if m is None:
            continue
        path = maker.relpath(m["path"])
        if path is None:
            out.dropped += 1
            continue
        col = int(m["col"]) if m["col"] else None
        if m["eline"]:
            # mypy --show-error-end: the end column is inclusive
            rng = range_1based(int(m["line"]), col, int(m["eline"]), int(m["ecol"]) + 1)
        elif col is None:
            rng = range_1based(int(m["line"]))
        else:
            rng = range_1based(int(m["line"]), col)
        sev_word = (m["sev"] or "").lower()
        message = m["msg"].strip() or "(no message)"
        if sev_word == "note" and out.findings:
            last = out.findings[-1]
            if last.path == path and last.range.start.line == rng.start.line:
                out.findings[-1] = last.model_copy(update={"message": f"{last.message}\n{message}"})
                continue
        sev = severity_of(sev_word, maker.default_severity) if sev_word else None
        out.findings.append(maker.make(path, message, rng, sev))
    return out


def parse_output(fmt: str, stdout: str, maker: FindingMaker) -> Parsed:
    """Dispatch on the ``format`` option of the command check."""
    if fmt == "sarif":
        return parse_sarif(stdout, maker)
    if fmt == "json":
        return parse_json_list(stdout, maker)
    if fmt == "lines":
        return parse_lines(stdout, maker)
    if fmt == "exit-code":
        return Parsed()
    raise ParseError(f"unknown output format {fmt!r}")


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in order, without exact repeats (same id)."""
    seen: set[str] = set()
    out: list[Finding] = []
    for f in findings:
        if f.id not in seen:
            seen.add(f.id)
            out.append(f)
    return out
