"""The session report: metrics from a session's checkpoint and journal, as HTML or JSON.

``write_report`` is the one entry point (the CLI's ``phasegate report`` and the language
server's ``phasegate.report`` command both call it)::

    from phasegate.report import write_report
    path = write_report(Path("."))                     # active session, HTML
    path = write_report(Path("."), "s-1", fmt="json")  # one session, JSON

The HTML page is self-contained: inline CSS and inline SVG charts, no script and no
network access. The JSON document's shape is described in ``docs/report.md``.
"""

from __future__ import annotations

from phasegate.report.build import build_report, default_output, render, write_report
from phasegate.report.data import REPORT_SCHEMA, ReportData
from phasegate.report.source import ReportError

__all__ = [
    "REPORT_SCHEMA",
    "ReportData",
    "ReportError",
    "build_report",
    "default_output",
    "render",
    "write_report",
]
