"""DEP-CHANGELOG: a changelog with at least one version entry.

Looks at the workspace root for ``CHANGELOG.md`` (any case and extension), ``CHANGES.*``,
``HISTORY.*`` or ``NEWS.*``. A version entry is a heading or line that starts with a
version number: ``## [1.2.0] - 2024-05-01``, ``## v1.2``, ``1.2.0 (2024-05-01)``,
``Version 1.2``. An "Unreleased" section alone does not count.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from phasegate.checks._outcomes import missing_file_outcome
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.model import Severity

if TYPE_CHECKING:
    from phasegate.config import Config

PREFERRED = ("changelog.md", "changes.md", "history.md", "news.md")
NAMES = ("changelog", "changes", "history", "news")
VERSION_ENTRY = re.compile(
    r"^\s{0,3}(?:#{1,6}\s*|[-*]\s+|=+\s*)?\[?\s*(?:version\s+|release\s+|v)?\d+\.\d+",
    re.IGNORECASE,
)


def find_changelog(files: list[str]) -> str | None:
    top = [f for f in files if "/" not in f and f.lower().split(".", 1)[0] in NAMES]
    if not top:
        return None
    for name in PREFERRED:
        for f in top:
            if f.lower() == name:
                return f
    return sorted(top)[0]


def version_entries(text: str) -> list[int]:
    """0-based lines of the version entries."""
    return [i for i, line in enumerate(text.splitlines()) if VERSION_ENTRY.match(line)]


class Changelog(Check):
    id = "DEP-CHANGELOG"
    title = "Changelog"
    description = "CHANGELOG.md (or CHANGES.*) exists and has at least one version entry."
    scope = "project"
    default_owner = "devops_engineer"
    default_weight = 0.5
    default_severity = Severity.WARNING

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        pats = []
        for n in NAMES:
            pats += [f"{n.upper()}*", f"{n}*", f"{n.capitalize()}*"]
        return pats

    def run(self, ctx: CheckContext) -> CheckOutcome:
        path = find_changelog(ctx.input_files())
        if path is None:
            return missing_file_outcome(
                ctx,
                "CHANGELOG.md",
                "no changelog: add CHANGELOG.md with a section per released version",
            )
        text = ctx.workspace.read_text(path) or ""
        if version_entries(text):
            return CheckOutcome(score=1.0)
        return CheckOutcome(
            findings=[
                ctx.finding(
                    path,
                    f'{path} has no version entry (e.g. "## [0.1.0] - 2024-01-01")',
                    line=0,
                )
            ],
            score=0.5,
        )
