"""DES-PLACEHOLDER: no placeholders left in the design documents.

A placeholder inside the risks/security section belongs to the security persona.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from phasegate.checks._documents import SectionSpec, placeholders_outcome, title_matches
from phasegate.checks._placeholders import PlaceholderOptions
from phasegate.checks.base import CheckContext, CheckOutcome
from phasegate.checks.design.exists import SECURITY_OWNER, DesignCheck
from phasegate.checks.design.sections import RISK_SYNONYMS
from phasegate.checks.requirements.placeholders import PLACEHOLDER_DESCRIPTION

if TYPE_CHECKING:
    from phasegate.documents import Outline

_RISKS = SectionSpec(name="Risks", synonyms=RISK_SYNONYMS)


def _owner(ol: Outline, line: int) -> str | None:
    """The security persona for a line inside a risks/security section."""
    for h in ol.headings:
        if h.line <= line < h.end and title_matches(h.title, _RISKS):
            return SECURITY_OWNER
    return None


class DesignPlaceholders(DesignCheck):
    id = "DES-PLACEHOLDER"
    title = "No placeholders in the design"
    description = (
        PLACEHOLDER_DESCRIPTION
        + " Placeholders in the risks section are owned by the security persona."
    )
    default_weight = 3.0
    Options = PlaceholderOptions

    def run(self, ctx: CheckContext) -> CheckOutcome:
        return placeholders_outcome(ctx, _owner)
