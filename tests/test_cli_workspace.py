"""The command line as a new user meets it: the project root found from a subfolder, one
way to name the workspace on every command, one error style, a suggestion for a
mistyped command, and live progress on a terminal only.

The root discovery rule is :mod:`phasegate.rootdir`'s; the commands go through the
real command line (click's ``CliRunner``, or the ``phasegate`` program in a process of
its own where the terminal, the current folder or the imported modules matter).
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from phasegate.cli import SUBCOMMANDS, cli
from phasegate.commands._progress import tool_name
from phasegate.config_loader import find_config
from phasegate.rootdir import find_root, marker_of

CONFIG = """\
thresholds = [0.5]

[[phases]]
name = "implementation"

[[phases.checks]]
id = "IMPL-SYNTAX"
"""

MODULE = '"""A module."""\n\nX = 1\n'


def _env(**extra: str) -> dict[str, str]:
    drop = ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG", "PHASEGATE_PROGRESS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def phasegate(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``phasegate ARGS`` run as the program, in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "phasegate", *args],
        cwd=cwd,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def git_init(path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(path)], check=True, capture_output=True)


def project(root: Path, marker: str) -> Path:
    """A project at ``root`` with ``marker`` and a source package ``pkg/``; returns pkg."""
    pkg = root / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(MODULE)
    if marker == "phasegate.toml":
        (root / "phasegate.toml").write_text(CONFIG)
    elif marker == "pyproject.toml":
        (root / "pyproject.toml").write_text('[project]\nname = "p"\n\n[tool.phasegate]\n' + CONFIG)
    elif marker == ".phasegate":
        (root / ".phasegate").mkdir()
    elif marker == ".git":
        git_init(root)
    elif marker == "setup.py":
        (root / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    return pkg


# -- root discovery (phasegate.rootdir) ------------------------------------------------------
@pytest.mark.parametrize("marker", ["phasegate.toml", "pyproject.toml", ".phasegate", ".git"])
def test_the_root_is_found_from_a_subfolder(tmp_path: Path, marker: str) -> None:
    root = tmp_path / "proj"
    pkg = project(root, marker)
    deeper = pkg / "sub"
    deeper.mkdir()
    for start in (pkg, deeper, root):
        found = find_root(start, home=tmp_path / "home")
        assert found.path == root.resolve(), (marker, start)
        assert found.moved == (start != root)
        assert found.marker == marker


def test_a_marker_nearer_than_the_repository_top_wins(tmp_path: Path) -> None:
    git_init(tmp_path)
    sub = tmp_path / "services" / "api"
    (sub / "src").mkdir(parents=True)
    (sub / "phasegate.toml").write_text(CONFIG)
    found = find_root(sub / "src", home=tmp_path / "home")
    assert (found.path, found.marker) == (sub.resolve(), "phasegate.toml")
    assert found.why == "found phasegate.toml"


def test_the_walk_stops_at_the_repository_top(tmp_path: Path) -> None:
    (tmp_path / "phasegate.toml").write_text(CONFIG)  # above the repository: not taken
    repo = tmp_path / "repo"
    pkg = project(repo, ".git")
    found = find_root(pkg, home=tmp_path / "home")
    assert (found.path, found.marker) == (repo.resolve(), ".git")
    assert "top of the git repository" in found.why


def test_a_pyproject_without_the_table_is_not_a_marker(tmp_path: Path) -> None:
    git_init(tmp_path)
    sub = tmp_path / "lib"
    (sub / "pkg").mkdir(parents=True)
    (sub / "pyproject.toml").write_text('[project]\nname = "lib"  # uses phasegate\n')
    assert marker_of(sub) is None
    # inside a repository, no phasegate marker: the repository's top
    assert find_root(sub / "pkg", home=tmp_path / "home").path == tmp_path.resolve()


def test_a_broken_pyproject_that_configures_phasegate_is_a_marker(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.phasegate]\nthresholds = [0.5\n")
    assert marker_of(tmp_path) == "pyproject.toml"
    # the configuration loader reads the same file (and reports its syntax error)
    assert find_config(tmp_path) == tmp_path / "pyproject.toml"


@pytest.mark.parametrize(
    "files",
    [
        {"phasegate.toml": CONFIG},
        {"pyproject.toml": "[tool.phasegate]\n" + CONFIG},
        {"pyproject.toml": '[project]\nname = "x"\n'},
        {"pyproject.toml": "[tool.phasegate\n"},
        {"phasegate.toml": CONFIG, "pyproject.toml": "[tool.phasegate]\n"},
    ],
)
def test_a_configuration_marker_is_what_the_loader_reads(
    tmp_path: Path, files: dict[str, str]
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    source = find_config(tmp_path)
    assert marker_of(tmp_path) == (source.name if source else None)


def test_outside_a_repository_the_nearest_project_file_else_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    pkg = project(root, "setup.py")
    found = find_root(pkg, home=tmp_path / "home")
    assert (found.path, found.marker) == (root.resolve(), "setup.py")
    bare = tmp_path / "bare" / "pkg"
    bare.mkdir(parents=True)
    found = find_root(bare, home=tmp_path / "home")
    assert (found.path, found.marker, found.moved) == (bare.resolve(), None, False)


def test_the_home_folder_is_never_walked_into(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".phasegate").mkdir(parents=True)  # a stray state folder in the home folder
    work = home / "scratch" / "pkg"
    work.mkdir(parents=True)
    assert find_root(work, home=home).path == work.resolve()
    # started in the home folder itself, its marker counts
    assert find_root(home, home=home).path == home.resolve()


def test_a_broken_state_entry_is_a_marker_so_it_is_refused_not_walked_past(
    tmp_path: Path,
) -> None:
    git_init(tmp_path)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".phasegate").write_text("not a folder")
    assert find_root(ws, home=tmp_path / "home").path == ws.resolve()


# -- cd pkg && phasegate validate ------------------------------------------------------------
@pytest.mark.parametrize("marker", ["phasegate.toml", "pyproject.toml", ".git"])
def test_validate_in_a_source_package_validates_the_project(tmp_path: Path, marker: str) -> None:
    root = tmp_path / "proj"
    pkg = project(root, marker)
    why = find_root(pkg).why  # before the run writes .phasegate/
    proc = phasegate("validate", "--format", "json", cwd=pkg)
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["workspace"] == str(root.resolve())
    assert not (pkg / ".phasegate").exists()  # nothing written into the source package
    assert (root / ".phasegate" / "cache").is_dir()
    assert proc.stderr.splitlines()[0] == f"phasegate: workspace {root.resolve()} ({why})"
    # from the root itself: nothing to say
    again = phasegate("validate", "--format", "json", cwd=root)
    assert "phasegate: workspace" not in again.stderr


def test_an_explicit_folder_inside_a_project_is_a_start_too(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    pkg = project(root, "phasegate.toml")
    for args in (["validate", str(pkg)], ["validate", "-w", str(pkg)]):
        proc = phasegate(*args, "--format", "json", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["workspace"] == str(root.resolve())
        assert f"phasegate: workspace {root.resolve()} (found phasegate.toml)" in proc.stderr
    assert not (pkg / ".phasegate").exists()


def test_init_writes_at_the_root_unless_given_a_folder(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    pkg = project(repo, ".git")
    proc = phasegate("init", "--agent", "none", cwd=pkg)
    assert proc.returncode == 0, proc.stderr
    assert (repo / "phasegate.toml").is_file() and not (pkg / "phasegate.toml").exists()
    assert f"phasegate: workspace {repo.resolve()}" in proc.stderr
    # a folder given is made a project root as it is (a sub-project)
    sub = repo / "services"
    sub.mkdir()
    proc = phasegate("init", "services", "--agent", "none", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert (sub / "phasegate.toml").is_file()
    (sub / "x").mkdir()
    assert find_root(sub / "x").path == sub.resolve()


# -- one workspace option, one error style ---------------------------------------------------
# command -> (its arguments before the workspace, whether it takes the positional DIR)
COMMANDS: dict[str, tuple[list[str], bool]] = {
    "validate": ([], True),
    "baseline": ([], True),
    "watch": ([], True),
    "remediate": ([], True),
    "undo": ([], True),
    "status": ([], True),
    "sessions": ([], True),
    "report": ([], True),
    "run": (["-r", "Add numbers"], True),
    "resume": (["s1"], True),
    "init": (["--agent", "none"], True),
    "config": ([], True),
    "personas": ([], True),
    "install-hooks": (["--agent", "claude"], True),
    "mcp": ([], True),
    "approve": ([], False),
    "merge": (["{file}"], False),
}
# `serve` has no workspace (the editor names its folders); `hook` never fails (an agent's
# turn must not break on it), so it takes -w/--workspace but has no error to show
NO_ERROR_FORM = {"serve", "hook"}


def test_every_command_is_in_the_table() -> None:
    assert set(COMMANDS) | NO_ERROR_FORM == set(SUBCOMMANDS)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def forms(command: str, folder: Path, extra: Path) -> list[list[str]]:
    """``command`` on ``folder``: positional (where it takes one) and with ``-w``."""
    before, positional = COMMANDS[command]
    before = [a.replace("{file}", str(extra)) for a in before]
    out = [[command, *before, "-w", str(folder)], [command, *before, "--workspace", str(folder)]]
    if positional:
        out.append([command, *before, str(folder)])
    return out


def assert_one_error_style(result: Result) -> list[str]:
    """Exit 2, the last line ``phasegate: error: ...``, no other error prefix."""
    assert result.exit_code == 2, (result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("phasegate: error: "), result.stderr
    for line in lines:
        assert not re.match(r"(?i)^(error|phasegate): (?!error: |workspace )", line), line
        assert "Traceback" not in line
    return lines


@pytest.fixture
def shard_file(tmp_path: Path) -> Path:
    path = tmp_path / "shard.json"
    path.write_text("{}")
    return path


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_missing_workspace_is_one_error_line(
    tmp_path: Path, command: str, shard_file: Path
) -> None:
    missing = tmp_path / "missing"
    for args in forms(command, missing, shard_file):
        lines = assert_one_error_style(invoke(*args))
        assert str(missing) in lines[-1], args
        assert not missing.exists()


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A workspace every command refuses: an invalid configuration, a state folder that
    is a file, an agent settings file that is not JSON."""
    ws = tmp_path / "broken"
    (ws / ".claude").mkdir(parents=True)
    (ws / "phasegate.toml").write_text(CONFIG + "colour = 1\n")
    (ws / ".phasegate").write_text("not a folder")
    (ws / ".claude" / "settings.json").write_text("{ not json")
    return ws


@pytest.mark.parametrize("command", sorted(set(COMMANDS) - {"mcp"}))  # mcp would serve
def test_every_command_takes_the_workspace_both_ways_and_fails_in_one_style(
    broken: Path, command: str, shard_file: Path
) -> None:
    before = sorted(p.name for p in broken.iterdir())
    for args in forms(command, broken, shard_file):
        lines = assert_one_error_style(invoke(*args))
        # what it refused is in the workspace given: that workspace was used
        assert any(str(broken) in line for line in lines), (args, lines)
    assert sorted(p.name for p in broken.iterdir()) == before  # nothing written


@pytest.mark.parametrize("command", sorted(c for c, (_, pos) in COMMANDS.items() if pos))
def test_two_different_workspaces_are_refused(tmp_path: Path, command: str) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    before, _ = COMMANDS[command]
    lines = assert_one_error_style(invoke(command, *before, str(one), "-w", str(two)))
    assert "two workspaces given" in lines[-1]
    assert list(one.iterdir()) == [] and list(two.iterdir()) == []


def test_the_same_workspace_twice_is_fine(tmp_path: Path) -> None:
    (tmp_path / "phasegate.toml").write_text(CONFIG)
    result = invoke("sessions", str(tmp_path), "-w", str(tmp_path), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_a_workspace_under_the_home_folder_may_be_written_with_a_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "phasegate.toml").write_text(CONFIG)
    monkeypatch.setenv("HOME", str(tmp_path))  # as an agent's configuration passes it
    result = invoke("sessions", "-w", "~/proj", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_resume_takes_the_session_then_the_folder(tmp_path: Path) -> None:
    (tmp_path / "phasegate.toml").write_text(CONFIG)
    (tmp_path / "app.py").write_text(MODULE)
    ran = invoke("run", "-r", "Add numbers", "--session", "s1", str(tmp_path))
    assert ran.exit_code == 0, ran.output
    assert (tmp_path / ".phasegate" / "sessions" / "s1").is_dir()
    resumed = invoke("resume", "s1", str(tmp_path), "--format", "json")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["session"]["id"] == "s1"
    shown = invoke("status", str(tmp_path), "--format", "json")
    assert json.loads(shown.stdout)["session"]["status"] == "completed"


def test_the_hook_takes_workspace_too(tmp_path: Path) -> None:
    (tmp_path / "phasegate.toml").write_text(CONFIG)
    result = CliRunner().invoke(cli, ["hook", "--workspace", str(tmp_path)], input="{}")
    assert result.exit_code == 0 and result.stdout == ""
    assert "ignored input" in (tmp_path / ".phasegate" / "hooks" / "hook.log").read_text()


def test_a_state_error_and_a_config_error_read_the_same(broken: Path) -> None:
    state = assert_one_error_style(invoke("validate", str(broken)))
    assert len(state) == 1 and state[0].startswith(f"phasegate: error: {broken / '.phasegate'}")
    (broken / ".phasegate").unlink()
    config = assert_one_error_style(invoke("validate", str(broken)))
    assert config[0].startswith(f"{broken / 'phasegate.toml'}:")
    assert config[-1] == "phasegate: error: 1 configuration error(s)"


# -- did you mean ---------------------------------------------------------------------------
LIST_COMMAND_MODULES = """\
import sys
from phasegate.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="phasegate")
except SystemExit as exc:
    code = exc.code
print(" ".join(sorted(m for m in sys.modules if m.startswith("phasegate.commands"))))
sys.exit(code)
"""


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("valdate", "validate"), ("sesions", "sessions"), ("remediat", "remediate"), ("xyzzy", None)],
)
def test_a_mistyped_command_gets_a_suggestion(
    tmp_path: Path, typed: str, meant: str | None
) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", LIST_COMMAND_MODULES, typed],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    hint = f" Did you mean {meant!r}?" if meant else ""
    assert proc.stderr.splitlines()[-1] == f"phasegate: error: No such command {typed!r}.{hint}"
    assert proc.stderr.splitlines()[0].startswith("Usage: phasegate")
    assert proc.stdout.strip() == ""  # no command module imported to suggest one


# -- live progress ---------------------------------------------------------------------------
def test_tool_names() -> None:
    assert tool_name(["/usr/bin/ruff", "check", "."]) == "ruff"
    assert tool_name(["/v/bin/python3.11", "-m", "pytest", "-q"]) == "pytest"
    assert tool_name(["/v/bin/python", "-X", "utf8", "/v/bin/mypy", "src"]) == "mypy"
    assert tool_name(["node", "/p/node_modules/.bin/eslint", "."]) == "eslint"
    assert tool_name(["env", "A=1", "/bin/tsc", "--noEmit"]) == "tsc"
    assert tool_name(["npx", "--yes", "vitest", "run"]) == "vitest"
    assert tool_name(["python", "-c", "print(1)"]) == "python"
    assert tool_name([""]) is None


# The tool of check WAIT: it ends once the terminal shows it running (or gives up after
# two minutes, failing the check and so the test).
WAITER = """\
import re, sys, time
log, needle = sys.argv[1], sys.argv[2]
for _ in range(2400):
    text = open(log, encoding="utf-8", errors="replace").read()
    if needle in re.sub(r"\\x1b\\[[0-9;?]*[A-Za-z]", "", text):
        sys.exit(0)
    time.sleep(0.05)
sys.exit(3)
"""


def waiting_workspace(tmp_path: Path, log: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "app.py").write_text(MODULE)
    waiter = tmp_path / "pg-waiter"
    waiter.write_text(f"#!{sys.executable}\n{WAITER}")
    waiter.chmod(0o755)
    log.write_text("")
    command = json.dumps([str(waiter), str(log), "implementation · WAIT (pg-waiter)"])
    (ws / "phasegate.toml").write_text(
        CONFIG + f'\n[[phases.checks]]\nid = "WAIT"\nkind = "command"\n'
        f"options = {{ command = {command} }}\n"
    )
    return ws


def run_on_a_terminal(
    args: list[str], cwd: Path, log: Path, env: dict[str, str]
) -> tuple[int, str, str]:
    """``phasegate ARGS`` with standard error on a pseudo-terminal (its output copied to
    ``log`` as it comes) and standard output on a pipe; returns the exit code, stdout and
    the terminal's text without control sequences."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "phasegate", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)

    def copy() -> None:
        with log.open("ab") as out:
            while True:
                try:
                    data = os.read(master, 4096)
                except OSError:  # the terminal closed
                    return
                if not data:
                    return
                out.write(data)
                out.flush()

    reader = threading.Thread(target=copy, daemon=True)
    reader.start()
    try:
        stdout, _ = proc.communicate(timeout=300)
    finally:
        reader.join(timeout=30)
        os.close(master)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", log.read_text(encoding="utf-8", errors="replace"))
    return proc.returncode, stdout.decode(), text


TERMINAL_ENV = {"TERM": "xterm-256color", "PYTHONIOENCODING": "utf-8"}


def test_validate_names_the_running_check_and_its_tool_on_a_terminal(tmp_path: Path) -> None:
    log = tmp_path / "terminal.log"
    ws = waiting_workspace(tmp_path, log)
    code, stdout, text = run_on_a_terminal(
        ["validate", "--format", "json"], ws, log, _env(**TERMINAL_ENV)
    )
    doc = json.loads(stdout)  # standard output stays clean JSON
    checks = {c["id"]: c for p in doc["phases"] for c in p["checks"]}
    assert checks["WAIT"]["status"] == "passed", checks["WAIT"]  # the waiter saw itself named
    assert code == 0
    assert "implementation · WAIT (pg-waiter)" in text
    assert "1/2" in text  # IMPL-SYNTAX done, WAIT running


def test_run_names_the_running_check_and_its_tool_on_a_terminal(tmp_path: Path) -> None:
    log = tmp_path / "terminal.log"
    ws = waiting_workspace(tmp_path, log)
    code, stdout, text = run_on_a_terminal(
        ["run", "-r", "Add numbers", "--format", "json"], ws, log, _env(**TERMINAL_ENV)
    )
    assert code == 0, text
    assert json.loads(stdout)["session"]["status"] == "completed"
    assert "implementation · WAIT (pg-waiter)" in text


def test_no_progress_when_turned_off_on_a_terminal(tmp_path: Path) -> None:
    log = tmp_path / "terminal.log"
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "phasegate.toml").write_text(CONFIG)
    (ws / "app.py").write_text(MODULE)
    code, stdout, _text = run_on_a_terminal(
        ["validate", "--format", "json"], ws, log, _env(**TERMINAL_ENV, PHASEGATE_PROGRESS="0")
    )
    assert code == 0 and json.loads(stdout)["phases"][0]["status"] == "passed"
    assert log.read_bytes() == b""  # not even the cursor hidden


LIST_MODULES = """\
import sys
from phasegate.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="phasegate")
except SystemExit as exc:
    code = exc.code
sys.stderr.write("MODULES " + " ".join(sorted(sys.modules)))
sys.exit(code)
"""


@pytest.mark.parametrize("forced", [None, "1"])
def test_no_progress_when_standard_error_is_not_a_terminal(
    tmp_path: Path, forced: str | None
) -> None:
    (tmp_path / "phasegate.toml").write_text(CONFIG)
    (tmp_path / "app.py").write_text(MODULE)
    env = _env() if forced is None else _env(PHASEGATE_PROGRESS=forced)
    proc = subprocess.run(
        [sys.executable, "-c", LIST_MODULES, "validate", "--format", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["phases"][0]["status"] == "passed"
    shown, _, modules = proc.stderr.rpartition("MODULES ")
    rich = [m for m in modules.split() if m == "rich" or m.startswith("rich.")]
    if forced is None:
        assert shown == "" and rich == []  # nothing drawn, rich not even imported
    else:  # PHASEGATE_PROGRESS=1 draws it on whatever standard error is
        assert "\x1b[" in shown and rich
