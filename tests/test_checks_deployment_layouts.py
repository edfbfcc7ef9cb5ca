"""Deployment checks on projects laid out otherwise than one root package: sub-projects,
setuptools-only metadata, changelogs in docs/ or as fragments, CI other than GitHub
Actions, READMEs in sub-projects or with other headings.

Each false positive measured on real projects is a regression test here, next to the
true findings that must stay."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phasegate.checks.deployment.changelog import version_entries
from phasegate.checks.deployment.layout import is_project_folder, project_dirs
from phasegate.config import CheckConfig, Config, PhaseConfig
from phasegate.model import CheckResult
from phasegate.runner import GateRunner
from phasegate.workspace import Workspace


def run(root: Path, check: str) -> CheckResult:
    cfg = Config(phases=[PhaseConfig(name="deployment", checks=[CheckConfig(id=check)])])
    gate = GateRunner(Workspace(root), cfg).evaluate("deployment", 0.6)
    (res,) = gate.checks
    return res


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def got(res: CheckResult) -> list[tuple[str, int, str]]:
    return [(f.path, f.range.start.line, f.message) for f in res.findings]


GOOD_PEP621 = (
    '[project]\nname = "app"\nversion = "0.1.0"\ndescription = "The app"\n'
    'requires-python = ">=3.10"\nreadme = "README.md"\n'
)
GOOD_PACKAGE_JSON = json.dumps(
    {"name": "web", "version": "1.0.0", "description": "The UI", "license": "MIT"}, indent=2
)


# -- layout --------------------------------------------------------------------------------


def test_project_folders() -> None:
    assert is_project_folder("") and is_project_folder("packages/core")
    for folder in ("tests/fixtures/x", "examples/demo", "docs", ".github", "{{cookiecutter.x}}"):
        assert not is_project_folder(folder), folder
    assert not is_project_folder("a/b/c/d")
    files = ["pyproject.toml", "backend/pyproject.toml", "frontend/package.json", "x.py"]
    assert project_dirs([*files, "tests/data/setup.py"]) == ["", "backend", "frontend"]


# -- DEP-METADATA --------------------------------------------------------------------------


def test_metadata_in_one_sub_project_is_found(tmp_path: Path) -> None:
    write(tmp_path, {"app/pyproject.toml": GOOD_PEP621, "app/README.md": "# app\n"})
    res = run(tmp_path, "DEP-METADATA")
    assert res.passed and not res.findings and res.score == 1.0


def test_backend_and_frontend_are_each_judged_on_their_own_lines(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "backend/pyproject.toml": GOOD_PEP621.replace('"0.1.0"', '"one"'),
            "backend/README.md": "# api\n",
            "frontend/package.json": GOOD_PACKAGE_JSON,
        },
    )
    res = run(tmp_path, "DEP-METADATA")
    assert got(res) == [
        ("backend/pyproject.toml", 2, "`version` 'one' is not a valid PEP 440 version")
    ]
    # the sub-project's readme is relative to its own pyproject.toml
    assert not any("readme" in m for _, _, m in got(res))


def test_workspace_packages_each_judged(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "package.json": json.dumps({"private": True, "workspaces": ["packages/*"]}),
            "packages/a/package.json": GOOD_PACKAGE_JSON,
            "packages/b/package.json": json.dumps(
                {"name": "Bad Name", "version": "1.0.0", "description": "d", "license": "MIT"},
                indent=2,
            ),
        },
    )
    res = run(tmp_path, "DEP-METADATA")
    (finding,) = res.findings
    assert finding.path == "packages/b/package.json" and finding.range.start.line == 1
    assert "not a valid npm package name" in finding.message


def test_private_package_json_needs_no_description_or_license(tmp_path: Path) -> None:
    write(tmp_path, {"frontend/package.json": json.dumps({"name": "ui", "private": True})})
    assert run(tmp_path, "DEP-METADATA").findings == []


def test_tool_only_root_pyproject_with_a_sub_project(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.uv.workspace]\nmembers = ["backend"]\n',
            "backend/pyproject.toml": GOOD_PEP621.replace(
                'readme = "README.md"', 'readme = "../README.md"'
            ),
            "README.md": "# x\n",
        },
    )
    assert run(tmp_path, "DEP-METADATA").findings == []


def test_copies_of_projects_in_tests_and_examples_are_not_judged(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": GOOD_PEP621,
            "README.md": "# x\n",
            "tests/fixtures/broken/pyproject.toml": "[project]\nname = 'bad name'\n",
            "examples/demo/package.json": "{not json",
        },
    )
    assert run(tmp_path, "DEP-METADATA").findings == []


SETUP_PY = """\
from setuptools import setup

VERSION = "2.0.1"

setup(
    name="oldpkg",
    version=VERSION,
    description="An old package",
    python_requires=">=3.7",
)
"""


def test_setup_py_only_project(tmp_path: Path) -> None:
    write(tmp_path, {"setup.py": SETUP_PY})
    res = run(tmp_path, "DEP-METADATA")
    assert res.passed and not res.findings and res.score == 1.0


def test_setup_py_bad_values_at_their_lines(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"setup.py": SETUP_PY.replace('"2.0.1"', '"two"').replace(">=3.7", "3.7+")},
    )
    assert got(run(tmp_path, "DEP-METADATA")) == [
        ("setup.py", 6, "`version` 'two' is not a valid PEP 440 version"),
        ("setup.py", 8, "`python_requires` '3.7+' is not a valid version specifier"),
    ]


def test_setup_py_computed_values_and_kwargs_are_not_judged(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "setup.py": "import setuptools\nfrom pkg import __version__\n\n"
            "def main(**kw):\n    setuptools.setup(name='pkg', version=__version__, **kw)\n",
        },
    )
    assert run(tmp_path, "DEP-METADATA").findings == []


def test_setup_py_without_name_is_a_finding_on_the_call(tmp_path: Path) -> None:
    write(tmp_path, {"setup.py": "from setuptools import setup\n\nsetup(version='1.0')\n"})
    assert got(run(tmp_path, "DEP-METADATA")) == [
        ("setup.py", 2, "no `name` in setup.py"),
        ("setup.py", 2, "no `description` in setup.py"),
    ]


SETUP_CFG = """\
[metadata]
name = MarkupLike
version = attr: markuplike.__version__
description = Safely add strings

[options]
python_requires = >=3.7
"""


def test_setup_cfg_metadata_with_tool_only_pyproject(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n',
            "setup.cfg": SETUP_CFG,
            "setup.py": "from setuptools import setup\n\nsetup()\n",
        },
    )
    res = run(tmp_path, "DEP-METADATA")
    assert res.passed and not res.findings


def test_setup_cfg_invalid_name_at_its_line(tmp_path: Path) -> None:
    write(tmp_path, {"setup.cfg": SETUP_CFG.replace("MarkupLike", "markup like")})
    (finding,) = run(tmp_path, "DEP-METADATA").findings
    assert (finding.path, finding.range.start.line) == ("setup.cfg", 1)
    assert "not a valid project name" in finding.message


def test_poetry_application_without_package_mode(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[tool.poetry]\npackage-mode = false\n"})
    assert run(tmp_path, "DEP-METADATA").findings == []


def test_metadata_true_findings_remain(tmp_path: Path) -> None:
    res = run(tmp_path, "DEP-METADATA")
    assert res.findings[0].missing_file and res.findings[0].path == "pyproject.toml"
    write(tmp_path, {"pyproject.toml": "[tool.ruff]\nline-length = 100\n"})
    assert got(run(tmp_path, "DEP-METADATA")) == [
        ("pyproject.toml", 0, "no [project] table (PEP 621 metadata) in pyproject.toml")
    ]
    # a setup.cfg of tool settings is no metadata either
    write(tmp_path, {"setup.cfg": "[flake8]\nmax-line-length = 100\n"})
    assert not run(tmp_path, "DEP-METADATA").passed


# -- DEP-CHANGELOG -------------------------------------------------------------------------

RST_VERSION = (
    "Version history\n===============\n\nVersion 2.0.1\n-------------\n\nReleased 2024-01-01\n"
)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("docs/versions.rst", RST_VERSION),
        ("docs/changelog.rst", "Changelog\n=========\n\n2.0.1 (2024-01-01)\n------------------\n"),
        ("docs/changes.rst", "Changes\n=======\n\nv1.2\n----\n\n- fixed\n"),
        ("docs/history.rst", "History\n=======\n\n1.2.0\n-----\n"),
        ("HISTORY.rst", "History\n=======\n\n1.2.0 (2020-01-01)\n++++++++++++++++++\n"),
        ("NEWS.md", "# News\n\n## 1.0.0 / 2020-01-01\n"),
        ("CHANGES.rst", "Version 3.0.0\n-------------\n\nReleased 2023-09-30\n"),
        (
            "RELEASE_NOTES.md",
            "# Release notes\n\n### [1.0.0](https://x.test/v1.0.0) (2020-01-01)\n",
        ),
        ("RELEASES.md", "Changes in 1.2\n==============\n"),
        ("docs/release-notes.md", "# Release notes\n\n## [1.0.0] - 2020-01-01\n### Added\n"),
        ("docs/whatsnew/index.rst", "What's New in 2.1\n=================\n\n.. toctree::\n"),
        ("backend/CHANGELOG.md", "# Changelog\n\n## 0.3.0\n"),
        ("packages/core/CHANGES.md", "## v1.2.3 (2024-02-02)\n"),
        ("docs/news.rst", "Release Notes\n=============\n\n**0.43.0 (2024-03-11)**\n"),
        ("docs/versions.rst", ".. _history:\n\nVersion history\n===============\n\n- ``0.6.0``\n"),
        ("CHANGELOG.rst", ".. towncrier release notes start\n\npluggy 1.6.0 (2025-05-15)\n====\n"),
    ],
)
def test_changelog_places_and_formats(tmp_path: Path, path: str, text: str) -> None:
    write(tmp_path, {path: text})
    res = run(tmp_path, "DEP-CHANGELOG")
    assert res.passed and not res.findings, (path, got(res))


def test_whatsnew_pages_named_by_version(tmp_path: Path) -> None:
    write(tmp_path, {"docs/whatsnew/3.2.rst": "Highlights\n==========\n\nfaster\n"})
    assert run(tmp_path, "DEP-CHANGELOG").passed


@pytest.mark.parametrize(
    "files",
    [
        {"changelog.d/123.added.md": "Add a flag\n", "pyproject.toml": "[tool.towncrier]\n"},
        {"newsfragments/45.bugfix.rst": "Fix the thing\n"},
        {"changelog.d/.gitkeep": ""},
        {"towncrier.toml": '[tool.towncrier]\ndirectory = "CHANGES"\n'},
        {"src/pkg/newsfragments/9.feature": "x\n"},
        {".changeset/config.json": "{}\n"},
        {".github/release-drafter.yml": "template: $CHANGES\n"},
        # the released changelog has only the towncrier marker yet
        {"CHANGES.rst": ".. towncrier release notes start\n", "changelog.d/1.md": "x\n"},
    ],
)
def test_changelog_fragments_are_a_practice(tmp_path: Path, files: dict[str, str]) -> None:
    write(tmp_path, files)
    res = run(tmp_path, "DEP-CHANGELOG")
    assert res.passed and not res.findings, got(res)


def test_changelog_true_findings_remain(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "src/app/changes.py": "x = 1\n",
            "tests/fixtures/CHANGELOG.md": "## 1.0.0\n",
            "debian/changelog": "app (1.0-1) unstable; urgency=low\n",
            "RELEASE.md": "# How to release\n\n1. bump\n",
        },
    )
    res = run(tmp_path, "DEP-CHANGELOG")
    assert [(f.path, f.missing_file) for f in res.findings] == [("CHANGELOG.md", True)]
    write(tmp_path, {"docs/changelog.md": "# Changelog\n\n## Unreleased\n\n- work\n"})
    assert got(run(tmp_path, "DEP-CHANGELOG")) == [
        (
            "docs/changelog.md",
            0,
            'docs/changelog.md has no version entry (e.g. "## [0.1.0] - 2024-01-01")',
        )
    ]


def test_version_entry_formats() -> None:
    text = "\n".join(
        [
            "Changelog",  # 0
            "=========",
            "Unreleased",  # 2
            "----------",
            "Version 2.0.1",  # 4
            "-------------",
            "Released 2023-05-01",  # 6
            "## 1.0.0 / 2020-01-01",  # 7
            "### [1.0.0](https://x.test) (2020-01-01)",  # 8
            "Changes in 1.2",  # 9
            "## 2024-05-02",  # 10
            "- :release:`1.2.0 <2020-01-01>`",  # 11
            "Some prose about Python.",  # 12
        ]
    )
    assert version_entries(text) == [4, 6, 7, 8, 9, 10, 11]


# -- DEP-CI --------------------------------------------------------------------------------

GITLAB = """\
.setup:
  script:
    - pip install .

test:
  stage: test
  script:
    - !reference [.setup, script]
    - pytest
"""


@pytest.mark.parametrize(
    "path",
    [
        ".gitlab-ci.yml",
        ".gitlab-ci.yaml",
        ".gitlab/ci/test.yml",
        "buildspec.yml",
        "buildspec-prod.yml",
        "deploy/aws/buildspec.yaml",
        "azure-pipelines.yml",
        "azure-pipelines.yaml",
        ".azure-pipelines/ci.yml",
        ".pipelines/build.yml",
        ".circleci/config.yml",
        ".circleci/config.yaml",
        "appveyor.yml",
        ".appveyor.yml",
        ".cirrus.yml",
        "cloudbuild.yaml",
        ".semaphore/semaphore.yml",
        ".travis.yml",
        "Jenkinsfile",
        "Jenkinsfile.release",
        "ci/Jenkinsfile",
    ],
)
def test_ci_systems_are_recognised(tmp_path: Path, path: str) -> None:
    text = "pipeline { stages { } }\n" if "Jenkinsfile" in path else GITLAB
    write(tmp_path, {path: text})
    res = run(tmp_path, "DEP-CI")
    assert res.passed and not res.findings and res.score == 1.0, got(res)


def test_gitlab_spec_header_is_a_second_document(tmp_path: Path) -> None:
    write(
        tmp_path,
        {".gitlab-ci.yml": "spec:\n  inputs:\n    publish:\n      default: true\n---\n" + GITLAB},
    )
    assert run(tmp_path, "DEP-CI").findings == []


def test_ci_true_findings_remain(tmp_path: Path) -> None:
    write(tmp_path, {"tests/fixtures/buildspec.yml": "version: 0.2\n"})
    res = run(tmp_path, "DEP-CI")
    assert res.findings[0].missing_file and res.score == 0.0
    write(tmp_path, {".gitlab-ci.yml": "test:\n  script: [pytest\n"})
    ((path, line, message),) = got(run(tmp_path, "DEP-CI"))
    assert path == ".gitlab-ci.yml" and line == 2 and message.startswith("invalid YAML")


def test_workflows_of_a_sub_folder_are_not_run_by_github(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"backend/.github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: x\n"},
    )
    (finding,) = run(tmp_path, "DEP-CI").findings
    assert finding.missing_file and finding.path == ".github/workflows/ci.yml"
    assert "not backend/.github/workflows/ci.yml" in finding.message


# -- DEP-README ----------------------------------------------------------------------------


def test_readme_of_a_sub_project_when_the_root_has_none(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "backend/pyproject.toml": GOOD_PEP621,
            "backend/README.rst": "Backend\n=======\n\nInstallation\n------------\n\ntext\n",
            "frontend/package.json": GOOD_PACKAGE_JSON,
            "frontend/README.md": "# UI\n\n## Usage\n\nOpen the page.\n",
        },
    )
    res = run(tmp_path, "DEP-README")
    assert res.passed and not res.findings
    (tmp_path / "frontend" / "README.md").write_text("# UI\n")
    assert got(run(tmp_path, "DEP-README")) == [
        (
            "backend/README.rst",
            0,
            'backend/README.rst has no usage section (a heading such as "Usage")',
        )
    ]


@pytest.mark.parametrize(
    ("install", "usage"),
    [
        ("Installing", "Usage"),
        ("Requirements and installation", "Usage"),
        ("Quickstart", "Quickstart"),
        ("Getting Started", "Getting Started"),
        ("Installation", "Basic usage"),
        ("How to run", "How to run"),
        ("Running locally", "Running locally"),
        ("Development setup", "API"),
        ("Install", "Example"),
    ],
)
def test_readme_headings(tmp_path: Path, install: str, usage: str) -> None:
    body = f"# Tool\n\n## {install}\n\ntext\n\n## {usage}\n\ntext\n"
    if install == usage:
        body = f"# Tool\n\n## {install}\n\ntext\n"
    write(tmp_path, {"README.md": body})
    res = run(tmp_path, "DEP-README")
    assert res.passed and not res.findings, got(res)


def test_readme_install_command_and_code_example_without_headings(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "README.md": "# httpish\n\nInstall it:\n\n```shell\n$ pip install httpish\n```\n\n"
            "Then:\n\n```pycon\n>>> import httpish\n>>> httpish.get('https://x.test')\n```\n"
        },
    )
    assert run(tmp_path, "DEP-README").findings == []


def test_readme_rst_literal_blocks_and_html_headings(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "README.rst": "tool\n====\n\nUse ``pip``::\n\n    pip install tool\n\n"
            ".. code-block:: python\n\n    import tool\n    tool.run()\n"
        },
    )
    assert run(tmp_path, "DEP-README").findings == []
    write(
        tmp_path,
        {"README.md": '<h2 align="center">Installation</h2>\n\n# Usage\n\ntext\n'},
    )
    (tmp_path / "README.rst").unlink()
    assert run(tmp_path, "DEP-README").findings == []


def test_readme_true_findings_remain(tmp_path: Path) -> None:
    # "#." starts an enumerated list item in reStructuredText, not a heading
    write(
        tmp_path,
        {
            "README.rst": "wheel\n=====\n\nIt has two roles:\n\n#. A setuptools extension\n"
            "#. A command line tool\n\nDocumentation\n-------------\n\nOn Read the Docs.\n"
        },
    )
    res = run(tmp_path, "DEP-README")
    assert [m for _, _, m in got(res)] == [
        'README.rst has no installation section (a heading such as "Installation")',
        'README.rst has no usage section (a heading such as "Usage")',
    ]
    # a code block of prose is no example
    (tmp_path / "README.rst").unlink()
    write(tmp_path, {"README.md": "# x\n\n```\nthis is text in a block\n```\n\n## Install\n"})
    assert [m for _, _, m in got(run(tmp_path, "DEP-README"))] == [
        'README.md has no usage section (a heading such as "Usage")'
    ]


def test_vendored_web_assets_are_not_sub_projects(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": GOOD_PEP621,
            "README.md": "# x\n",
            "static/mathquill/package.json": json.dumps({"name": "mathquill"}),
            "static/ckeditor/CHANGES.md": "## 4.0.0\n",
        },
    )
    assert run(tmp_path, "DEP-METADATA").findings == []
    assert run(tmp_path, "DEP-CHANGELOG").findings[0].missing_file


# -- DEP-DOCKERFILE ------------------------------------------------------------------------


def test_dockerfiles_of_test_fixtures_and_templates_are_left_out(tmp_path: Path) -> None:
    bad = "FROM python:latest\n"
    write(
        tmp_path,
        {
            "tests/fixtures/bad/Dockerfile": bad,
            "{{cookiecutter.slug}}/Dockerfile": "FROM python:{{ cookiecutter.py }}\n",
            "services/api/Dockerfile": bad,
        },
    )
    res = run(tmp_path, "DEP-DOCKERFILE")
    assert {f.path for f in res.findings} == {"services/api/Dockerfile"}


# -- incremental re-runs: every file a check reads is among its inputs ------------------------


@pytest.mark.parametrize(
    ("path", "check"),
    [
        ("backend/pyproject.toml", "DEP-METADATA"),
        ("setup.py", "DEP-METADATA"),
        ("lib/setup.cfg", "DEP-METADATA"),
        ("frontend/package.json", "DEP-README"),
        ("docs/versions.rst", "DEP-CHANGELOG"),
        ("docs/whats_new/1.2.rst", "DEP-CHANGELOG"),
        ("changelog.d/12.added.md", "DEP-CHANGELOG"),
        ("src/pkg/newsfragments/3.bugfix", "DEP-CHANGELOG"),
        (".github/release-drafter.yml", "DEP-CHANGELOG"),
        ("towncrier.toml", "DEP-CHANGELOG"),
        (".gitlab/ci/test.yml", "DEP-CI"),
        ("deploy/buildspec-prod.yml", "DEP-CI"),
        (".azure-pipelines/ci.yml", "DEP-CI"),
        ("backend/.github/workflows/ci.yml", "DEP-CI"),
    ],
)
def test_changed_file_selects_the_check(tmp_path: Path, path: str, check: str) -> None:
    ids = ["DEP-METADATA", "DEP-README", "DEP-CI", "DEP-CHANGELOG"]
    cfg = Config(phases=[PhaseConfig(name="deployment", checks=[CheckConfig(id=i) for i in ids])])
    runner = GateRunner(Workspace(tmp_path), cfg)
    assert check in {rc.config.id for rc in runner.checks_for_paths([path])}


def test_a_changelog_kept_in_the_readme_counts(tmp_path: Path) -> None:
    """docopt keeps its changelog as a README section listing every version."""
    (tmp_path / "README.rst").write_text(
        "tool\n====\n\nUsage\n-----\n\nrun it\n\nChangelog\n---------\n\n"
        "- 0.6.2 bugfix release\n- 0.6.1 fix\n"
    )
    res = run(tmp_path, "DEP-CHANGELOG")
    assert res.passed and res.findings == []
    (tmp_path / "README.rst").write_text("tool\n====\n\nUsage\n-----\n\nrun it\n")
    res = run(tmp_path, "DEP-CHANGELOG")
    assert not res.passed
