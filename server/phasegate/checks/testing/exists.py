"""TEST-EXISTS: the workspace has test files (``artifacts.tests``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from phasegate.checks._outcomes import missing_file_outcome
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.languages import no_python_reason
from phasegate.model import Severity

if TYPE_CHECKING:
    from phasegate.config import Config

NOT_TESTS = ("__init__.py", "conftest.py")


class TestsExist(Check):
    __test__ = False  # not a pytest test class

    id = "TEST-EXISTS"
    title = "Tests exist"
    description = (
        "At least one test file matches `artifacts.tests` (conftest.py does not count). "
        "Not applicable in a workspace whose sources are all in languages other than "
        "Python."
    )
    scope = "project"
    default_owner = "qa_engineer"
    default_weight = 1.0
    default_blocking = True
    default_severity = Severity.ERROR

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return list(config.artifacts.tests)

    def run(self, ctx: CheckContext) -> CheckOutcome:
        files = [f for f in ctx.input_files() if f.rsplit("/", 1)[-1] not in NOT_TESTS]
        if files:
            return CheckOutcome(score=1.0)
        reason = no_python_reason(ctx.workspace)
        if reason is not None:
            return CheckOutcome(score=1.0, not_applicable=reason)
        patterns = ", ".join(ctx.inputs)
        return missing_file_outcome(ctx, "tests/", f"no test files: nothing matches {patterns}")
