"""REQ-EXISTS: a requirements document exists (blocking)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from phasegate.checks._documents import exists_outcome
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.model import Severity

if TYPE_CHECKING:
    from phasegate.config import Config

OWNER = "requirement_analyst"


def requirements_inputs(config: Config) -> list[str]:
    return list(config.artifacts.requirements)


class RequirementsCheck(Check):
    """A check of the requirements documents, owned by the requirement analyst."""

    scope = "project"
    default_owner: ClassVar[str] = OWNER
    new_code_rule = "documents"

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return requirements_inputs(config)


class RequirementsExists(RequirementsCheck):
    id: ClassVar[str] = "REQ-EXISTS"
    title: ClassVar[str] = "Requirements document exists"
    description: ClassVar[str] = (
        "A non-empty requirements document matches the configured globs "
        "(`docs/requirements.md`, Spec Kit `specs/*/spec.md`, Kiro "
        "`.kiro/specs/*/requirements.md`). When none exists, the finding sits on the path "
        "where it should be created."
    )
    default_weight: ClassVar[float] = 1.0
    default_blocking: ClassVar[bool] = True
    default_severity: ClassVar[Severity] = Severity.ERROR

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return exists_outcome(ctx, "requirements", "docs/requirements.md")
