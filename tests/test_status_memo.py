"""``phasegate status`` answered from its memo while nothing it was made from changed.

Each test works on its own copy of a workspace whose session ``s1`` completed (a git
repository: the session judges new code since its start, so ``git`` runs too), and runs
the real program (``python -m phasegate``, whose fast path answers before the command
line is loaded; also ``phasegate.cli.main``, where the command itself looks the memo up)
with ``PHASEGATE_STATUS_MEMO=debug``, which says on standard error whether the answer
came from the memo. After each kind of change the answer must not come from the memo and
must be what ``status`` says with the memo off.

The copies are made first and the tests start 3 s later: ``status`` keeps no memo while
a file its answer is made from changed within the last 3 s (its racy-stat rule).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phasegate.commands._status_memo import is_marked_root, parse_args
from phasegate.rootdir import find_root

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """\
thresholds = [0.9]

[[phases]]
name = "implementation"

[[phases.checks]]
id = "IMPL-SYNTAX"

[[phases.checks]]
id = "IMPL-STUB"
"""

APP = '''\
"""Arithmetic."""


def add(a: int, b: int) -> int:
    return a + b
'''

UTIL = '''\
"""Helpers."""


def double(x: int) -> int:
    return 2 * x
'''

STUB = """

def subtract(a: int, b: int) -> int:
    raise NotImplementedError
"""

SCENARIOS = (
    "identical",
    "imports",
    "same-size",
    "added",
    "config",
    "session",
    "regressed",
    "keyed",
    "subfolder",
    "racy",
    "link",
    "commit",
)
SETTLE_S = 3.2  # the memo's racy window is 3 s


def _env(**extra: str) -> dict[str, str]:
    drop = ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG", "PYTHONPATH", "COLUMNS")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.endswith("_PROJECT_DIR")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PHASEGATE_STATUS_MEMO"] = "debug"
    env.update(extra)
    return env


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def phasegate(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "phasegate", *args],
        cwd=root,
        env=_env(**env),
        capture_output=True,
        timeout=240,
    )


class Status:
    """One ``status`` run: exit code, standard output (bytes), standard error."""

    def __init__(self, proc: subprocess.CompletedProcess[bytes]) -> None:
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr.decode()

    @property
    def hit(self) -> bool:
        return "phasegate: status memo: hit" in self.err

    @property
    def stored(self) -> bool:
        return "phasegate: status memo: stored" in self.err

    @property
    def text(self) -> str:
        return self.out.decode()

    def stderr_lines(self) -> list[str]:
        """Standard error without the memo's debug lines."""
        return [line for line in self.err.splitlines() if "status memo:" not in line]


def status(
    root: Path, *args: str, cwd: Path | None = None, click: bool = False, **env: str
) -> Status:
    """``phasegate status ARGS`` as the program runs it (``python -m phasegate``), or
    through the command line only (``phasegate.cli.main``) when ``click``."""
    entry = ["-c", "from phasegate.cli import main; main()"] if click else ["-m", "phasegate"]
    proc = subprocess.run(
        [sys.executable, *entry, "status", *args],
        cwd=cwd or root,
        env=_env(**env),
        capture_output=True,
        timeout=240,
    )
    return Status(proc)


def without_memo(root: Path, *args: str, cwd: Path | None = None, **env: str) -> Status:
    return status(root, *args, cwd=cwd, PHASEGATE_STATUS_MEMO="off", **env)


def warm(root: Path, *args: str, **env: str) -> Status:
    """``status`` twice: the first makes the answer and keeps it, the second is the
    memo's."""
    first = status(root, *args, **env)
    assert first.stored, first.err
    assert not first.hit
    second = status(root, *args, **env)
    assert second.hit, second.err
    assert (second.out, second.code) == (first.out, first.code)
    return second


def recomputed(root: Path, *args: str, **env: str) -> Status:
    """``status`` after a change: not from the memo, and what it says with the memo off."""
    now = status(root, *args, **env)
    assert not now.hit, now.err
    reference = without_memo(root, *args, **env)
    assert (now.out, now.code) == (reference.out, reference.code)
    return now


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A copy per test of a workspace (a git repository) whose session ``s1`` completed,
    old enough for the memo to be kept."""
    base = tmp_path_factory.mktemp("memo")
    template = base / "template"
    (template / "pkg").mkdir(parents=True)
    (template / "phasegate.toml").write_text(CONFIG)
    (template / "app.py").write_text(APP)
    (template / "pkg" / "__init__.py").write_text('"""Helpers."""\n')
    (template / "pkg" / "util.py").write_text(UTIL)
    git(template, "init", "-q")
    git(template, "add", "-A")
    git(template, "commit", "-q", "-m", "start")
    proc = phasegate(template, "run", "-r", "Add numbers", "--session", "s1")
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    copies = {}
    for name in SCENARIOS:
        copies[name] = base / name
        shutil.copytree(template, copies[name], symlinks=True)
        # the copies' files have new inodes: git refreshes (rewrites) its index once
        git(copies[name], "status", "--porcelain")
    time.sleep(SETTLE_S)
    return copies


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_second_status_prints_the_first_s_bytes_from_the_memo(
    workspaces: dict[str, Path], fmt: str
) -> None:
    root = workspaces["identical"]
    first = status(root, "--format", fmt)
    assert first.stored and not first.hit, first.err
    assert first.code == 0 and b"s1" in first.out
    second = status(root, "--format", fmt)
    assert second.hit, second.err
    assert (second.out, second.code) == (first.out, first.code)
    # the command line's own lookup (phasegate.cli.main) gives the same bytes
    again = status(root, "--format", fmt, click=True)
    assert again.hit, again.err
    assert (again.out, again.code) == (first.out, first.code)
    reference = without_memo(root, "--format", fmt)
    assert (reference.out, reference.code) == (first.out, first.code)
    assert (root / ".phasegate" / "status.json").is_file()


# ``phasegate status`` as the program runs it, listing its modules when it exits
LISTING = """\
import atexit, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n"))
sys.argv[0] = "phasegate"
from phasegate.__main__ import main
main()
"""


def test_the_memo_s_answer_loads_no_command_line_and_no_engine(
    workspaces: dict[str, Path],
) -> None:
    root = workspaces["imports"]
    before = warm(root)
    proc = subprocess.run(
        [sys.executable, "-c", LISTING, "status"],
        cwd=root,
        env=_env(),
        capture_output=True,
        timeout=120,
    )
    err = proc.stderr.decode()
    assert "phasegate: status memo: hit" in err
    assert (proc.stdout, proc.returncode) == (before.out, before.code)
    modules = set(err.rstrip().rsplit("MODULES ", 1)[1].split())
    heavy = ("click", "rich", "pydantic", "pathlib", "typing", "phasegate.cli")
    heavy += ("phasegate.config", "phasegate.runner", "phasegate.store", "phasegate.rootdir")
    loaded = sorted(m for m in modules for h in heavy if m == h or m.startswith(h + "."))
    assert loaded == []
    assert "phasegate.commands._status_memo" in modules


def test_an_input_edited_to_the_same_size_is_seen(workspaces: dict[str, Path]) -> None:
    root = workspaces["same-size"]
    before = warm(root)
    assert "IMPL-STUB" not in before.text
    app = root / "app.py"
    size = app.stat().st_size
    app.write_text(APP.replace("a + b", "b + a"))
    assert app.stat().st_size == size
    now = recomputed(root)
    assert "app.py changed" in now.err
    # nothing has looked at the new content: the cache cannot tell
    assert "changed since last checked: IMPL-SYNTAX, IMPL-STUB" in now.text


def test_a_file_added_to_a_walked_folder_is_seen(workspaces: dict[str, Path]) -> None:
    root = workspaces["added"]
    before = warm(root)
    assert "IMPL-STUB" not in before.text
    (root / "pkg" / "extra.py").write_text(UTIL)
    now = recomputed(root)
    assert "miss: pkg changed" in now.err  # the folder's listing
    assert "changed since last checked: IMPL-SYNTAX, IMPL-STUB" in now.text


def test_an_edited_configuration_is_seen(workspaces: dict[str, Path]) -> None:
    root = workspaces["config"]
    before = warm(root)
    assert "Building" not in before.text
    titled = CONFIG.replace(
        'name = "implementation"\n', 'name = "implementation"\ntitle = "Building"\n'
    )
    (root / "phasegate.toml").write_text(titled)
    now = recomputed(root)
    assert "miss: phasegate.toml changed" in now.err
    assert "Building" in now.text


def test_a_new_session_is_seen(workspaces: dict[str, Path]) -> None:
    root = workspaces["session"]
    before = warm(root)
    assert "session s1" in before.text
    warm(root, "--session", "s1")
    proc = phasegate(root, "run", "-r", "Add more numbers", "--session", "s2")
    assert proc.returncode == 0, proc.stderr.decode()
    now = recomputed(root)
    assert "session s2" in now.text
    recomputed(root, "--session", "s1")  # its checkpoint did not change, the sessions did


def test_a_stub_found_by_validate_turns_completed_into_regressed(
    workspaces: dict[str, Path],
) -> None:
    root = workspaces["regressed"]
    before = warm(root)
    assert before.code == 0 and "regressed" not in before.text
    with (root / "app.py").open("a") as fh:
        fh.write(STUB)
    unknown = recomputed(root)
    assert unknown.code == 0 and "changed since last checked: IMPL-SYNTAX" in unknown.text
    assert phasegate(root, "validate").returncode == 1  # the result cache now knows
    now = recomputed(root)
    assert now.code == 1 and "regressed" in now.text
    assert "app.py" in now.text and "IMPL-STUB" in now.text
    as_json = recomputed(root, "--format", "json")
    gate = json.loads(as_json.out)["gates"][0]
    assert (gate["status"], gate["recorded_status"]) == ("regressed", "completed")


def test_format_session_and_rendering_are_keyed(workspaces: dict[str, Path]) -> None:
    root = workspaces["keyed"]
    text = warm(root)
    as_json = status(root, "--format", "json")
    assert not as_json.hit and as_json.stored, as_json.err
    assert json.loads(as_json.out)["session"]["id"] == "s1"
    named = status(root, "--session", "s1")
    assert not named.hit and named.stored, named.err
    assert named.out == text.out
    narrow = status(root, COLUMNS="60", FORCE_COLOR="1")  # a terminal, 60 columns wide
    assert not narrow.hit, narrow.err
    assert narrow.out != text.out
    # every request keeps its own answer
    for args, env in ((["--format", "json"], {}), (["--session", "s1"], {}), ([], {})):
        again = status(root, *args, **env)
        assert again.hit, (args, again.err)
    assert status(root, COLUMNS="60", FORCE_COLOR="1").hit


def test_from_a_subfolder_the_workspace_is_said_as_without_the_memo(
    workspaces: dict[str, Path],
) -> None:
    root = workspaces["subfolder"]
    before = warm(root)
    here = root / "pkg"
    inside = status(root, cwd=here)
    assert inside.hit, inside.err
    reference = without_memo(root, cwd=here)
    assert (inside.out, inside.code) == (reference.out, reference.code) == (before.out, 0)
    assert inside.stderr_lines() == reference.stderr_lines()
    said = f"phasegate: workspace {root.resolve()} (found phasegate.toml)"
    assert inside.stderr_lines() == [said]


def test_an_input_changed_too_recently_keeps_no_memo(workspaces: dict[str, Path]) -> None:
    root = workspaces["racy"]
    later = time.time() + 3600  # as if it had just been written: never old enough
    os.utime(root / "app.py", (later, later))
    first = status(root)
    assert "not stored" in first.err, first.err  # (git refreshed its index too)
    time.sleep(SETTLE_S)  # everything else is old enough again
    second = status(root)
    assert not second.hit and "not stored: app.py changed in the last" in second.err
    third = recomputed(root)
    assert "not stored: app.py changed in the last" in third.err


def test_a_session_folder_made_a_link_is_refused_again(
    workspaces: dict[str, Path], tmp_path: Path
) -> None:
    root = workspaces["link"]
    warm(root)
    session = root / ".phasegate" / "sessions" / "s1"
    moved = tmp_path / "s1"
    session.rename(moved)
    session.symlink_to(moved, target_is_directory=True)
    now = status(root)
    assert not now.hit
    assert now.code == 2 and "symbolic link" in now.err and now.out == b""


def test_a_new_commit_is_seen(workspaces: dict[str, Path]) -> None:
    root = workspaces["commit"]
    warm(root)
    git(root, "commit", "-q", "--allow-empty", "-m", "more")
    now = recomputed(root)
    assert "miss: .git/" in now.err  # the branch HEAD names moved


def test_the_fast_path_reads_only_the_forms_it_knows(tmp_path: Path) -> None:
    ws = str(tmp_path)
    assert parse_args([]) == (None, None, "text")
    assert parse_args(["--format", "json", "--session", "s1"]) == (None, "s1", "json")
    assert parse_args(["--format=json", "--session=s1"]) == (None, "s1", "json")
    assert parse_args([ws]) == (ws, None, "text")
    assert parse_args(["-w", ws]) == (ws, None, "text")
    assert parse_args(["--workspace", ws, ws]) == (ws, None, "text")
    for refused in (
        ["--help"],
        ["-h"],
        ["--format", "sarif"],
        ["--format"],
        ["--session", "s1", "--session", "s2"],
        ["--session", "-x"],
        ["--session="],
        ["-w", ws, "--workspace", ws],
        [ws, ws],
        [str(tmp_path / "missing")],
        ["--unknown"],
        ["-wDIR"],
        ["--", ws],
    ):
        assert parse_args(refused) is None, refused
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert parse_args([str(tmp_path / "a"), "-w", str(tmp_path / "b")]) is None


@pytest.mark.parametrize(
    ("layout", "marked"),
    [
        ({"phasegate.toml": ""}, True),
        ({"phasegate.toml": "", "pyproject.toml": "[tool.phasegate]\n"}, True),
        ({".phasegate/": ""}, True),
        ({".phasegate/": "", "pyproject.toml": "[project]\nname = 'x'\n"}, True),
        ({".phasegate/": "", "pyproject.toml": "[tool.phasegate]\nthresholds = [0.5]\n"}, False),
        ({".phasegate/": "", "pyproject.toml": "# phasegate is not configured here\n"}, False),
        ({"pyproject.toml": "[tool.phasegate]\n"}, False),
        ({".git/": ""}, False),
        ({}, False),
    ],
)
def test_the_fast_path_takes_a_folder_as_root_only_as_find_root_does(
    tmp_path: Path, layout: dict[str, str], marked: bool
) -> None:
    """Where the fast path takes the folder itself, find_root does; elsewhere the fast
    path leaves the choice to find_root."""
    folder = tmp_path / "top" / "ws"
    folder.mkdir(parents=True)
    (tmp_path / "top" / ".git").mkdir()  # the walk stops there
    for name, text in layout.items():
        if name.endswith("/"):
            (folder / name).mkdir()
        else:
            (folder / name).write_text(text)
    assert is_marked_root(str(folder.resolve())) is marked
    if marked:
        found = find_root(folder, home=tmp_path)
        assert found.path == folder.resolve() and not found.moved


def test_the_startup_benchmark_measures_status_with_its_memo_warm_and_cold() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "startup.py"),
            "--runs",
            "1",
            "--only",
            "status,status (memo cold)",
            "--json",
        ],
        env=_env(PHASEGATE_STATUS_MEMO=""),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {r["command"]: r for r in json.loads(proc.stdout)["commands"]}
    assert {"status", "status (memo cold)"} <= set(rows)
    for name in ("status", "status (memo cold)"):
        assert rows[name]["against"] == "python -c pass" and rows[name]["cpu_ms"] > 0
