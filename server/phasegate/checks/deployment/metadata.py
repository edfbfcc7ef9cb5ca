"""DEP-METADATA: the package metadata is valid.

Read in the workspace root and in each sub-project (a folder up to three levels down with
a package manifest, such as ``app/``, ``backend/``, ``frontend/`` or ``packages/core/``;
not tests, fixtures, examples, docs, templates, web assets or vendored code), so a
project whose metadata lives in a sub-project is judged on that sub-project's files.

``pyproject.toml`` ``[project]`` (PEP 621): ``name`` (a PEP 508 name), ``version``
(PEP 440, unless listed in ``dynamic``), ``description`` (one line), ``requires-python``
(a valid specifier set) and ``readme`` (an existing file, relative to that
``pyproject.toml``, or a table with ``file`` or ``text``). Without ``[project]``: a
Poetry project is read from ``[tool.poetry]`` (nothing is required of an application
with ``package-mode = false``), a legacy Flit one from ``[tool.flit.metadata]``, and a
setuptools one from ``setup.cfg`` ``[metadata]`` (``summary`` for ``description``;
``[options]`` ``python_requires``) and the keyword arguments of ``setup(...)`` in
``setup.py``: ``name``, ``version`` and ``description``, and ``python_requires`` when
given. Literal strings are judged (module-level string constants are followed); computed
values and ``attr:``/``file:`` directives are not. A missing ``version`` is fine when a
version plugin is in use (setuptools-scm, versioneer, pbr…); nothing is reported missing
when ``setup()`` also takes ``**kwargs`` or ``setup.py`` cannot be parsed.
``package.json``: ``name`` (npm rules), ``version`` (semver), ``description``,
``license`` (a ``"private": true`` package is never published: only the ``name`` and
``version`` it sets are judged).

With no metadata anywhere, one finding: on the first ``pyproject.toml`` that has none of
the tables above (the root's first), else on ``pyproject.toml`` where it should be
created. Each finding sits on the line of the key concerned (or of its table, or of the
``setup(`` call, or of ``[metadata]``). Score: share of the checked fields that are valid.
"""

from __future__ import annotations

import ast
import json
import posixpath
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from phasegate.checks._outcomes import missing_file_outcome
from phasegate.checks.base import Check, CheckContext, CheckOutcome
from phasegate.checks.deployment.layout import join, project_dirs
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


def _check_pyproject(ctx: CheckContext, rep: _Report, folder: str, path: str, text: str) -> bool:
    """Judge ``[project]`` (or ``[tool.poetry]``, ``[tool.flit.metadata]``); False when
    the file has none of them (a tool-only ``pyproject.toml``)."""
    try:
        data = toml_loads(text)
    except TOMLDecodeError as exc:
        m = _TOML_ERR_POS.search(str(exc))
        line = int(m.group(1)) - 1 if m else 0
        rep.checked += 1
        rep.add(path, line, f"{path} is not valid TOML: {exc}", Severity.ERROR)
        return True
    positions = key_positions(text)

    def line_of(*keys: str | int) -> int:
        return locate(positions, keys)[0] - 1

    project = data.get("project")
    table = "project"
    if not isinstance(project, dict):
        tool = data.get("tool")
        tool = tool if isinstance(tool, dict) else {}
        poetry = tool.get("poetry")
        if isinstance(poetry, dict):
            if poetry.get("package-mode") is not False:  # false: an application, no package
                _check_poetry(rep, path, poetry, line_of)
            return True
        flit = tool.get("flit")
        flit_meta = flit.get("metadata") if isinstance(flit, dict) else None
        if isinstance(flit_meta, dict):
            _check_flit(rep, path, flit_meta, line_of)
            return True
        return False
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
        _check_readme(ctx, rep, folder, path, readme, line_of(table, "readme"), line_of(table))
    return True


def pyproject_finding_lines(ctx: CheckContext, path: str, text: str) -> set[int]:
    """The 0-based lines this check reports findings on in ``path``, a
    ``pyproject.toml`` whose text is ``text`` (IMPL-LINT leaves ruff's RUF200 out where
    this check reports the same line: one cause, one finding)."""
    rep = _Report(ctx)
    _check_pyproject(ctx, rep, posixpath.dirname(path), path, text)
    return {f.range.start.line for f in rep.findings}


def _readme_exists(ctx: CheckContext, folder: str, file: str) -> bool:
    """True when ``file`` (relative to the folder of the ``pyproject.toml``) exists, or
    lies outside the workspace (then it cannot be judged)."""
    rel = posixpath.normpath(join(folder, file))
    if rel.startswith("../") or rel == ".." or posixpath.isabs(file):
        return True
    return ctx.workspace.exists(rel)


def _check_readme(
    ctx: CheckContext,
    rep: _Report,
    folder: str,
    path: str,
    readme: Any,
    line: int,
    table_line: int,
) -> None:
    if readme is None:
        rep.add(path, table_line, "[project] has no `readme`", Severity.WARNING)
    elif isinstance(readme, str):
        if not _readme_exists(ctx, folder, readme):
            rep.add(path, line, f"`readme` file {readme!r} does not exist", Severity.ERROR)
    elif isinstance(readme, dict):
        file, text = readme.get("file"), readme.get("text")
        if file is not None and text is not None:
            rep.add(path, line, "`readme` sets both `file` and `text`", Severity.ERROR)
        elif isinstance(file, str):
            if not _readme_exists(ctx, folder, file):
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


def _check_flit(rep: _Report, path: str, meta: dict[str, Any], line_of: Any) -> None:
    """Legacy Flit ``[tool.flit.metadata]``: the distribution name (``dist-name``, else
    ``module``); version and description come from the module itself."""
    table = ("tool", "flit", "metadata")
    rep.checked += 1
    key = "dist-name" if "dist-name" in meta else "module"
    name = meta.get(key)
    if not isinstance(name, str) or not PEP508_NAME.match(name):
        rep.add(
            path,
            line_of(*table, key),
            f"[tool.flit.metadata] `{key}` missing or invalid",
            Severity.ERROR,
        )


# -- setuptools without pyproject metadata: setup.cfg [metadata] and setup.py setup(...) --

# The version comes from a plugin (git tags, versioneer, pbr): not having one is fine.
_VERSION_PLUGIN = re.compile(
    r"setuptools[_-]scm|use_scm_version|\bpbr\b|versioneer|setuptools[_-]git[_-]versioning|"
    r"version_config|setuptools[_-]vcs",
    re.IGNORECASE,
)


@dataclass
class _Value:
    """A metadata value found in a file: ``text`` is None when it is computed."""

    path: str
    line: int  # 0-based
    text: str | None


@dataclass
class _Setuptools:
    values: dict[str, _Value] = field(default_factory=dict)
    anchor: tuple[str, int] | None = None  # where a missing field is reported
    complete: bool = True  # False when setup() also takes **kwargs: absence is unknown


def _ini_values(text: str) -> dict[tuple[str, str], tuple[str, int]]:
    """(section, key) -> (value, 0-based line) of an INI file such as ``setup.cfg``
    (keys lower case with ``-`` as ``_``; continuation lines joined with newlines). A
    section header is recorded under the key ""."""
    out: dict[tuple[str, str], tuple[str, int]] = {}
    section: str | None = None
    key: str | None = None
    for i, line in enumerate(text.splitlines()):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        header = re.match(r"^\[([^\]]+)\]", line)
        if header:
            section, key = header.group(1).strip().lower(), None
            out.setdefault((section, ""), ("", i))
            continue
        if section is None:
            continue
        if line[0] in " \t":
            if key is not None:
                value, at = out[(section, key)]
                out[(section, key)] = (f"{value}\n{stripped}".strip(), at)
            continue
        m = re.match(r"^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$", line)
        if m:
            key = m.group(1).strip().lower().replace("-", "_")
            out[(section, key)] = (m.group(2).strip(), i)
    return out


def _setup_cfg(path: str, text: str, into: _Setuptools) -> None:
    ini = _ini_values(text)
    header = ini.get(("metadata", ""))
    if header is None:
        return
    into.anchor = (path, header[1])
    for field_, keys in (
        ("name", ("name",)),
        ("version", ("version",)),
        ("description", ("description", "summary")),
    ):
        for key in keys:
            if ("metadata", key) in ini:
                value, line = ini[("metadata", key)]
                directive = value.startswith(("attr:", "file:"))
                into.values[field_] = _Value(path, line, None if directive else value)
                break
    if ("options", "python_requires") in ini:
        value, line = ini[("options", "python_requires")]
        into.values["python_requires"] = _Value(path, line, value)


def _is_setup_call(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id == "setup"
    if isinstance(func, ast.Attribute) and func.attr == "setup":
        base = func.value
        return (isinstance(base, ast.Name) and base.id in {"setuptools", "core"}) or (
            isinstance(base, ast.Attribute) and base.attr == "core"
        )
    return False


def _module_strings(tree: ast.Module) -> dict[str, str]:
    """Module-level names bound once to a string literal (``VERSION = "1.0"``)."""
    seen: dict[str, int] = {}
    values: dict[str, str] = {}
    for stmt in tree.body:
        value: ast.expr | None
        if isinstance(stmt, ast.Assign):
            targets = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
            value = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            targets, value = [stmt.target.id], stmt.value
        else:
            continue
        for name in targets:
            seen[name] = seen.get(name, 0) + 1
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                values[name] = value.value
    return {k: v for k, v in values.items() if seen.get(k) == 1}


def _setup_py(path: str, text: str, into: _Setuptools) -> None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        into.complete = False  # cannot read it (e.g. Python 2 syntax): judge nothing missing
        return
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _is_setup_call(n)]
    if not calls:
        into.complete = False
        return
    call = max(calls, key=lambda c: len(c.keywords))
    into.anchor = (path, call.lineno - 1)
    consts = _module_strings(tree)
    for kw in call.keywords:
        if kw.arg is None:
            into.complete = False  # setup(**kwargs)
            continue
        if kw.arg not in ("name", "version", "description", "python_requires"):
            continue
        value: str | None = None
        if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
            value = kw.value.value
        elif isinstance(kw.value, ast.Name):
            value = consts.get(kw.value.id)
        into.values[kw.arg] = _Value(path, kw.value.lineno - 1, value)


def _check_setuptools(ctx: CheckContext, rep: _Report, folder: str, pyproject: str) -> bool:
    """Judge ``setup.cfg`` ``[metadata]`` and ``setup.py``; False when neither exists."""
    ws = ctx.workspace
    cfg_path, py_path = join(folder, "setup.cfg"), join(folder, "setup.py")
    cfg, py = ws.read_text(cfg_path), ws.read_text(py_path)
    found = _Setuptools()
    if cfg is not None:
        _setup_cfg(cfg_path, cfg, found)
    if py is not None:
        _setup_py(py_path, py, found)
    if py is None and found.anchor is None:
        return False  # a setup.cfg of tool settings only
    values, anchor = found.values, found.anchor
    complete = found.complete and anchor is not None

    def missing(field_: str, severity: Severity) -> None:
        if complete and anchor is not None:
            rep.add(anchor[0], anchor[1], f"no `{field_}` in {anchor[0]}", severity)

    rep.checked += 3
    name = values.get("name")
    if name is None:
        missing("name", Severity.ERROR)
    elif name.text is not None and not PEP508_NAME.match(name.text):
        rep.add(
            name.path,
            name.line,
            f"`name` {name.text!r} is not a valid project name (letters, digits, `-`, `_`, "
            "`.`; starting and ending with a letter or digit)",
            Severity.ERROR,
        )
    version = values.get("version")
    if version is None:
        if not _VERSION_PLUGIN.search(f"{py or ''}\n{cfg or ''}\n{pyproject}"):
            missing("version", Severity.ERROR)
    elif version.text is not None and not _is_version(version.text):
        rep.add(
            version.path,
            version.line,
            f"`version` {version.text!r} is not a valid PEP 440 version",
            Severity.ERROR,
        )
    desc = values.get("description")
    if desc is None:
        missing("description", Severity.WARNING)
    elif desc.text is not None and not desc.text.strip():
        rep.add(desc.path, desc.line, "`description` is empty", Severity.WARNING)
    rp = values.get("python_requires")
    if rp is not None and rp.text is not None:
        rep.checked += 1
        try:
            SpecifierSet(rp.text)
        except InvalidSpecifier:
            rep.add(
                rp.path,
                rp.line,
                f"`python_requires` {rp.text!r} is not a valid version specifier",
                Severity.ERROR,
            )
    return True


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
    private = data.get("private") is True
    rep.checked += 2 if private else 4
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
    if private:
        return  # never published: description and license are for the registry
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
        "Package metadata is complete and valid: pyproject.toml [project] (PEP 621, or "
        "Poetry), setup.cfg/setup.py for setuptools projects, package.json; in the root and "
        "in each sub-project (app/, backend/, packages/*/…). "
        "What it reports, ruff's RUF200 (through IMPL-LINT) does not report again. "
        "Score: share of the checked fields that are valid."
    )
    scope = "project"
    default_owner = "devops_engineer"
    default_weight = 1.0
    default_severity = Severity.WARNING

    @classmethod
    def default_inputs(cls, config: Config) -> list[str]:
        return ["pyproject.toml", "setup.py", "setup.cfg", "package.json", "README*", "readme*"]

    def run(self, ctx: CheckContext) -> CheckOutcome:
        ws = ctx.workspace
        rep = _Report(ctx)
        judged = False
        bare: list[str] = []  # pyproject.toml files with no metadata of any kind
        for folder in project_dirs(ctx.input_files()):
            pyproject_path = join(folder, "pyproject.toml")
            pyproject = ws.read_text(pyproject_path)
            has_metadata = pyproject is not None and _check_pyproject(
                ctx, rep, folder, pyproject_path, pyproject
            )
            if not has_metadata:
                has_metadata = _check_setuptools(ctx, rep, folder, pyproject or "")
            package_json_path = join(folder, "package.json")
            package_json = ws.read_text(package_json_path)
            if package_json is not None:
                _check_package_json(rep, package_json_path, package_json)
                has_metadata = True
            if has_metadata:
                judged = True
            elif pyproject is not None:
                bare.append(pyproject_path)
        if not judged:
            if bare:
                rep.checked += 1
                rep.add(
                    bare[0],
                    0,
                    f"no [project] table (PEP 621 metadata) in {bare[0]}",
                    Severity.ERROR,
                )
            else:
                return missing_file_outcome(
                    ctx,
                    "pyproject.toml",
                    "no package metadata: pyproject.toml (or package.json) is missing",
                    severity=Severity.ERROR,
                )
        score = 1.0 - rep.bad / rep.checked if rep.checked else 1.0
        return CheckOutcome(findings=rep.findings, score=max(0.0, score))
