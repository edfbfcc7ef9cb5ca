"""TEST-TRACE: every requirement id is referenced by at least one test.

A test file references ``REQ-001`` by a marker (``@pytest.mark.req("REQ-001")``), in a
docstring, or in a comment — any occurrence of the id in a test file counts. An id no
test references is a finding on its line in the requirements document.
Score: share of requirement ids referenced by a test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.model import Range, Severity
from phasegate.workspace import matches

if TYPE_CHECKING:
    from phasegate.config import Config


class TestTrace(Check):
    __test__ = False  # not a pytest test class

    id = "TEST-TRACE"
    title = "Requirements traced to tests"
    description = (
        "Every requirement id is referenced by at least one test (marker, docstring or "
        "comment). Score: share of ids referenced."
    )
    scope = "project"
    default_owner = "qa_engineer"
    default_weight = 1.0
    default_severity = Severity.WARNING

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return [*config.artifacts.tests, *config.artifacts.requirements]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        from phasegate.documents import find_id_references, load_requirements

        ws = ctx.workspace
        requirements = load_requirements(ws, ctx.config)
        if not requirements:
            return CheckOutcome(score=1.0)
        tests = ctx.config.artifacts.tests
        referenced: set[str] = set()
        for path in ctx.input_files():
            if not matches(path, tests):
                continue
            text = ws.read_text(path)
            if text:
                referenced.update(ref.id for ref in find_id_references(text))
        findings = []
        seen: set[str] = set()
        for req in requirements:
            if req.id in seen:
                continue
            seen.add(req.id)
            if req.id in referenced:
                continue
            findings.append(
                ctx.finding(
                    req.path,
                    f"{req.id} is not referenced by any test "
                    f'(add @pytest.mark.req("{req.id}") or mention it in a test docstring)',
                    Range.lines(req.line, req.character, req.end_character),
                )
            )
        total = len(seen)
        return CheckOutcome(findings=findings, score=1.0 - len(findings) / total)
