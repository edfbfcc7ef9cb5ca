"""DES-EXISTS: a design document exists (blocking)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from phasegate.checks._documents import exists_outcome
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.model import Severity

if TYPE_CHECKING:
    from phasegate.config import Config

OWNER = "solution_architect"
SECURITY_OWNER = "security_specialist"


def design_inputs(config: Config) -> list[str]:
    return list(config.artifacts.design)


class DesignCheck(Check):
    """A check of the design documents, owned by the solution architect."""

    scope = "project"
    default_owner = OWNER
    new_code_rule = "documents"

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return design_inputs(config)


class DesignExists(DesignCheck):
    id = "DES-EXISTS"
    title = "Design document exists"
    description = (
        "A non-empty design document matches the configured globs (`docs/design.md`, Spec "
        "Kit `specs/*/plan.md`, Kiro `.kiro/specs/*/design.md`). When none exists, the "
        "finding sits on the path where it should be created."
    )
    default_weight = 1.0
    default_blocking = True
    default_severity = Severity.ERROR

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return exists_outcome(ctx, "design", "docs/design.md")
