"""What the commands import: only what they use.

Each command runs in a process of its own, started as the ``phasegate`` program starts
it, and lists ``sys.modules`` when it ends (``python -X importtime`` would not do: it
does not log a module loaded by ``importlib.import_module``, which is how subcommands
and plugins are loaded). The commands that run
nothing (``--help``, ``status``, ``sessions``, a no-op ``hook``) must not pay for what
they do not use — pydantic and the models, rich, asyncio, the language server, MCP,
check plugins — and the commands that run checks import only the checks they run (the
plugin registry resolves a check by its id). No timing is measured here: the figures are
``benchmarks/startup.py``'s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# a one-phase workspace: two in-process checks, so a session completes offline at once
CONFIG = """\
thresholds = [0.5]

[[phases]]
name = "implementation"

[[phases.checks]]
id = "IMPL-SYNTAX"

[[phases.checks]]
id = "IMPL-STUB"
"""

MODULE = '''\
"""A clean module."""


def add(a: int, b: int) -> int:
    return a + b
'''

# never needed by a command that runs nothing
SERVERS = ("pygls", "lsprotocol", "mcp", "phasegate.lsp", "phasegate.mcp_server")
ENGINE = ("phasegate.executor", "phasegate.runner", "phasegate.cache", "phasegate.proc")
MODELS = ("pydantic", "pydantic_core", "phasegate.model", "phasegate.config")
# the checks of the phases the workspaces below do not configure
OTHER_CHECKS = tuple(
    f"phasegate.checks.{p}" for p in ("requirements", "design", "testing", "deployment", "gate")
)


def _env() -> dict[str, str]:
    # no coverage start-up hook: it would add its own imports to the log
    drop = ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.endswith("_PROJECT_DIR")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


# ``phasegate ARGS`` as the program runs it (``phasegate.cli.main``), except that the
# command ends with ``sys.exit`` rather than ``os._exit`` so that the modules can be listed
DRIVER = """\
import sys
from phasegate.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="phasegate", standalone_mode=False)
    code = 0
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 1
sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n")
sys.exit(code)
"""


def imported(
    *args: str, cwd: Path, stdin: str = "", codes: tuple[int, ...] = (0, 1)
) -> tuple[set[str], str]:
    """The modules ``phasegate ARGS`` had imported when it ended, and its stdout."""
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, *args],
        cwd=cwd,
        env=_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode in codes, proc.stderr[-3000:]
    last = proc.stderr.rstrip("\n").rsplit("\n", 1)[-1]
    assert last.startswith("MODULES "), proc.stderr[-3000:]
    modules = set(last.split()[1:])
    assert "phasegate.cli" in modules
    return modules, proc.stdout


def loaded(modules: set[str], *packages: str) -> list[str]:
    """The modules of ``packages`` (a package or any module under it) in ``modules``."""
    return sorted(m for m in modules for p in packages if m == p or m.startswith(p + "."))


# the modules of the registered check plugins (entry points of ``phasegate.checks``)
PLUGIN_MODULES = {ep.module for ep in entry_points(group="phasegate.checks")}


def check_plugins(modules: set[str]) -> list[str]:
    """The check plugin modules among ``modules``."""
    return sorted(modules & PLUGIN_MODULES)


@pytest.fixture(scope="module")
def session_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-phase workspace whose session ``s1`` completed."""
    ws = tmp_path_factory.mktemp("session")
    (ws / "phasegate.toml").write_text(CONFIG)
    (ws / "app.py").write_text(MODULE)
    proc = subprocess.run(
        [sys.executable, "-m", "phasegate", "run", "-r", "Add numbers", "--session", "s1"],
        cwd=ws,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return ws


def test_help_and_version_import_no_subcommand(tmp_path: Path) -> None:
    for args in (["--help"], ["--version"]):
        modules, out = imported(*args, cwd=tmp_path)
        assert "phasegate" in out
        assert loaded(modules, "phasegate.commands") == [], args
        assert loaded(modules, *MODELS, "rich", "asyncio", *SERVERS, *ENGINE) == [], args


@pytest.mark.parametrize("command", ["run", "resume", "status", "sessions", "hook"])
def test_a_command_s_help_loads_no_engine(tmp_path: Path, command: str) -> None:
    modules, out = imported(command, "--help", cwd=tmp_path)
    assert "Usage:" in out
    assert loaded(modules, *MODELS, "rich", "asyncio", *SERVERS, *ENGINE) == []
    assert check_plugins(modules) == []


def test_sessions_reads_summaries_without_pydantic_or_rich_in_json(session_ws: Path) -> None:
    modules, out = imported("sessions", "--format", "json", cwd=session_ws)
    listed = json.loads(out)
    assert [(s["id"], s["status"], s["active"]) for s in listed] == [("s1", "completed", True)]
    assert loaded(modules, *MODELS, "rich", "asyncio", *SERVERS, *ENGINE) == []
    assert check_plugins(modules) == []


def test_sessions_as_text_adds_rich_only(session_ws: Path) -> None:
    modules, out = imported("sessions", cwd=session_ws)
    assert "s1" in out and "completed" in out
    assert loaded(modules, "rich.console", "rich.table")
    assert loaded(modules, *MODELS, "asyncio", *SERVERS, *ENGINE) == []


def test_status_loads_only_the_checks_of_its_phases_and_no_executor(session_ws: Path) -> None:
    modules, out = imported("status", "--format", "json", cwd=session_ws)
    shown = json.loads(out)
    assert shown["session"]["status"] == "completed"
    assert [g["status"] for g in shown["gates"]] == ["completed"]
    # the completed phase is re-checked from the cache: its two checks, no other
    assert check_plugins(modules) == [
        "phasegate.checks.implementation.stubs",
        "phasegate.checks.implementation.syntax",
    ]
    assert loaded(modules, *OTHER_CHECKS) == []
    # runs nothing: no executor, no event loop, no persona, no server; JSON: no rich
    assert loaded(modules, "phasegate.executor", "asyncio", "phasegate.personas.command") == []
    assert loaded(modules, *SERVERS, "rich") == []
    # reads no Markdown document: no parser
    assert loaded(modules, "markdown_it") == []


def test_status_as_text_renders_with_rich(session_ws: Path) -> None:
    modules, out = imported("status", cwd=session_ws)
    assert "session s1" in out and "completed" in out
    assert loaded(modules, "rich.console", "rich.table")
    assert loaded(modules, "phasegate.executor", "asyncio", *SERVERS) == []


def test_a_no_op_hook_event_imports_no_engine(session_ws: Path) -> None:
    modules, out = imported("hook", cwd=session_ws, stdin="{}", codes=(0,))
    assert out == ""  # not an event: no answer, a line in the hook log
    assert "ignored input" in (session_ws / ".phasegate" / "hooks" / "hook.log").read_text()
    assert loaded(modules, *MODELS, "rich", "asyncio", *SERVERS, *ENGINE) == []
    assert check_plugins(modules) == []


def test_validate_resolves_only_the_checks_it_runs(tmp_path: Path) -> None:
    (tmp_path / "phasegate.toml").write_text(CONFIG.replace('id = "IMPL-STUB"', 'id = "IMPL-LINT"'))
    (tmp_path / "app.py").write_text(MODULE)
    modules, out = imported("validate", "--format", "json", cwd=tmp_path)
    ran = [c["id"] for p in json.loads(out)["phases"] for c in p["checks"]]
    assert ran == ["IMPL-SYNTAX", "IMPL-LINT"]
    # the two checks run (and the command check's helpers IMPL-LINT uses), no other
    assert check_plugins(modules) == [
        "phasegate.checks.command",
        "phasegate.checks.implementation.lint",
        "phasegate.checks.implementation.syntax",
    ]
    assert loaded(modules, *OTHER_CHECKS, "phasegate.checks.implementation.stubs") == []
    assert loaded(modules, *SERVERS, "rich", "markdown_it") == []


def test_the_startup_benchmark_prints_its_table() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "startup.py"),
            "--runs",
            "1",
            "--only",
            "--help,sessions --format json,hook (no-op event)",
            "--json",
        ],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout)
    rows = {r["command"]: r for r in figures["commands"]}
    assert set(rows) == {
        "python -c pass",
        "ruff check",
        "--help",
        "sessions --format json",
        "hook (no-op event)",
    }
    for name in ("--help", "sessions --format json", "hook (no-op event)"):
        assert rows[name]["against"] == "python -c pass"
        assert rows[name]["cpu_ms"] > 0 and rows[name]["cpu_ratio"] > 0
    assert figures["cpus"] >= 1 and len(figures["load_average_start"]) == 3
