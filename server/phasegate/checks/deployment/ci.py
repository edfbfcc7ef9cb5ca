"""DEP-CI: a CI configuration is present and readable.

Recognised:

* GitHub Actions: ``.github/workflows/*.yml`` (and ``.yaml``) at the workspace root, the
  only place GitHub runs workflows from (Gitea and Forgejo: ``.gitea/workflows/``,
  ``.forgejo/workflows/``);
* GitLab CI: ``.gitlab-ci.yml`` (or ``.yaml``), included files in ``.gitlab/ci/`` and
  ``*.gitlab-ci.yml`` files;
* AWS CodeBuild: ``buildspec*.yml`` (or ``.yaml``), also in sub-folders;
* Azure Pipelines: ``azure-pipelines*.yml`` (or ``.yaml``), ``.azure-pipelines/``,
  ``.pipelines/``;
* CircleCI (``.circleci/config.yml`` or ``.yaml``), AppVeyor (``appveyor.yml``,
  ``.appveyor.yml``), Cirrus CI (``.cirrus.yml``), Google Cloud Build
  (``cloudbuild*.yaml``/``.yml``/``.json``), Semaphore (``.semaphore/``), Travis CI
  (``.travis.yml``), Jenkins (``Jenkinsfile*``, also in sub-folders), TeamCity
  (``.teamcity/``), Bitbucket Pipelines, Drone, Woodpecker, Buildkite, sourcehut
  (``.build.yml``, ``.builds/``), Zuul and a project-local ``.ci/`` folder.

Files matched in a sub-folder (``deploy/buildspec.yml``, ``ci/Jenkinsfile``) count in
folders up to three levels down that are not tests, fixtures, examples, docs, templates,
web assets or vendored code. YAML files are parsed when PyYAML is importable (it is
optional: without it, a YAML file only has to be non-empty), every document of a
multi-document file, with tags the loader does not know (GitLab's ``!reference``,
CloudFormation's ``!Ref``) read as plain values: a syntax error is a finding at its
line, and a GitHub, Gitea or Forgejo workflow must have ``on`` and ``jobs`` (other CI
files have no required keys). With no CI configuration at all, a finding on
``.github/workflows/ci.yml`` (naming any ``.github/workflows/`` found in a sub-folder,
which GitHub does not run). Score: share of the CI files that are valid (0 when there
is none).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from phasegate.checks._outcomes import missing_file_outcome
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.checks.deployment.layout import dir_of, is_project_folder
from phasegate.model import Finding, Severity
from phasegate.workspace import matches

if TYPE_CHECKING:
    from phasegate.config import Config

# Patterns with a slash are anchored at the workspace root (gitignore rules); those
# without one match in any folder (then only project folders count, see _is_ci).
CI_PATTERNS = [
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".gitea/workflows/*.yml",
    ".gitea/workflows/*.yaml",
    ".forgejo/workflows/*.yml",
    ".forgejo/workflows/*.yaml",
    "/.gitlab-ci.yml",
    "/.gitlab-ci.yaml",
    ".gitlab/ci/**/*.yml",
    ".gitlab/ci/**/*.yaml",
    "*.gitlab-ci.yml",
    "buildspec*.yml",
    "buildspec*.yaml",
    "azure-pipelines*.yml",
    "azure-pipelines*.yaml",
    ".azure-pipelines/**/*.yml",
    ".azure-pipelines/**/*.yaml",
    ".pipelines/**/*.yml",
    ".pipelines/**/*.yaml",
    ".circleci/config.yml",
    ".circleci/config.yaml",
    "/appveyor.yml",
    "/.appveyor.yml",
    "/.cirrus.yml",
    "cloudbuild*.yaml",
    "cloudbuild*.yml",
    "cloudbuild*.json",
    ".semaphore/*.yml",
    ".semaphore/*.yaml",
    "/.travis.yml",
    "Jenkinsfile*",
    ".teamcity/settings.kts",
    "/bitbucket-pipelines.yml",
    "/.drone.yml",
    "/.drone.yaml",
    "/.woodpecker.yml",
    "/.woodpecker.yaml",
    ".woodpecker/*.yml",
    ".woodpecker/*.yaml",
    ".buildkite/*.yml",
    ".buildkite/*.yaml",
    "/.build.yml",
    ".builds/*.yml",
    "/.zuul.yaml",
    "zuul.d/*.yaml",
    ".ci/*",
]
# Workflows in a sub-folder's .github/: GitHub does not run them (named in the finding).
NESTED_WORKFLOWS = ["**/.github/workflows/*.yml", "**/.github/workflows/*.yaml"]
WORKFLOW_DIRS = (".github/workflows/", ".gitea/workflows/", ".forgejo/workflows/")
_ANCHORED = [p for p in CI_PATTERNS if "/" in p]


def _yaml() -> Any | None:
    try:
        return importlib.import_module("yaml")
    except ImportError:
        return None


_LOADERS: dict[int, Any] = {}


def tolerant_loader(yaml: Any) -> Any:
    """A PyYAML safe loader that reads a node with a tag it does not know (``!reference``,
    ``!Ref``…) as the plain mapping, list or string it carries."""
    cached = _LOADERS.get(id(yaml))
    if cached is not None:
        return cached

    def untagged(ld: Any, _suffix: str, node: Any) -> Any:
        if isinstance(node, yaml.MappingNode):
            return ld.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return ld.construct_sequence(node, deep=True)
        return ld.construct_scalar(node)

    loader: Any = type("TolerantLoader", (yaml.SafeLoader,), {})
    loader.add_multi_constructor("!", untagged)
    _LOADERS[id(yaml)] = loader
    return loader


def _is_ci(path: str) -> bool:
    """A matched path that counts: anything at the root or under a root CI folder, and
    files in sub-folders only inside project folders."""
    return "/" not in path or matches(path, _ANCHORED) or is_project_folder(dir_of(path))


class CiWorkflow(Check):
    id = "DEP-CI"
    title = "CI workflow"
    description = (
        "A CI configuration (GitHub Actions at the root, GitLab CI, AWS CodeBuild, Azure "
        "Pipelines, CircleCI, AppVeyor, Cirrus, Cloud Build, Semaphore, Travis, Jenkins, …) "
        "is present and parses. Score: share of CI files that are valid."
    )
    scope = "project"
    default_owner = "devops_engineer"
    default_weight = 1.0
    default_severity = Severity.WARNING

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return [*CI_PATTERNS, *NESTED_WORKFLOWS]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        matched = ctx.input_files()
        nested = [f for f in matched if "/.github/workflows/" in f]
        files = [f for f in matched if f not in nested and _is_ci(f)]
        nested = [f for f in nested if is_project_folder(f.split("/.github/", 1)[0])]
        if not files:
            message = (
                "no CI configuration: add a workflow that installs, tests and builds "
                "the project (e.g. .github/workflows/ci.yml)"
            )
            if nested:
                shown = ", ".join(nested[:3]) + (", …" if len(nested) > 3 else "")
                message += (
                    f"; GitHub runs workflows only from the root .github/workflows/, not {shown}"
                )
            return missing_file_outcome(ctx, ".github/workflows/ci.yml", message)
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
            docs = [d for d in yaml.load_all(text, Loader=tolerant_loader(yaml)) if d is not None]
        except yaml.constructor.ConstructorError:
            return []  # well-formed YAML whose values this loader cannot build
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line = int(getattr(mark, "line", 0) or 0)
            reason = str(getattr(exc, "problem", None) or exc).strip()
            return [
                ctx.finding(path, f"invalid YAML: {reason}", line=line, severity=Severity.ERROR)
            ]
        if not docs or not all(isinstance(d, dict) for d in docs):
            return [ctx.finding(path, f"{path} is not a YAML mapping", line=0)]
        if path.startswith(WORKFLOW_DIRS):
            data = docs[0]
            out = []
            # YAML 1.1 reads a bare `on` key as the boolean True
            if "on" not in data and True not in data:
                out.append(ctx.finding(path, "GitHub workflow has no `on` trigger", line=0))
            if not isinstance(data.get("jobs"), dict) or not data["jobs"]:
                out.append(ctx.finding(path, "GitHub workflow has no `jobs`", line=0))
            return out
        return []
