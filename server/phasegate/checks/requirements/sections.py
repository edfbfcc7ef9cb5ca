"""REQ-SECTIONS: the requirements document has its required sections.

The defaults are satisfied by phasegate's own layout, by Spec Kit's ``spec.md`` and by
Kiro's ``requirements.md`` (Kiro has no non-functional section, so that one is required
only of the other two formats). A heading or a label line (``**Acceptance Scenarios**:``,
``Acceptance criteria:``) counts; matching is case-insensitive on whole words.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks._documents import SectionSpec, sections_outcome
from phasegate.checks.base import CheckContext, CheckOutcome
from phasegate.checks.requirements.exists import RequirementsCheck
from phasegate.documents import DocFormat, id_prefixes, parse_requirements


def default_requirement_sections() -> list[SectionSpec]:
    return [
        SectionSpec(
            name="Overview",
            synonyms=[
                "introduction",
                "summary",
                "purpose",
                "background",
                "context",
                "scope",
                "goals",
                "problem statement",
                "vision",
                "description",
                "user scenarios",
                "user stories",
            ],
        ),
        SectionSpec(
            name="Functional requirements",
            synonyms=["requirements", "features", "capabilities"],
            exclude=["non functional", "nonfunctional"],
        ),
        SectionSpec(
            name="Non-functional requirements",
            synonyms=[
                "non functional",
                "nonfunctional",
                "quality attributes",
                "quality requirements",
                "constraints",
                "performance",
                "security",
                "reliability",
                "usability",
                "success criteria",
                "measurable outcomes",
                "service levels",
            ],
            formats=["phasegate", "spec-kit"],
        ),
        SectionSpec(
            name="Acceptance criteria",
            synonyms=[
                "acceptance",
                "acceptance scenarios",
                "acceptance tests",
                "definition of done",
                "success criteria",
            ],
            or_acceptance=True,
        ),
    ]


class SectionsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sections: list[SectionSpec] = Field(
        default_factory=default_requirement_sections,
        description="Required sections, each with the headings that count as it.",
    )


class RequirementsSections(RequirementsCheck):
    id: ClassVar[str] = "REQ-SECTIONS"
    title: ClassVar[str] = "Requirements sections"
    description: ClassVar[str] = (
        "The requirements document has an overview, functional requirements, "
        "non-functional requirements (not required of Kiro documents) and acceptance "
        "criteria (or requirements with Given/When/Then or EARS criteria). Headings and "
        "label lines count, with synonyms. Each missing section is a finding on the "
        "document's top heading whose fix appends the section heading. Score: the share "
        "of required sections present."
    )
    default_weight: ClassVar[float] = 1.0
    Options: ClassVar[type[BaseModel]] = SectionsOptions

    def run(self, ctx: CheckContext) -> CheckOutcome:
        opts = ctx.options
        assert isinstance(opts, SectionsOptions)
        prefixes = id_prefixes(ctx.config)

        def fmt(path: str, text: str) -> DocFormat:
            return parse_requirements(text, path, prefixes).format

        def has_acceptance(path: str, text: str) -> bool:
            doc = parse_requirements(text, path, prefixes)
            return any(r.acceptance for r in doc.requirements) or bool(doc.shared_acceptance)

        return sections_outcome(ctx, opts.sections, fmt, has_acceptance)
