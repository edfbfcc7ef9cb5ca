"""Assembling and writing a report: session + configuration + traceability + findings."""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import Literal

from phasegate.config import Config, default_config
from phasegate.fsutil import atomic_write_text
from phasegate.recheck import recheck_completed
from phasegate.report.data import OpenFindings, ReportData, Traceability
from phasegate.report.findings import collect_open_findings
from phasegate.report.html import render_html
from phasegate.report.metrics import build_report_data
from phasegate.report.source import ReportError, load_session
from phasegate.report.trace import build_traceability

Format = Literal["html", "json"]
FORMATS: tuple[Format, ...] = ("html", "json")


def _config(root: Path) -> tuple[Config, list[str]]:
    from phasegate.config_loader import ConfigError, load_config

    try:
        return load_config(root), []
    except ConfigError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid configuration"
        return default_config(), [f"the configuration is invalid ({first}): defaults used"]


def _crash(what: str, exc: Exception) -> str:
    return f"{what} failed: " + traceback.format_exception_only(type(exc), exc)[-1].strip()


def build_report(workspace_root: Path, session_id: str | None = None) -> ReportData:
    """The report's data for ``session_id`` (default: the active session)."""
    root = Path(workspace_root).resolve()
    if not root.is_dir():
        raise ReportError(f"{workspace_root} is not a folder")
    source = load_session(root, session_id)
    config, warnings = _config(root)
    try:
        # a completed phase whose gate fails now, as far as the result cache knows, is
        # shown regressed (nothing is run): the same answer as `phasegate status`
        rechecks = recheck_completed(root, source.state, None if warnings else config)
    except Exception as exc:
        rechecks = {}
        warnings.append(_crash("checking the completed phases against the cache", exc))
    try:
        trace = build_traceability(root, config)
    except Exception as exc:  # a document problem must not lose the rest of the report
        trace = Traceability(available=False, note=_crash("the traceability matrix", exc))
    try:
        findings = collect_open_findings(root, config, source.state, rechecks)
    except Exception as exc:
        findings = OpenFindings(note=_crash("collecting the open findings", exc))
    return build_report_data(root, source, config, trace, findings, warnings, rechecks)


def check_format(fmt: str) -> Format:
    if fmt == "html":
        return "html"
    if fmt == "json":
        return "json"
    raise ReportError(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")


def render(data: ReportData, fmt: str = "html") -> str:
    """The report as ``html`` or ``json`` text."""
    if check_format(fmt) == "html":
        return render_html(data)
    return json.dumps(data.model_dump(mode="json", by_alias=True), indent=2) + "\n"


def default_output(workspace_root: Path, session_id: str, fmt: str = "html") -> Path:
    """``.phasegate/sessions/<id>/report.<html|json>``."""
    from phasegate.store import SessionStore

    return SessionStore(workspace_root).session_dir(session_id) / f"report.{check_format(fmt)}"


def write_report(
    workspace_root: Path,
    session_id: str | None = None,
    fmt: str = "html",
    output: Path | None = None,
) -> Path:
    """Build the report of ``session_id`` (default: the active session), write it as
    ``fmt`` (``html`` or ``json``) to ``output`` (default: in the session's folder) and
    return the path written. Raises :class:`ReportError` with a readable message."""
    check_format(fmt)
    data = build_report(workspace_root, session_id)
    text = render(data, fmt)
    if output is None:
        path = default_output(Path(workspace_root).resolve(), data.session.id, fmt)
    else:
        path = Path(output)
    if path.is_dir():
        raise ReportError(f"{path} is a folder: give a file name for the report")
    try:
        atomic_write_text(path, text, fsync_dir=True)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {path}: {exc.strerror or exc}") from None
    return path.resolve()
