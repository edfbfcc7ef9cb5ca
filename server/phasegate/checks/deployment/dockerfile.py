"""DEP-DOCKERFILE: a Dockerfile, when there is one, is sane.

* every ``FROM`` names a tagged (or digest-pinned) image, never ``:latest`` — ``scratch``,
  earlier build stages and ``$ARG`` images are left alone;
* a non-root ``USER`` follows the last ``FROM`` (the final image does not run as root);
* an image that ``EXPOSE``s a port has a ``HEALTHCHECK``.

Each finding sits on the instruction's line. A workspace with no Dockerfile passes.
Dockerfiles that are test data (in ``fixtures/``, ``testdata/``, ``test_data/``,
``__fixtures__/`` folders) or templates (in a ``{{ … }}`` folder) are left out.
File scope: each Dockerfile is checked on its own; score = share of Dockerfiles without
findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from phasegate.checks.base import Check, CheckContext
from phasegate.model import Finding, Range, Severity

if TYPE_CHECKING:
    from phasegate.config import Config

ROOT_USERS = {"root", "0"}
# Folders of test data and project templates: their Dockerfiles are samples, not images.
TEST_DATA_DIRS = ("fixtures/", "testdata/", "test_data/", "__fixtures__/", "*{{*}}*/")


@dataclass
class Instruction:
    line: int  # 0-based line where it starts
    keyword: str  # upper case
    args: str


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined (``\\`` or a ``# escape=`` character)."""
    lines = text.splitlines()
    escape = "\\"
    for ln in lines[:5]:
        m = re.match(r"^#\s*escape\s*=\s*(\S)", ln, re.I)
        if m:
            escape = m.group(1)
    out: list[Instruction] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        joined = stripped
        while joined.endswith(escape) and i + 1 < len(lines):
            joined = joined[: -len(escape)].rstrip()
            i += 1
            nxt = lines[i].strip()
            # comment and empty lines inside a continuation are not part of it
            while (not nxt or nxt.startswith("#")) and i + 1 < len(lines):
                i += 1
                nxt = lines[i].strip()
            if nxt and not nxt.startswith("#"):
                joined = f"{joined} {nxt}"
        kw, _, args = joined.partition(" ")
        out.append(Instruction(start, kw.upper(), args.strip()))
        i += 1
    return out


def _from_image(args: str) -> tuple[str, str | None]:
    """(image, stage alias) of a FROM's arguments."""
    words = [w for w in args.split() if not w.startswith("--")]
    image = words[0] if words else ""
    alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
    return image, alias


def image_problem(image: str, stages: set[str]) -> str | None:
    """Why this FROM image is not pinned, or None when it is fine."""
    if not image or image.lower() == "scratch" or image.lower() in stages or "$" in image:
        return None
    if "@" in image:
        return None  # pinned by digest
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"FROM {image} has no tag: pin a version (e.g. {image}:1.2)"
    if last.rsplit(":", 1)[1].lower() == "latest":
        return f"FROM {image} uses the moving `latest` tag: pin a version"
    return None


class Dockerfile(Check):
    id = "DEP-DOCKERFILE"
    title = "Dockerfile"
    description = (
        "Dockerfiles use pinned base images (no `:latest`), run as a non-root USER, and have a "
        "HEALTHCHECK when they EXPOSE a port. Passes when there is no Dockerfile; test "
        "fixtures and templates are left out."
    )
    scope = "file"
    default_owner = "devops_engineer"
    default_weight = 1.0
    default_severity = Severity.WARNING

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["Dockerfile", "Containerfile", "*.Dockerfile", "Dockerfile.*", "*.dockerfile"]

    @classmethod
    def default_exclude(cls, config: Config) -> list[str]:
        return list(TEST_DATA_DIRS)

    def check_file(self, ctx: CheckContext, path: str) -> list[Finding]:
        text = ctx.workspace.read_text(path)
        if text is None:
            return []
        instrs = parse_dockerfile(text)
        findings: list[Finding] = []
        stages: set[str] = set()
        froms = [ins for ins in instrs if ins.keyword == "FROM"]
        for ins in froms:
            image, alias = _from_image(ins.args)
            problem = image_problem(image, stages)
            if problem:
                findings.append(ctx.finding(path, problem, Range.lines(ins.line)))
            if alias:
                stages.add(alias.lower())
        if not froms:
            findings.append(ctx.finding(path, "no FROM instruction", line=0))
            return findings
        last_from = froms[-1]
        final = [ins for ins in instrs if ins.line > last_from.line]
        users = [ins for ins in final if ins.keyword == "USER"]
        if not users:
            findings.append(
                ctx.finding(
                    path,
                    "the final image runs as root: add a non-root `USER` after the last FROM",
                    Range.lines(last_from.line),
                )
            )
        else:
            user = users[-1].args.split(":", 1)[0].strip()
            if user.lower() in ROOT_USERS:
                findings.append(
                    ctx.finding(
                        path,
                        f"USER {user}: the final image runs as root; use a non-root user",
                        Range.lines(users[-1].line),
                    )
                )
        exposes = [ins for ins in final if ins.keyword == "EXPOSE"]
        health = [ins for ins in instrs if ins.keyword == "HEALTHCHECK"]
        if exposes and not any(not h.args.upper().startswith("NONE") for h in health):
            findings.append(
                ctx.finding(
                    path,
                    f"EXPOSE {exposes[0].args} without a HEALTHCHECK: add one so the "
                    "orchestrator knows the service is up",
                    Range.lines(exposes[0].line),
                )
            )
        return findings
