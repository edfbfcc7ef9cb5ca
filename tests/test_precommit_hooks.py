"""The pre-commit hooks (``.pre-commit-hooks.yaml``), run by the real ``pre-commit``.

A temporary git repository holds this working tree's phasegate (pyproject.toml, README,
``server/`` and the hooks file, committed), so what is tested is the code beside this
test, committed or not; a project repository points ``repo:`` at it with ``rev:`` that
commit, as a project points at phasegate's git URL and a tag. pre-commit then installs
phasegate from that commit into an environment of its own (from PyPI: the network is
needed) and runs the hooks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HOOKS_FILE = ROOT / ".pre-commit-hooks.yaml"

CONFIG = """
thresholds = [0.9]

[[phases]]
name = "implementation"
[[phases.checks]]
id = "IMPL-SYNTAX"
[[phases.checks]]
id = "IMPL-STUB"
"""
CLEAN = "def run() -> int:\n    return 1\n"
STUB = "\n\ndef later() -> int:\n    raise NotImplementedError\n"


def _hooks() -> dict[str, dict[str, object]]:
    return {h["id"]: h for h in yaml.safe_load(HOOKS_FILE.read_text(encoding="utf-8"))}


def test_manifest_is_valid_for_pre_commit() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(HOOKS_FILE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_manifest_hooks() -> None:
    hooks = _hooks()
    assert list(hooks) == ["phasegate-validate", "phasegate-new-code", "phasegate-fast"]
    for hook in hooks.values():
        assert hook["language"] == "python"
        # the gates judge the project, not the files pre-commit would pass
        assert hook["pass_filenames"] is False
        assert hook["always_run"] is True
        assert str(hook["entry"]).startswith("phasegate validate")
    assert hooks["phasegate-validate"]["entry"] == "phasegate validate"
    assert "args" not in hooks["phasegate-validate"]
    # new code: the working tree (what is staged, while pre-commit runs) against HEAD;
    # in args, so that a project's own args (--since origin/main) replace it
    assert hooks["phasegate-new-code"]["args"] == ["--since", "HEAD"]
    assert hooks["phasegate-fast"]["entry"] == "phasegate validate --untrusted"


def _env(tmp: Path) -> dict[str, str]:
    gitconfig = tmp / "gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = phasegate test\n\temail = test@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        {
            "GIT_CONFIG_GLOBAL": str(gitconfig),
            "GIT_CONFIG_NOSYSTEM": "1",
            "PRE_COMMIT_HOME": str(tmp / "pre-commit-home"),
            "PRE_COMMIT_COLOR": "never",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
    )
    return env


def _run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _git(cwd: Path, env: dict[str, str], *args: str) -> str:
    res = _run(["git", *args], cwd, env)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def _pre_commit(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # the first run installs phasegate and its dependencies into pre-commit's environment
    return _run([sys.executable, "-m", "pre_commit", *args], cwd, env, timeout=900)


def _top_level_files(env: dict[str, str]) -> list[str]:
    """The files at the top of this working tree that git has or would add (the build's
    inputs: pyproject.toml, README.md, a license...), and the hooks file."""
    res = _run(["git", "ls-files", "-co", "--exclude-standard", "--", ":(top,glob)*"], ROOT, env)
    names = (
        {n for n in res.stdout.splitlines() if n and "/" not in n} if res.returncode == 0 else set()
    )
    if not names:  # not a git work tree
        names = {p.name for p in ROOT.iterdir() if p.is_file()}
    return sorted(n for n in names | {".pre-commit-hooks.yaml"} if (ROOT / n).is_file())


def _hooks_repo(dest: Path, env: dict[str, str]) -> str:
    """A git repository of this working tree's phasegate, committed; its commit."""
    dest.mkdir()
    for name in _top_level_files(env):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(
        ROOT / "server",
        dest / "server",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
    )
    _git(dest, env, "init", "-q")
    _git(dest, env, "add", "-A")
    _git(dest, env, "commit", "-q", "-m", "phasegate")
    return _git(dest, env, "rev-parse", "HEAD").strip()


def _project(dest: Path, env: dict[str, str], hooks_repo: Path, rev: str) -> Path:
    (dest / "pkg").mkdir(parents=True)
    (dest / "phasegate.toml").write_text(textwrap.dedent(CONFIG).lstrip(), encoding="utf-8")
    (dest / ".gitignore").write_text(".phasegate/\n", encoding="utf-8")
    (dest / "pkg" / "core.py").write_text(CLEAN, encoding="utf-8")
    config = {
        "repos": [
            {
                "repo": str(hooks_repo),
                "rev": rev,
                "hooks": [
                    {"id": "phasegate-validate"},
                    {"id": "phasegate-new-code"},
                    {"id": "phasegate-fast"},
                ],
            }
        ]
    }
    (dest / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    _git(dest, env, "init", "-q")
    _git(dest, env, "add", "-A")
    _git(dest, env, "commit", "-q", "-m", "init")
    return dest


def _status(output: str, name: str) -> str:
    """``Passed`` / ``Failed`` / ``Skipped`` of the hook named ``name`` in pre-commit's
    output (``name.....Passed``)."""
    for line in output.splitlines():
        if line.startswith(name + ".") or line.startswith(name + " "):
            return line.rstrip().rsplit(".", 1)[-1].strip()
    raise AssertionError(f"hook {name!r} not in the output:\n{output}")


NAMES = {
    "phasegate-validate": "phasegate gates",
    "phasegate-new-code": "phasegate gates (new code)",
    "phasegate-fast": "phasegate gates (fast, in-process checks)",
}


@pytest.mark.slow
def test_hooks_with_the_real_pre_commit(tmp_path: Path) -> None:
    env = _env(tmp_path)
    rev = _hooks_repo(tmp_path / "phasegate", env)
    ws = _project(tmp_path / "project", env, tmp_path / "phasegate", rev)
    assert [h["id"] for h in yaml.safe_load(HOOKS_FILE.read_text())] == list(NAMES)

    # a clean project: every hook passes
    clean = _pre_commit(ws, env, "run", "--all-files")
    out = clean.stdout + clean.stderr
    assert clean.returncode == 0, out
    assert [_status(out, n) for n in NAMES.values()] == ["Passed"] * 3

    # a stub in the working tree: every hook fails on it (new code: it is not in HEAD)
    core = ws / "pkg" / "core.py"
    core.write_text(CLEAN + STUB, encoding="utf-8")
    stub = _pre_commit(ws, env, "run", "--all-files")
    out = stub.stdout + stub.stderr
    assert stub.returncode == 1, out
    assert [_status(out, n) for n in NAMES.values()] == ["Failed"] * 3
    assert "pkg/core.py:5:5: IMPL-STUB `later` is a stub" in out
    assert "IMPL-STUB `later` is a stub: its body is only `raise NotImplementedError`. " in out
    assert "(new)" in out  # the new-code hook says the finding is new

    # committed, the stub is inherited: the new-code hook no longer fails on it
    _git(ws, env, "commit", "-q", "-a", "-m", "a stub", "--no-verify")
    inherited = _pre_commit(ws, env, "run", "--all-files")
    out = inherited.stdout + inherited.stderr
    assert inherited.returncode == 1, out
    assert _status(out, NAMES["phasegate-validate"]) == "Failed"
    assert _status(out, NAMES["phasegate-new-code"]) == "Passed"
    assert _status(out, NAMES["phasegate-fast"]) == "Failed"


@pytest.mark.slow
def test_new_code_hook_judges_what_is_staged(tmp_path: Path) -> None:
    """As a git hook: pre-commit puts unstaged changes aside, so the new-code hook judges
    the commit (staged changes against HEAD), not what is left unstaged."""
    env = _env(tmp_path)
    rev = _hooks_repo(tmp_path / "phasegate", env)
    ws = _project(tmp_path / "project", env, tmp_path / "phasegate", rev)
    installed = _pre_commit(ws, env, "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    env["SKIP"] = "phasegate-validate,phasegate-fast"
    core = ws / "pkg" / "core.py"

    # staged: a clean function; unstaged on top of it: a stub -> the commit goes through
    staged = CLEAN + "\n\ndef two() -> int:\n    return 2\n"
    core.write_text(staged, encoding="utf-8")
    _git(ws, env, "add", "pkg/core.py")
    core.write_text(staged + STUB, encoding="utf-8")
    commit = _run(["git", "commit", "-m", "two"], ws, env, timeout=900)
    assert commit.returncode == 0, commit.stdout + commit.stderr
    assert "Stashing unstaged files" in commit.stderr
    assert _git(ws, env, "show", "HEAD:pkg/core.py") == staged
    assert core.read_text(encoding="utf-8") == staged + STUB  # put back as it was

    # the stub staged: the commit is refused
    _git(ws, env, "add", "pkg/core.py")
    refused = _run(["git", "commit", "-m", "stub"], ws, env, timeout=900)
    out = refused.stdout + refused.stderr
    assert refused.returncode != 0, out
    assert _status(out, NAMES["phasegate-new-code"]) == "Failed"
    assert "IMPL-STUB `later` is a stub" in out
    assert _git(ws, env, "log", "-1", "--format=%s").strip() == "two"
