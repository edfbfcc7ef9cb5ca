"""DEP-METADATA: the package metadata is valid.

``pyproject.toml`` ``[project]`` (PEP 621): ``name`` (a PEP 508 name), ``version``
(PEP 440, unless listed in ``dynamic``), ``description`` (one line), ``requires-python``
(a valid specifier set) and ``readme`` (an existing file, or a table with ``file`` or
``text``). A Poetry project without ``[project]`` is read from ``[tool.poetry]``.
``package.json``: ``name`` (npm rules), ``version`` (semver), ``description``,
``license``. With neither file, a finding on ``pyproject.toml``.
Each finding sits on the line of the key concerned (or of its table).
Score: share of the checked fields that are valid.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from phasegate.checks._outcomes import missing_file_outcome
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.model import Finding, Range, Severity
from phasegate.toml_locate import TOMLDecodeError, key_positions, locate, toml_loads

if TYPE_CHECKING:
    from phasegate.config import Config

PEP508_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
NPM_NAME = re.compile(r"^(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
PEP621_FIELDS = ("name", "version", "description", "requires-python", "readme")
_TOML_ERR_POS = re.compile(r"at line (\d+), column (\d+)")


def normalize_name(name: str) -> str:
    """PEP 503 normalised form of a project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _is_version(value: Any) -> bool:
    """A string that is a valid PEP 440 version (a TOML number such as ``1.0`` is not)."""
    if not isinstance(value, str):
        return False
    try:
        Version(value)
    except InvalidVersion:
        return False
    return True


@dataclass
class _Report:
    ctx: CheckContext
    findings: list[Finding] = field(default_factory=list)
    checked: int = 0
    bad: int = 0

    def add(self, path: str, line: int, message: str, severity: Severity) -> None:
        self.bad += 1
        self.findings.append(
            self.ctx.finding(path, message, Range.lines(max(0, line)), severity=severity)
        )


def _check_pyproject(
    ctx: CheckContext, rep: _Report, path: str, text: str, has_package_json: bool = False
) -> None:
    try:
        data = toml_loads(text)
    except TOMLDecodeError as exc:
        m = _TOML_ERR_POS.search(str(exc))
        line = int(m.group(1)) - 1 if m else 0
        rep.checked += 1
        rep.add(path, line, f"pyproject.toml is not valid TOML: {exc}", Severity.ERROR)
        return
    positions = key_positions(text)

    def line_of(*keys: str | int) -> int:
        return locate(positions, keys)[0] - 1

    project = data.get("project")
    table = "project"
    if not isinstance(project, dict):
        poetry = (data.get("tool") or {}).get("poetry")
        if isinstance(poetry, dict):
            _check_poetry(rep, path, poetry, line_of)
            return
        if has_package_json:
            return  # a tool-only pyproject.toml next to package.json
        rep.checked += 1
        rep.add(path, 0, "no [project] table (PEP 621 metadata) in pyproject.toml", Severity.ERROR)
        return
    dynamic = project.get("dynamic") or []
    if not isinstance(dynamic, list):
        dynamic = []
    rep.checked += len(PEP621_FIELDS)

    name = project.get("name")
    if "name" in dynamic:
        rep.add(path, line_of(table, "dynamic"), "`name` must not be dynamic", Severity.ERROR)
    elif not isinstance(name, str) or not name:
        rep.add(path, line_of(table), "[project] has no `name`", Severity.ERROR)
    elif not PEP508_NAME.match(name):
        rep.add(
            path,
            line_of(table, "name"),
            f"`name` {name!r} is not a valid project name (letters, digits, `-`, `_`, `.`; "
            "starting and ending with a letter or digit)",
            Severity.ERROR,
        )

    version = project.get("version")
    if "version" in dynamic:
        if version is not None:
            rep.add(
                path,
                line_of(table, "version"),
                "`version` is both set and listed in `dynamic`",
                Severity.ERROR,
            )
    elif version is None:
        rep.add(
            path,
            line_of(table),
            "[project] has no `version` (set it, or list it in `dynamic`)",
            Severity.ERROR,
        )
    elif not _is_version(version):
        rep.add(
            path,
            line_of(table, "version"),
            f"`version` {version!r} is not a valid PEP 440 version",
            Severity.ERROR,
        )

    desc = project.get("description")
    if "description" not in dynamic:
        if not isinstance(desc, str) or not desc.strip():
            rep.add(path, line_of(table), "[project] has no `description`", Severity.WARNING)
        elif "\n" in desc.strip():
            rep.add(
                path,
                line_of(table, "description"),
                "`description` must be a single line",
                Severity.WARNING,
            )

    rp = project.get("requires-python")
    if "requires-python" not in dynamic:
        if rp is None:
            rep.add(
                path,
                line_of(table),
                '[project] has no `requires-python` (e.g. ">=3.10")',
                Severity.WARNING,
            )
        else:
            try:
                if not isinstance(rp, str):
                    raise InvalidSpecifier(str(rp))
                SpecifierSet(rp)
            except InvalidSpecifier:
                rep.add(
                    path,
                    line_of(table, "requires-python"),
                    f"`requires-python` {rp!r} is not a valid version specifier",
                    Severity.ERROR,
                )

    readme = project.get("readme")
    if "readme" not in dynamic:
        _check_readme(ctx, rep, path, readme, line_of(table, "readme"), line_of(table))


def _check_readme(
    ctx: CheckContext, rep: _Report, path: str, readme: Any, line: int, table_line: int
) -> None:
    ws = ctx.workspace
    if readme is None:
        rep.add(path, table_line, "[project] has no `readme`", Severity.WARNING)
    elif isinstance(readme, str):
        if not ws.exists(readme):
            rep.add(path, line, f"`readme` file {readme!r} does not exist", Severity.ERROR)
    elif isinstance(readme, dict):
        file, text = readme.get("file"), readme.get("text")
        if file is not None and text is not None:
            rep.add(path, line, "`readme` sets both `file` and `text`", Severity.ERROR)
        elif isinstance(file, str):
            if not ws.exists(file):
                rep.add(path, line, f"`readme` file {file!r} does not exist", Severity.ERROR)
        elif not isinstance(text, str):
            rep.add(path, line, "`readme` table needs `file` or `text`", Severity.ERROR)
        if "content-type" not in readme:
            rep.add(path, line, "`readme` table needs `content-type`", Severity.ERROR)
    else:
        rep.add(path, line, "`readme` must be a path or a table", Severity.ERROR)


def _check_poetry(rep: _Report, path: str, poetry: dict[str, Any], line_of: Any) -> None:
    table = ("tool", "poetry")
    rep.checked += 3
    name, version, desc = poetry.get("name"), poetry.get("version"), poetry.get("description")
    if not isinstance(name, str) or not PEP508_NAME.match(name):
        rep.add(
            path, line_of(*table, "name"), "[tool.poetry] `name` missing or invalid", Severity.ERROR
        )
    if not _is_version(version):
        rep.add(
            path,
            line_of(*table, "version"),
            f"[tool.poetry] `version` {version!r} is not a valid PEP 440 version",
            Severity.ERROR,
        )
    if not isinstance(desc, str) or not desc.strip():
        rep.add(path, line_of(*table), "[tool.poetry] has no `description`", Severity.WARNING)


def _json_key_line(text: str, key: str) -> int:
    m = re.search(rf'^\s*"{re.escape(key)}"\s*:', text, re.MULTILINE)
    return text.count("\n", 0, m.start()) if m else 0


def _check_package_json(rep: _Report, path: str, text: str) -> None:
    try:
        data = json.loads(text)
    except ValueError as exc:
        rep.checked += 1
        line = getattr(exc, "lineno", 1) - 1
        rep.add(path, line, f"package.json is not valid JSON: {exc}", Severity.ERROR)
        return
    if not isinstance(data, dict):
        rep.checked += 1
        rep.add(path, 0, "package.json is not a JSON object", Severity.ERROR)
        return
    rep.checked += 4
    private = data.get("private") is True
    name = data.get("name")
    if not isinstance(name, str) or not name:
        if not private:
            rep.add(path, 0, "package.json has no `name`", Severity.ERROR)
    elif len(name) > 214 or not NPM_NAME.match(name):
        rep.add(
            path,
            _json_key_line(text, "name"),
            f"`name` {name!r} is not a valid npm package name (lowercase, URL-safe, ≤214)",
            Severity.ERROR,
        )
    version = data.get("version")
    if not isinstance(version, str) or not version:
        if not private:
            rep.add(path, 0, "package.json has no `version`", Severity.ERROR)
    elif not SEMVER.match(version):
        rep.add(
            path,
            _json_key_line(text, "version"),
            f"`version` {version!r} is not a semantic version (MAJOR.MINOR.PATCH)",
            Severity.ERROR,
        )
    desc = data.get("description")
    if not isinstance(desc, str) or not desc.strip():
        rep.add(path, 0, "package.json has no `description`", Severity.WARNING)
    lic = data.get("license")
    if not isinstance(lic, str) or not lic.strip():
        rep.add(path, 0, "package.json has no `license`", Severity.WARNING)


class PackageMetadata(Check):
    id = "DEP-METADATA"
    title = "Package metadata"
    description = (
        "pyproject.toml [project] (PEP 621) or package.json metadata is complete and valid. "
        "Score: share of the checked fields that are valid."
    )
    scope = "project"
    default_owner = "devops_engineer"
    default_weight = 1.0
    default_severity = Severity.WARNING

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["pyproject.toml", "package.json", "README*", "readme*"]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        ws = ctx.workspace
        rep = _Report(ctx)
        pyproject = ws.read_text("pyproject.toml")
        package_json = ws.read_text("package.json")
        if pyproject is None and package_json is None:
            return missing_file_outcome(
                ctx,
                "pyproject.toml",
                "no package metadata: pyproject.toml (or package.json) is missing",
                severity=Severity.ERROR,
            )
        if pyproject is not None:
            _check_pyproject(ctx, rep, "pyproject.toml", pyproject, package_json is not None)
        if package_json is not None:
            _check_package_json(rep, "package.json", package_json)
        score = 1.0 - rep.bad / rep.checked if rep.checked else 1.0
        return CheckOutcome(findings=rep.findings, score=max(0.0, score))
