"""DES-SECTIONS: the design has architecture, components, data, interfaces and risks.

Each design document is judged by the sections of its own layout:

* phasegate's ``docs/design.md`` and Kiro's ``design.md`` (Overview, Architecture,
  Components and Interfaces, Data Models, Error Handling, Testing Strategy): architecture,
  components, data model, interfaces and risks, with synonyms;
* Spec Kit's ``specs/<feature>/plan.md`` by the sections of Spec Kit's plan template:
  Technical Context (architecture), Project Structure (components), the ``**Storage**:``
  field or the feature's ``data-model.md`` (data model), Constitution Check or Complexity
  Tracking (risks). Spec Kit writes a feature's interfaces to its ``contracts/`` folder,
  and only when the feature has external interfaces, so a plan is not asked for an
  interfaces section.

A section may also be present as a file or folder next to the document (``files``: the
``contracts/`` folder counts as the interfaces of a phasegate or Kiro design). Findings
about the risks section belong to the security persona, the others to the architect.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks._documents import SectionSpec, end_insertion, section_present
from phasegate.checks.base import CheckContext, CheckOutcome
from phasegate.checks.design.exists import OWNER, SECURITY_OWNER, DesignCheck, design_inputs
from phasegate.documents import DocFormat, outline
from phasegate.model import Finding, Fix, Range
from phasegate.workspace import matches

if TYPE_CHECKING:
    from phasegate.config import Config

RISK_SYNONYMS = [
    "risk", "risks", "security", "threat model", "threats", "error handling", "failure modes",
    "mitigations", "complexity tracking", "safety", "privacy",
]  # fmt: skip

_GENERIC: list[DocFormat] = ["phasegate", "kiro"]
_SPEC_KIT: list[DocFormat] = ["spec-kit"]


class DesignSectionSpec(SectionSpec):
    """A required design section; it is also present as a file or folder next to the
    document (``files``)."""

    files: list[str] = Field(
        default_factory=list,
        description="Files or folders (ending in `/`) in the document's folder that count "
        "as this section, e.g. `contracts/`, `data-model.md`.",
    )


def default_design_sections() -> list[DesignSectionSpec]:
    return [
        DesignSectionSpec(
            name="Architecture",
            synonyms=[
                "system overview",
                "high level design",
                "technical context",
                "system design",
                "solution overview",
                "approach",
            ],
            formats=_GENERIC,
            owner=OWNER,
        ),
        DesignSectionSpec(
            name="Components",
            synonyms=["component", "modules", "services", "project structure", "building blocks"],
            formats=_GENERIC,
            owner=OWNER,
        ),
        DesignSectionSpec(
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
            formats=_GENERIC,
            owner=OWNER,
        ),
        DesignSectionSpec(
            name="Interfaces",
            synonyms=["interface", "api", "apis", "contracts", "endpoints", "cli", "protocol"],
            formats=_GENERIC,
            files=["contracts/"],
            owner=OWNER,
        ),
        DesignSectionSpec(
            name="Risks", synonyms=RISK_SYNONYMS, formats=_GENERIC, owner=SECURITY_OWNER
        ),
        # Spec Kit's plan template (templates/plan-template.md).
        DesignSectionSpec(
            name="Technical Context",
            synonyms=[
                "architecture",
                "technical approach",
                "system design",
                "high level design",
                "solution overview",
            ],
            formats=_SPEC_KIT,
            owner=OWNER,
        ),
        DesignSectionSpec(
            name="Project Structure",
            synonyms=[
                "source code",
                "structure decision",
                "components",
                "modules",
                "files to create",
            ],
            formats=_SPEC_KIT,
            owner=OWNER,
        ),
        DesignSectionSpec(
            name="Data model",
            synonyms=["storage", "data models", "schema", "database", "entities", "persistence"],
            formats=_SPEC_KIT,
            files=["data-model.md"],
            owner=OWNER,
        ),
        DesignSectionSpec(
            name="Constitution Check",
            synonyms=[
                "complexity tracking",
                "risk",
                "risks",
                "security",
                "threat model",
                "mitigations",
            ],
            formats=_SPEC_KIT,
            owner=SECURITY_OWNER,
        ),
    ]


def design_format(path: str) -> DocFormat:
    p = path.replace("\\", "/")
    if ".kiro/" in p:
        return "kiro"
    if re.search(r"(^|/)specs/[^/]+/plan\.md$", p):
        return "spec-kit"
    return "phasegate"


# Files next to a design document that can stand for a section (inputs, never judged).
SIDE_FILES: tuple[str, ...] = (
    "specs/*/contracts/**",
    "specs/*/data-model.md",
    ".kiro/specs/*/contracts/**",
)


class _Beside:
    """Which files and folders (with a file in them) lie next to a document."""

    def __init__(self, files: Iterable[str]) -> None:
        self.files = set(files)
        self.folders: set[str] = set()
        for f in files:
            parts = f.split("/")[:-1]
            for k in range(1, len(parts) + 1):
                self.folders.add("/".join(parts[:k]))

    def present(self, path: str, names: Sequence[str]) -> bool:
        folder = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
        for name in names:
            target = folder + name.strip("/")
            if target in (self.folders if name.endswith("/") else self.files):
                return True
        return False


def _insert_level(levels: Sequence[int]) -> int:
    """The heading level of an appended section: 2 under a title, else the top level."""
    if 1 in levels:
        return 2
    return min(levels) if levels else 2


class DesignSectionsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sections: list[DesignSectionSpec] = Field(
        default_factory=default_design_sections,
        description="Required sections, each with the headings (and files next to the "
        "document) that count as it, and the layouts it is required in.",
    )


class DesignSections(DesignCheck):
    id = "DES-SECTIONS"
    title = "Design sections"
    description = (
        "The design has architecture, components, data model, interfaces and risks sections "
        "(synonyms accepted: Kiro's design.md passes). A Spec Kit plan.md is judged by Spec "
        "Kit's plan template: Technical Context, Project Structure, data model (the "
        "`**Storage**:` field or the feature's data-model.md) and Constitution Check or "
        "Complexity Tracking; its interfaces live in the optional contracts/ folder, so none "
        "is required. Each missing section is a finding on the top heading whose fix "
        "appends the section heading; the risks section's finding is owned by the security "
        "persona."
    )
    default_weight = 1.0
    Options = DesignSectionsOptions

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return [*design_inputs(config), *SIDE_FILES]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        opts = ctx.options
        assert isinstance(opts, DesignSectionsOptions)
        return _sections_outcome(ctx, opts.sections)


def _sections_outcome(ctx: CheckContext, specs: Sequence[DesignSectionSpec]) -> CheckOutcome:
    """One finding per missing section of each document (at its top heading), with a fix
    that appends the heading; score = share of required sections present."""
    inputs = ctx.input_files()
    design = ctx.config.artifacts.design
    files = [f for f in inputs if matches(f, design) or not matches(f, SIDE_FILES)]
    beside: _Beside | None = None
    findings: list[Finding] = []
    required = present = 0
    any_text = False
    for path in files:
        text = ctx.workspace.read_text(path)
        if text is None or not text.strip():
            continue
        any_text = True
        ol = outline(text)
        fmt = design_format(path)
        top = ol.headings[0].line if ol.headings else 0
        top_len = len(ol.lines[top]) if top < len(ol.lines) else 0
        level = _insert_level([h.level for h in ol.headings])
        for spec in specs:
            if fmt not in spec.formats:
                continue
            required += 1
            if spec.files and beside is None:
                beside = _Beside(ctx.workspace.files())
            if section_present(ol, spec) or (
                spec.files and beside is not None and beside.present(path, spec.files)
            ):
                present += 1
                continue
            heading = f"{'#' * level} {spec.name}"
            fix = Fix(
                title=f"Add the '{spec.name}' section", edits=[end_insertion(path, text, heading)]
            )
            also = f", or {' or '.join(spec.files)} next to it" if spec.files else ""
            findings.append(
                ctx.finding(
                    path,
                    f"Missing section '{spec.name}' (a heading such as: "
                    f"{', '.join([spec.name, *spec.synonyms[:3]])}{also}).",
                    Range.lines(top, 0, top_len),
                    fix=fix,
                    owner=spec.owner,
                )
            )
    if not any_text:
        return CheckOutcome(findings=[], score=0.0, passed=False)
    return CheckOutcome(findings=findings, score=present / required if required else 1.0)
