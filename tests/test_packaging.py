"""phasegate as users get it: the PyPI sdist and wheel, and the VS Code extension's .vsix.

The slow tests build for real: ``python -m build`` on a clean copy of the repository
(the files git tracks or would track), ``twine check --strict``, the wheel installed with
its dependencies from the package index into a fresh virtual environment, where
``phasegate validate`` runs on the bundled example; and ``npm run package:bundled``, whose
bundled server runs in an interpreter that has no phasegate.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from phasegate import __version__
from phasegate.toml_locate import toml_loads

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "server" / "phasegate"
EXAMPLE = ROOT / "examples" / "taskboard"
CLIENT = ROOT / "vscode-client"
LAUNCHER = CLIENT / "bundled" / "tool" / "phasegate_server.py"

# vsce options that turn a packaging error or check off instead of fixing its cause
VSCE_ESCAPE_FLAGS = {
    "--allow-star-activation",
    "--allow-unused-files-pattern",
    "--allow-package-secrets",
    "--allow-package-all-secrets",
    "--allow-package-env-file",
    "--allow-proposed-apis",
    "--allow-all-proposed-apis",
    "--skip-license",
    "--no-verify",
}
# vsce turns the README's relative links (its screenshots) into links into the repository;
# without a repository URL it cannot, and fails unless told not to rewrite them
NO_REWRITE = "--no-rewrite-relative-links"
# and without one, vsce asks "Continue? [y/N]" on a terminal: the test command of the
# README's Quick start would stop there. Both go once package.json has a repository.
NO_REPOSITORY = "--allow-missing-repository"


def pyproject() -> dict[str, Any]:
    data: dict[str, Any] = toml_loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return data


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CLIENT / "package.json").read_text(encoding="utf-8"))
    return data


def vsce_command_lines() -> dict[str, list[str]]:
    """Each npm script's ``vsce`` command, as words."""
    found: dict[str, list[str]] = {}
    for name, script in manifest()["scripts"].items():
        for part in re.split(r"&&|\|\||;", script):
            words = shlex.split(part)
            if words[:1] == ["vsce"]:
                found[name] = words
    return found


def run(
    argv: list[str | Path], cwd: Path, timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return proc


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def clean_env(venv: Path | None = None) -> dict[str, str]:
    """The environment without this test run's virtual environment and import path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    paths = [p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != Path(sys.prefix, "bin")]
    if venv is not None:
        paths.insert(0, str(venv / "bin"))
        env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join(paths)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


# -- the Python package's metadata ----------------------------------------------------------


def test_project_metadata_is_complete_for_pypi() -> None:
    from trove_classifiers import classifiers as known

    project = pyproject()["project"]
    assert project["version"] == __version__
    assert project["license"] == "MIT"  # an SPDX expression (PEP 639)
    for pattern in project["license-files"]:
        assert list(ROOT.glob(pattern)), pattern
    assert project["authors"] and project["keywords"]
    unknown = [c for c in project["classifiers"] if c not in known]
    assert unknown == []
    # PEP 639: with a license expression, no license classifier
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]
    assert {"jinja2"} <= {re.split(r"[<>=!~;\[ ]", d)[0].lower() for d in project["dependencies"]}
    for url in project.get("urls", {}).values():
        assert url.startswith("https://"), url


def test_package_data_lists_what_exists_and_covers_the_data_files() -> None:
    patterns: list[str] = pyproject()["tool"]["setuptools"]["package-data"]["phasegate"]
    covered: set[Path] = set()
    for pattern in patterns:
        matched = [p for p in PACKAGE.glob(pattern) if p.is_file()]
        assert matched, f"package-data pattern {pattern!r} matches no file"
        covered |= set(matched)
    data_files = {
        p
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }
    assert data_files - covered == set()
    assert {p.name for p in covered} >= {"py.typed", "report.html.j2", "macros.html.j2"}


# -- the VS Code extension's package --------------------------------------------------------


def test_vsce_command_lines_have_no_escape_flags() -> None:
    lines = vsce_command_lines()
    assert {"package", "package:bundled"} <= set(lines)
    for name, words in lines.items():
        assert words[1] == "package", (name, words)
        assert set(words) & VSCE_ESCAPE_FLAGS == set(), (name, words)


def test_readme_links_are_rewritten_once_the_repository_is_known() -> None:
    """``--no-rewrite-relative-links`` only while package.json has no ``repository``:
    vsce cannot rewrite the README's links without one, and must once it has one."""
    has_repository = "repository" in manifest()
    for name, words in vsce_command_lines().items():
        assert (NO_REWRITE in words) == (not has_repository), (name, words)
        assert (NO_REPOSITORY in words) == (not has_repository), (name, words)


def test_extension_metadata() -> None:
    m = manifest()
    assert m["license"] == "MIT" and (CLIENT / "LICENSE").is_file()
    for key in ("repository", "bugs", "homepage"):
        if key in m:
            value = m[key]["url"] if isinstance(m[key], dict) else m[key]
            assert str(value).startswith("https://"), (key, value)
    setting = m["contributes"]["configuration"]["properties"]["phasegate.server.importStrategy"]
    assert setting["enum"] == ["useBundled", "fromEnvironment"]
    assert setting["default"] == "useBundled"
    ignore = (CLIENT / ".vscodeignore").read_text().splitlines()
    bundled = (CLIENT / ".vscodeignore-bundled").read_text().splitlines()
    assert "!bundled/tool/phasegate_server.py" in ignore and "!bundled/libs/**" not in ignore
    assert [line for line in bundled if not line.startswith("#")] == [*ignore, "!bundled/libs/**"]


def _fake_extension(tmp_path: Path, manifest_text: str | None) -> Path:
    tool = tmp_path / "ext" / "bundled" / "tool"
    tool.mkdir(parents=True)
    shutil.copy(LAUNCHER, tool / LAUNCHER.name)
    libs = tmp_path / "ext" / "bundled" / "libs"
    libs.mkdir()
    if manifest_text is not None:
        (libs / "bundle.json").write_text(manifest_text)
    return tool / LAUNCHER.name


def test_bundled_launcher_refuses_another_python(tmp_path: Path) -> None:
    other = json.dumps({"cache_tag": "cpython-29", "platform": "plan9-mips"})
    launcher = _fake_extension(tmp_path, other)
    proc = run([sys.executable, launcher, "--probe"], tmp_path, 60)
    assert proc.returncode == 3, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "built for cpython-29 on plan9-mips" in last
    assert "phasegate.server.importStrategy to fromEnvironment" in last


def test_bundled_launcher_without_a_bundle(tmp_path: Path) -> None:
    launcher = _fake_extension(tmp_path, None)
    proc = run([sys.executable, launcher, "--probe"], tmp_path, 60)
    assert proc.returncode == 3
    assert "no usable bundled server" in proc.stderr


# -- real builds ----------------------------------------------------------------------------


def clean_copy(dest: Path) -> Path:
    """The repository's files as a fresh clone would have them, plus the files not yet
    committed that git would track: no build output, caches or ignored files."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT, 60)
    for rel in ok(listed).split("\0"):
        src = ROOT / rel
        if rel and src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def documented_failures() -> set[str]:
    readme = (EXAMPLE / "README.md").read_text()
    return set(re.findall(r"^\| \w+ \| `([A-Z]+-[A-Z]+)` \|", readme, flags=re.M))


RENDER_REPORT = """
import sys
from phasegate.report.data import *
from phasegate.report.html import environment, render_html
data = ReportData(generated_at=0, workspace="w", session=SessionInfo(id="s", requirement="<r>",
    status="running"), totals=Totals(), phases=[], time=TimeMetrics(), timeline=[],
    traceability=Traceability(), open_findings=OpenFindings())
page = render_html(data)
assert page.startswith("<!DOCTYPE html>") and "&lt;r&gt;" in page, page[:300]
print(environment().get_template("report.html.j2").filename)
"""


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sdist_and_wheel_install_and_run_the_example(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.fail("git is not on PATH")
    src = clean_copy(tmp_path / "src")
    dist = tmp_path / "dist"
    ok(run([sys.executable, "-m", "build", "--outdir", dist, src], tmp_path, 600))
    (sdist,) = dist.glob("phasegate-*.tar.gz")
    (wheel,) = dist.glob("phasegate-*-py3-none-any.whl")
    assert sdist.name == f"phasegate-{__version__}.tar.gz"
    ok(run([sys.executable, "-m", "twine", "check", "--strict", sdist, wheel], tmp_path, 120))

    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(f"phasegate-{__version__}.dist-info/METADATA").decode()
    for name in (
        "phasegate/py.typed",
        "phasegate/reference/checks.md",
        "phasegate/reference/configuration.md",
        # the rendered copies diagnostics and SARIF link to (phasegate.docs_links)
        "phasegate/reference/checks.html",
        "phasegate/reference/configuration.html",
        "phasegate/report/templates/report.html.j2",
        "phasegate/report/templates/macros.html.j2",
        "phasegate/report/templates/report.css",
        f"phasegate-{__version__}.dist-info/licenses/LICENSE",
    ):
        assert name in names, name
    assert "License-Expression: MIT" in metadata
    assert "Classifier: Typing :: Typed" in metadata
    with tarfile.open(sdist) as tf:
        members = [m.split("/", 1)[1] for m in tf.getnames() if "/" in m]
    assert "LICENSE" in members and "README.md" in members
    assert "server/phasegate/report/templates/report.html.j2" in members
    assert "server/phasegate/reference/checks.html" in members
    assert not [m for m in members if m.startswith("tests/")]

    venv = tmp_path / "venv"
    ok(run([sys.executable, "-m", "venv", venv], tmp_path, 300))
    python = venv / "bin" / "python"
    env = clean_env(venv)
    # pytest: the example's own test suite runs in the workspace's interpreter, this one
    ok(run([python, "-m", "pip", "install", "-q", wheel, "pytest"], tmp_path, 600, env))

    version = ok(run([venv / "bin" / "phasegate", "--version"], tmp_path, 60, env))
    assert version.strip() == f"phasegate, version {__version__}"
    where = ok(run([python, "-c", RENDER_REPORT], tmp_path, 60, env)).strip()
    assert Path(where).is_relative_to(venv), where  # the installed package, not the source

    example = tmp_path / "taskboard"
    ignore = shutil.ignore_patterns("__pycache__", ".phasegate", ".pytest_cache")
    shutil.copytree(EXAMPLE, example, ignore=ignore)
    validate = run(
        [venv / "bin" / "phasegate", "validate", example, "--format", "json"], example, 300, env
    )
    assert validate.returncode == 1, validate.stdout[-3000:] + validate.stderr
    report = json.loads(validate.stdout)
    checks = [c for phase in report["phases"] for c in phase["checks"]]
    assert [c["id"] for c in checks if c["status"] == "error"] == []
    failed = {c["id"] for c in checks if not c["passed"]}
    assert failed == documented_failures()
    (pytest_check,) = [c for c in checks if c["id"] == "TEST-PYTEST"]
    messages = [f["message"] for f in pytest_check["findings"]]
    assert any("test_task_due_today_is_not_overdue" in m for m in messages), messages


def extract_with_modes(zf: zipfile.ZipFile, dest: Path) -> None:
    """Extract keeping each file's Unix mode, as VS Code installs a .vsix."""
    for info in zf.infolist():
        path = Path(zf.extract(info, dest))
        mode = info.external_attr >> 16 & 0o777
        if mode and not info.is_dir():
            path.chmod(mode)


def npm() -> str:
    found = shutil.which("npm")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("npm is not on PATH")
        pytest.skip("npm is not on PATH")
    if not (CLIENT / "node_modules" / ".package-lock.json").exists():
        ok(run([found, "ci", "--no-audit", "--no-fund"], CLIENT, 600))
    return found


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_default_vsix_has_no_server_and_bundled_vsix_runs_its_own(tmp_path: Path) -> None:
    npm_path = npm()
    listed = ok(run(["npx", "vsce", "ls", "--no-dependencies"], CLIENT, 300)).split()
    assert "bundled/tool/phasegate_server.py" in listed
    assert not [f for f in listed if f.startswith("bundled/libs/")]

    env = dict(os.environ, PYTHON=sys.executable)
    ok(run([npm_path, "run", "package:bundled"], CLIENT, 900, env))
    vsix = CLIENT / "phasegate-bundled.vsix"
    out = tmp_path / "vsix"
    with zipfile.ZipFile(vsix) as zf:
        names = set(zf.namelist())
        extract_with_modes(zf, out)
    ext = out / "extension"
    assert "extension/bundled/libs/phasegate/__init__.py" in names
    assert "extension/bundled/libs/bin/ruff" in names
    bundle = json.loads((ext / "bundled" / "libs" / "bundle.json").read_text())
    assert bundle["phasegate"] == f"phasegate-{__version__}-py3-none-any.whl"
    # only programs in bin/: console scripts would name the build's interpreter
    for f in (ext / "bundled" / "libs" / "bin").iterdir():
        assert not f.read_bytes().startswith(b"#!"), f

    venv = tmp_path / "empty"
    ok(run([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path, 300))
    python = venv / "bin" / "python"
    env = clean_env(venv)
    assert run([python, "-c", "import phasegate"], tmp_path, 60, env).returncode != 0
    launcher = ext / "bundled" / "tool" / "phasegate_server.py"
    probe = run([python, launcher, "--probe"], tmp_path, 120, env)
    assert ok(probe) == __version__
    # IMPL-LINT's ruff: the binary next to the bundled packages, runnable
    libs = ext / "bundled" / "libs"
    find = (
        f"import sys; sys.path.insert(0, {str(libs)!r}); import ruff; print(ruff.find_ruff_bin())"
    )
    ruff = Path(ok(run([python, "-c", find], tmp_path, 60, env)).strip())
    assert ruff == libs / "bin" / "ruff"
    assert ok(run([ruff, "--version"], tmp_path, 60, env)).startswith("ruff ")
