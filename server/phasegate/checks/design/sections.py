"""DES-SECTIONS: the design has architecture, components, data, interfaces and risks.

Synonyms make Kiro's ``design.md`` (Architecture, Components and Interfaces, Data Models,
Error Handling) and Spec Kit's ``plan.md`` (Technical Context, Project Structure,
``**Storage**:``, Design & Contracts, Complexity Tracking) count. Findings about the risks
section belong to the security persona, the others to the architect.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks._documents import SectionSpec, sections_outcome
from phasegate.checks.base import CheckContext, CheckOutcome
from phasegate.checks.design.exists import OWNER, SECURITY_OWNER, DesignCheck
from phasegate.documents import DocFormat

RISK_SYNONYMS = [
    "risk", "risks", "security", "threat model", "threats", "error handling", "failure modes",
    "mitigations", "complexity tracking", "safety", "privacy",
]  # fmt: skip


def default_design_sections() -> list[SectionSpec]:
    return [
        SectionSpec(
            name="Architecture",
            synonyms=[
                "system overview",
                "high level design",
                "technical context",
                "system design",
                "solution overview",
                "approach",
            ],
            owner=OWNER,
        ),
        SectionSpec(
            name="Components",
            synonyms=["component", "modules", "services", "project structure", "building blocks"],
            owner=OWNER,
        ),
        SectionSpec(
            name="Data model",
            synonyms=[
                "data",
                "data models",
                "storage",
                "schema",
                "database",
                "entities",
                "persistence",
            ],
            owner=OWNER,
        ),
        SectionSpec(
            name="Interfaces",
            synonyms=["interface", "api", "apis", "contracts", "endpoints", "cli", "protocol"],
            owner=OWNER,
        ),
        SectionSpec(name="Risks", synonyms=RISK_SYNONYMS, owner=SECURITY_OWNER),
    ]


def design_format(path: str) -> DocFormat:
    p = path.replace("\\", "/")
    if ".kiro/" in p:
        return "kiro"
    if re.search(r"(^|/)specs/[^/]+/plan\.md$", p):
        return "spec-kit"
    return "phasegate"


class DesignSectionsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sections: list[SectionSpec] = Field(
        default_factory=default_design_sections,
        description="Required sections, each with the headings that count as it.",
    )


class DesignSections(DesignCheck):
    id = "DES-SECTIONS"
    title = "Design sections"
    description = (
        "The design has architecture, components, data model, interfaces and risks sections "
        "(synonyms accepted: Kiro and Spec Kit layouts pass). Each missing section is a "
        "finding on the top heading whose fix appends the section heading; the risks "
        "section's finding is owned by the security persona."
    )
    default_weight = 1.0
    Options = DesignSectionsOptions

    def run(self, ctx: CheckContext) -> CheckOutcome:
        opts = ctx.options
        assert isinstance(opts, DesignSectionsOptions)
        return sections_outcome(ctx, opts.sections, lambda path, _text: design_format(path))
