"""DEP-CI: a CI configuration is present and readable.

Recognised: GitHub Actions (``.github/workflows/*.yml``), GitLab CI (``.gitlab-ci.yml``),
CircleCI, Azure Pipelines, Travis, Bitbucket, Drone, Woodpecker, Buildkite, Jenkins
(``Jenkinsfile``) and a project-local ``.ci/`` folder. YAML files are parsed when PyYAML
is importable (it is optional: without it, a YAML file only has to be non-empty); a parse
error is a finding at its line, and a GitHub workflow must have ``on`` and ``jobs``.
With no CI configuration at all, a finding on ``.github/workflows/ci.yml``.
Score: share of the CI files that are valid (0 when there is none).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from phasegate.checks._outcomes import missing_file_outcome
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.model import Finding, Severity

if TYPE_CHECKING:
    from phasegate.config import Config

CI_PATTERNS = [
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".gitlab-ci.yml",
    ".circleci/config.yml",
    "azure-pipelines.yml",
    ".travis.yml",
    "bitbucket-pipelines.yml",
    ".drone.yml",
    ".woodpecker.yml",
    ".woodpecker/*.yml",
    ".buildkite/pipeline.yml",
    "Jenkinsfile",
    ".ci/*",
]


def _yaml() -> Any | None:
    try:
        return importlib.import_module("yaml")
    except ImportError:
        return None


class CiWorkflow(Check):
    id = "DEP-CI"
    title = "CI workflow"
    description = (
        "A CI configuration (GitHub Actions, GitLab CI, …) is present and parses. "
        "Score: share of CI files that are valid."
    )
    scope = "project"
    default_owner = "devops_engineer"
    default_weight = 1.0
    default_severity = Severity.WARNING

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return list(CI_PATTERNS)

    def run(self, ctx: CheckContext) -> CheckOutcome:
        files = ctx.input_files()
        if not files:
            return missing_file_outcome(
                ctx,
                ".github/workflows/ci.yml",
                "no CI configuration: add a workflow that installs, tests and builds "
                "the project (e.g. .github/workflows/ci.yml)",
            )
        yaml = _yaml()
        findings: list[Finding] = []
        bad: set[str] = set()
        for path in files:
            problems = self.check_one(ctx, path, yaml)
            if problems:
                bad.add(path)
                findings += problems
        return CheckOutcome(findings=findings, score=1.0 - len(bad) / len(files))

    def check_one(self, ctx: CheckContext, path: str, yaml: Any | None) -> list[Finding]:
        text = ctx.workspace.read_text(path)
        if text is None or not text.strip():
            return [ctx.finding(path, f"{path} is empty", line=0)]
        if not path.endswith((".yml", ".yaml")) or yaml is None:
            return []
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line = int(getattr(mark, "line", 0) or 0)
            reason = str(getattr(exc, "problem", None) or exc).strip()
            return [
                ctx.finding(path, f"invalid YAML: {reason}", line=line, severity=Severity.ERROR)
            ]
        if not isinstance(data, dict):
            return [ctx.finding(path, f"{path} is not a YAML mapping", line=0)]
        if path.startswith(".github/workflows/"):
            out = []
            # YAML 1.1 reads a bare `on` key as the boolean True
            if "on" not in data and True not in data:
                out.append(ctx.finding(path, "GitHub workflow has no `on` trigger", line=0))
            if not isinstance(data.get("jobs"), dict) or not data["jobs"]:
                out.append(ctx.finding(path, "GitHub workflow has no `jobs`", line=0))
            return out
        return []
