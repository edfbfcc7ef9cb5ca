"""A hostile workspace or an unlucky user: state folders that are symbolic links, files
where folders belong (and the reverse), configurations that switch the gates off, and
requirements or session ids that do not belong in a file name or a terminal.

Everything goes through the real command line (click's ``CliRunner``), as a user would
type it: a refused state is exit code 2 with one sentence naming the path, never a
traceback, and nothing is written outside the workspace.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from phasegate.cli import cli

CONFIG = """\
[[phases]]
name = "requirements"
personas = ["requirement_analyst"]

[[phases.checks]]
id = "REQ-EXISTS"
"""

SESSION_COMMANDS: dict[str, list[str]] = {
    "run": ["run", "--requirement", "Task", "--workspace", "{ws}"],
    "resume": ["resume", "s1", "--workspace", "{ws}"],
    "validate": ["validate", "{ws}"],
    "status": ["status", "--session", "s1", "--workspace", "{ws}"],
    "report": ["report", "--session", "s1", "--workspace", "{ws}"],
    "remediate": ["remediate", "{ws}", "--session", "s1"],
    "undo": ["undo", "{ws}", "--session", "s1"],
    "sessions": ["sessions", "--workspace", "{ws}"],
}


def invoke(args: list[str], ws: Path | None = None) -> Result:
    argv = [a.replace("{ws}", str(ws)) for a in args]
    return CliRunner().invoke(cli, argv)


def assert_refused(result: Result, *names: str) -> None:
    """Exit 2, no traceback, one line on stderr naming the path."""
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"traceback: {result.exception!r}\n{result.output}"
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for name in names:
        assert name in lines[0], lines[0]


def files_under(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "phasegate.toml").write_text(CONFIG, encoding="utf-8")
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    out = tmp_path / "outside"
    out.mkdir()
    return out


def with_session(ws: Path) -> Path:
    """``ws`` with a completed session ``s1``."""
    result = invoke(["run", "--requirement", "Task", "--session", "s1", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    return ws / ".phasegate" / "sessions" / "s1"


# -- 5. symbolic links in the state folder -------------------------------------------------
def test_run_refuses_a_state_folder_that_is_a_symlink(ws: Path, outside: Path) -> None:
    (ws / ".phasegate").symlink_to(outside, target_is_directory=True)
    result = invoke(["run", "--requirement", "Task", "--workspace", str(ws)])
    assert_refused(result, str(ws / ".phasegate"), "symbolic link")
    assert files_under(outside) == []
    assert not (ws / "docs").exists()  # refused before any persona ran


@pytest.mark.parametrize("link", ["sessions", "cache", "sessions/s2"])
def test_run_refuses_a_linked_folder_inside_the_state_folder(
    ws: Path, outside: Path, link: str
) -> None:
    path = ws / ".phasegate" / link
    path.parent.mkdir(parents=True)
    path.symlink_to(outside, target_is_directory=True)
    result = invoke(["run", "--requirement", "Task", "--session", "s2", "-w", str(ws)])
    assert_refused(result, str(path), "symbolic link")
    assert files_under(outside) == []


def test_resume_refuses_a_session_folder_that_is_a_symlink(ws: Path, outside: Path) -> None:
    session = with_session(ws)
    moved = outside / "s1"
    session.rename(moved)
    session.symlink_to(moved, target_is_directory=True)
    before = {p: p.read_bytes() for p in moved.rglob("*") if p.is_file()}
    for args in (["resume", "s1"], ["status", "--session", "s1"], ["report", "--session", "s1"]):
        result = invoke([*args, "--workspace", str(ws)])
        assert_refused(result, str(session), "symbolic link")
    assert {p: p.read_bytes() for p in moved.rglob("*") if p.is_file()} == before
    assert not (moved / "report.html").exists()


@pytest.mark.parametrize("link", ["", "cache"])
def test_validate_refuses_a_linked_cache(ws: Path, outside: Path, link: str) -> None:
    path = ws / ".phasegate" / link if link else ws / ".phasegate"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(outside, target_is_directory=True)
    result = invoke(["validate", str(ws)])
    assert_refused(result, str(path), "symbolic link")
    assert files_under(outside) == []


def test_a_linked_lock_or_journal_is_refused(ws: Path, outside: Path) -> None:
    session = with_session(ws)
    for name in ("lock", "events.jsonl", "checkpoint.json"):
        target = outside / name
        target.write_bytes(b"")
        (session / name).rename(outside / f"{name}.orig")
        (session / name).symlink_to(target)
        result = invoke(["resume", "s1", "--workspace", str(ws)])
        assert_refused(result, str(session / name), "symbolic link")
        assert target.read_bytes() == b""
        (session / name).unlink()
        (outside / f"{name}.orig").rename(session / name)


# -- 6. files where folders belong, folders where files belong -----------------------------
def _state_file(ws: Path) -> Path:
    p = ws / ".phasegate"
    p.write_text("x")
    return p


def _cache_file(ws: Path) -> Path:
    p = ws / ".phasegate" / "cache"
    shutil.rmtree(p, ignore_errors=True)
    p.write_text("x")
    return p


def _session_entry(name: str) -> Callable[[Path], Path]:
    def damage(ws: Path) -> Path:
        p = ws / ".phasegate" / "sessions" / "s1" / name
        p.unlink(missing_ok=True)
        p.mkdir()
        return p

    return damage


def _active_dir(ws: Path) -> Path:
    p = ws / ".phasegate" / "active"
    p.unlink(missing_ok=True)
    p.mkdir()
    return p


DAMAGE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "state-file": (_state_file, "not a folder"),
    "cache-file": (_cache_file, "not a folder"),
    "lock-dir": (_session_entry("lock"), "not a file"),
    "events-dir": (_session_entry("events.jsonl"), "not a file"),
    "active-dir": (_active_dir, "not a file"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("command", sorted(SESSION_COMMANDS))
def test_a_damaged_state_folder_is_exit_2_naming_the_path(
    ws: Path, damage: str, command: str
) -> None:
    if damage == "state-file":
        with_session(ws)
        (ws / ".phasegate").rename(ws.parent / "moved-state")
    else:
        with_session(ws)
    make, problem = DAMAGE[damage]
    path = make(ws)
    result = invoke(SESSION_COMMANDS[command], ws)
    assert_refused(result, str(path), problem)


# -- 7. configurations that switch the gates off -------------------------------------------
def validate_with(ws: Path, text: str) -> Result:
    (ws / "phasegate.toml").write_text(text, encoding="utf-8")
    return invoke(["validate", str(ws)])


def assert_config_error(result: Result, ws: Path, line: int, words: str) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 2, result.output
    assert f"{ws / 'phasegate.toml'}:{line}:" in result.stderr, result.stderr
    assert words in result.stderr, result.stderr


def test_an_empty_pipeline_is_a_configuration_error(ws: Path) -> None:
    result = validate_with(ws, "thresholds = [0.5]\nphases = []\n")
    assert_config_error(result, ws, 2, "no phase")
    run = invoke(["run", "--requirement", "Task", "--workspace", str(ws)])
    assert run.exit_code == 2
    assert f"{ws / 'phasegate.toml'}:2:" in run.stderr


def test_a_phase_whose_every_weight_is_zero_is_a_configuration_error(ws: Path) -> None:
    text = CONFIG + 'weight = 0\n\n[[phases.checks]]\nid = "REQ-SECTIONS"\nweight = 0.0\n'
    assert_config_error(validate_with(ws, text), ws, 1, "weight")


def test_a_phase_without_an_enabled_check_is_a_configuration_error(ws: Path) -> None:
    text = CONFIG + "enabled = false\n"
    assert_config_error(validate_with(ws, text), ws, 1, "no enabled check")
    no_checks = '[[phases]]\nname = "requirements"\npersonas = ["requirement_analyst"]\n'
    assert_config_error(validate_with(ws, no_checks), ws, 1, "no enabled check")


def test_absurd_iteration_limits_are_configuration_errors(ws: Path) -> None:
    result = validate_with(ws, "max_phase_iterations = 1e20\n" + CONFIG)
    assert_config_error(result, ws, 1, "max_phase_iterations")
    result = validate_with(ws, "max_phase_iterations = 1e6\n" + CONFIG)
    assert_config_error(result, ws, 1, "1000")
    result = validate_with(ws, "\nmax_global_iterations = 5000\n" + CONFIG)
    assert_config_error(result, ws, 2, "1000")
    run = invoke(["run", "-r", "Task", "--max-phase-iterations", "100000", "-w", str(ws)])
    assert run.exit_code == 2 and "1000" in run.stderr, run.output


def test_decreasing_thresholds_are_a_warning_with_the_line(ws: Path) -> None:
    (ws / "docs").mkdir()
    (ws / "docs" / "requirements.md").write_text("# Requirements\n", encoding="utf-8")
    result = validate_with(ws, "\nthresholds = [0.9, 0.6]\n" + CONFIG)
    assert result.exit_code == 0, result.output
    assert f"{ws / 'phasegate.toml'}:2:" in result.stderr, result.stderr
    assert "warning" in result.stderr and "decrease" in result.stderr, result.stderr


# -- 9. requirements, session ids, trust ---------------------------------------------------
def test_control_characters_of_the_requirement_are_not_written(ws: Path) -> None:
    result = invoke(["run", "--requirement", "Task\x1b[31m\x07 one\tpart\x9b2J\x00", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    text = (ws / "docs" / "requirements.md").read_text(encoding="utf-8")
    assert not [c for c in text if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F]
    assert "Task[31m one part2J" in text


def test_a_session_id_starting_with_a_dash_is_refused(ws: Path) -> None:
    result = invoke(["run", "--requirement", "Task", "--session", "-x", "-w", str(ws)])
    assert_refused(result, "-x")
    assert not (ws / ".phasegate" / "sessions" / "-x").exists()
    assert not (ws / "docs").exists()
    result = invoke(["remediate", str(ws), "--session", "-x"])
    assert_refused(result, "-x")
    assert not (ws / ".phasegate" / "sessions" / "-x").exists()


PERSONA_WRITES = "open('persona-ran.txt', 'w').write('x')"
CHECK_WRITES = "open('check-ran.txt', 'w').write('x')"


def test_run_untrusted_runs_no_workspace_code(ws: Path) -> None:
    (ws / "phasegate.toml").write_text(
        f"""\
[[phases]]
name = "build"
personas = ["fixer"]

[[phases.checks]]
id = "RUNS"
kind = "command"
owner = "fixer"
options.command = [{json.dumps(sys.executable)}, "-c", {json.dumps(CHECK_WRITES)}]
options.format = "exit-code"

[personas.fixer]
kind = "command"
options = {{ command = [{json.dumps(sys.executable)}, "-c", {json.dumps(PERSONA_WRITES)}] }}
""",
        encoding="utf-8",
    )
    result = invoke(
        ["run", "--untrusted", "--requirement", "Task", "-w", str(ws), "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    assert not (ws / "check-ran.txt").exists()
    assert not (ws / "persona-ran.txt").exists()
    data = json.loads(result.stdout)
    checks = data["gates"][0]["checks"]
    assert checks[0]["status"] == "skipped", checks


def test_checks_whose_own_default_weight_is_zero_count_as_zero(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phasegate.checks import base

    real = base.registered_checks()
    zero = type("ZeroWeight", (real["REQ-EXISTS"],), {"default_weight": 0.0})
    monkeypatch.setattr(base, "registered_checks", lambda: {**real, "ZERO": zero})
    text = '\n[[phases]]\nname = "p"\n\n[[phases.checks]]\nid = "ZERO"\n'
    assert_config_error(validate_with(ws, text), ws, 2, "weighs 0")
    ok = text + "weight = 1\n"
    assert validate_with(ws, ok).exit_code != 2


# -- the store and the cache refuse links themselves (editors, API users) --------------------
def test_the_store_writes_nothing_through_a_link(ws: Path, outside: Path) -> None:
    from phasegate.model import Event, SessionState
    from phasegate.store import SessionStore, UnsafeStatePath

    session = with_session(ws)
    store = SessionStore(ws)
    target = outside / "events.jsonl"
    target.write_bytes(b"")
    (session / "events.jsonl").unlink()
    (session / "events.jsonl").symlink_to(target)
    with pytest.raises(UnsafeStatePath, match="symbolic link"):
        store.append_event("s1", Event(kind="session_resumed", session="s1"))
    with pytest.raises(UnsafeStatePath, match="symbolic link"):
        store.load("s1")
    assert target.read_bytes() == b""
    (ws / ".phasegate" / "sessions" / "s3").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeStatePath, match="symbolic link"):
        store.save(SessionState(id="s3", requirement="x", phases=[]))
    with pytest.raises(UnsafeStatePath, match="symbolic link"):
        store.lock("s3")
    assert [p.name for p in outside.iterdir()] == ["events.jsonl"]
    listed = {i.id: i for i in store.list()}
    assert listed["s3"].status == "unreadable"
    assert "symbolic link" in (listed["s3"].error or "")
    assert store.peek("s3") is None


def test_the_store_refuses_new_ids_starting_with_a_dash(ws: Path) -> None:
    from phasegate.model import SessionState
    from phasegate.store import InvalidSessionId, SessionStore

    with pytest.raises(InvalidSessionId, match="must not start with '-'"):
        SessionStore(ws).create(SessionState(id="-x", requirement="x", phases=[]))
    assert not (ws / ".phasegate" / "sessions" / "-x").exists()


def test_the_cache_reads_and_writes_nothing_through_a_link(ws: Path, outside: Path) -> None:
    from phasegate.cache import ResultCache

    (ws / ".phasegate").mkdir()
    (ws / ".phasegate" / "cache").symlink_to(outside, target_is_directory=True)
    (outside / "p_C.json").write_text(
        '{"version": 2, "fingerprint": "f", "files": {"a": ["h", []]}}\n'
    )
    cache = ResultCache(ws / ".phasegate" / "cache")
    assert not cache.usable()
    assert cache.get_file("p:C", "f", "a", "h") is None
    cache.put_file("p:C", "f", "b", "h", [])
    cache.flush()
    assert [p.name for p in outside.iterdir()] == ["p_C.json"]


def test_an_unexpected_file_system_error_is_exit_2_not_a_traceback(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from phasegate.store import SessionStore

    def broken(self: SessionStore) -> list[object]:
        raise OSError(errno.EIO, "Input/output error", str(ws / ".phasegate" / "sessions"))

    monkeypatch.setattr(SessionStore, "list", broken)
    assert_refused(invoke(["sessions", "-w", str(ws)]), str(ws / ".phasegate" / "sessions"))
