"""Outcomes shared by several checks."""

from __future__ import annotations

from phasegate.checks.base import CheckContext, CheckOutcome
from phasegate.model import Severity


def missing_file_outcome(
    ctx: CheckContext,
    path: str,
    message: str,
    *,
    severity: Severity | None = None,
    passed: bool | None = None,
) -> CheckOutcome:
    """Score 0 with one finding on ``path``, a file that should exist and does not
    (``missing_file``: the finding is shown where the file would be created).

    ``severity`` defaults to the check's; ``passed=None`` lets the severity decide.
    """
    finding = ctx.finding(path, message, severity=severity, missing_file=True)
    return CheckOutcome(findings=[finding], score=0.0, passed=passed)
