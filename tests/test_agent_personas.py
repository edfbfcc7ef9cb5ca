"""Installed coding agents become the code phases' personas.

Stand-ins named ``claude``, ``codex``, ``aider``, ``cursor-agent`` and ``gemini`` are
written into a folder put first on ``PATH``. Each parses its command line the way the
real CLI documents it (print/exec mode, permission or sandbox flags, where the prompt
is: standard input, ``-``, ``--message``, ``-p``, the last argument) and refuses, or
edits nothing, when the invocation would not let the real one edit files
unattended. Then, like an agent, it implements the stub a finding of its task names.
``phasegate personas`` lists them, ``--use`` writes the personas into
``phasegate.toml`` (its other content kept byte for byte), ``phasegate remediate``
makes the stand-in implement the stub and the gate pass, and ``init --agent auto``
picks the first one found.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from phasegate.cli import cli
from phasegate.commands.init import default_config_text
from phasegate.config import Config, PersonaConfig
from phasegate.config_loader import load, load_config
from phasegate.executor import Executor
from phasegate.model import PhaseStatus
from phasegate.personas.agent_setup import (
    BACKUP_SUFFIX,
    AgentSetupError,
    agent_offer,
    apply_agent,
    use_agent,
)
from phasegate.personas.agents import (
    AGENT_NAMES,
    KNOWN_AGENTS,
    code_personas,
    default_targets,
    detect_agents,
    known_agent,
)
from phasegate.store import SessionStore
from phasegate.workspace import Workspace

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="stand-ins are scripts")

ROOT = Path(__file__).resolve().parents[1]
PERSONAS_DOC = ROOT / "docs" / "personas.md"
VENV_BIN = str(Path(sys.executable).parent)

STUB = "def add(a, b):\n    pass\n"
DONE = "def add(a, b):\n    return a + b\n"
FINDING = "calc.py:1:5: IMPL-STUB `add` is a stub"

# What every stand-in does once it has its task: log what it was given, then implement
# the stubs the task's IMPL-STUB findings name (when its flags allow edits).
AGENT_BODY = textwrap.dedent(
    r"""
    import json, os, re, sys
    from pathlib import Path

    if os.environ.get("STANDIN_RAN"):
        with open(os.environ["STANDIN_RAN"], "a", encoding="utf-8") as ran:
            ran.write(sys.argv[0] + "\n")

    def work(agent, prompt, via, may_edit):
        with open(os.environ["STANDIN_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps({
                "agent": agent, "argv": sys.argv[1:], "prompt": prompt, "via": via,
                "may_edit": may_edit, "cwd": os.getcwd(),
                "persona": os.environ.get("PHASEGATE_PERSONA"),
            }) + "\n")
        if not may_edit:
            print("I would edit calc.py, but I may not: approve it interactively")
            return 0
        pattern = r"^\s*(\S+?):(\d+):(\d+): IMPL-STUB "
        for m in re.finditer(pattern, prompt, re.M):
            path = Path(m[1])
            lines = path.read_text().splitlines(keepends=True)
            i = int(m[2]) - 1
            params = re.match(r"\s*def \w+\((.*?)\)", lines[i])[1]
            names = [p.split(":")[0].split("=")[0].strip() for p in params.split(",")]
            names = [n for n in names if n]
            for j in range(i + 1, len(lines)):
                body = lines[j].strip()
                if body in ("pass", "...") or body.startswith("raise NotImplementedError"):
                    indent = lines[j][: len(lines[j]) - len(lines[j].lstrip())]
                    lines[j] = indent + "return " + (" + ".join(names) or "None") + "\n"
                    break
            path.write_text("".join(lines))
            print("implemented", m[1])
        return 0

    def piped():
        return "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    """
)

# How each CLI reads its command line and its prompt, as documented.
PARSERS = {
    # claude -p [prompt]: no prompt argument -> the prompt is standard input
    "claude": r"""
    import argparse
    ap = argparse.ArgumentParser(prog="claude")
    ap.add_argument("-p", "--print", action="store_true")
    ap.add_argument("--permission-mode", default="default",
                    choices=["default", "acceptEdits", "plan", "bypassPermissions"])
    ap.add_argument("--output-format", choices=["text", "json", "stream-json"])
    ap.add_argument("prompt", nargs="?")
    a = ap.parse_args()
    if not a.print:
        sys.exit("claude: the interactive mode needs a terminal")
    stdin = piped()
    prompt = "\n\n".join(p for p in (a.prompt, stdin) if p)
    if not prompt:
        sys.exit("Error: Input must be provided either through stdin or as a prompt "
                 "argument when using --print")
    via = "stdin" if stdin and not a.prompt else "argument"
    sys.exit(work("claude", prompt, via,
                  a.permission_mode in ("acceptEdits", "bypassPermissions")))
    """,
    # codex exec [PROMPT]: no PROMPT, or `-` -> the prompt is standard input
    "codex": r"""
    import argparse
    ap = argparse.ArgumentParser(prog="codex")
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("exec")
    ex.add_argument("-s", "--sandbox", default="read-only",
                    choices=["read-only", "workspace-write", "danger-full-access"])
    ex.add_argument("--skip-git-repo-check", action="store_true")
    ex.add_argument("prompt", nargs="?")
    a = ap.parse_args()
    if not a.skip_git_repo_check and not Path(".git").exists():
        sys.exit("Not inside a trusted directory and --skip-git-repo-check was not "
                 "specified.")
    if a.prompt in (None, "-"):
        prompt, via = piped(), "stdin"
    else:
        stdin = piped()
        prompt = a.prompt + (f"\n\n<stdin>\n{stdin}</stdin>" if stdin else "")
        via = "argument"
    if not prompt.strip():
        sys.exit("No prompt provided.")
    sys.exit(work("codex", prompt, via, a.sandbox != "read-only"))
    """,
    # aider --message MSG [files]: MSG is the prompt; without it, a chat starts
    "aider": r"""
    import argparse
    ap = argparse.ArgumentParser(prog="aider")
    ap.add_argument("--yes-always", action="store_true")
    ap.add_argument("--auto-commits", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--dirty-commits", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--gitignore", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--message", "--msg", "-m")
    ap.add_argument("--message-file", "-f")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    if a.message is None and a.message_file is None:
        sys.exit("aider: no --message: this would start an interactive chat")
    if a.auto_commits or a.dirty_commits:
        sys.exit("stand-in: this invocation would commit to git")
    prompt = a.message if a.message is not None else Path(a.message_file).read_text()
    sys.exit(work("aider", prompt, "argument", a.yes_always))
    """,
    # cursor-agent -p [prompt...]: headless; an untrusted folder is refused (exit 0)
    "cursor-agent": r"""
    import argparse
    ap = argparse.ArgumentParser(prog="cursor-agent")
    ap.add_argument("-p", "--print", action="store_true")
    ap.add_argument("-f", "--force", "--yolo", action="store_true")
    ap.add_argument("--trust", action="store_true")
    ap.add_argument("--output-format", choices=["text", "json", "stream-json"])
    ap.add_argument("prompt", nargs="*")
    a = ap.parse_args()
    if not a.print:
        sys.exit("cursor-agent: the interactive mode needs a terminal")
    if not (a.trust or a.force):
        print("Workspace Trust Required. Pass --trust, --yolo, or -f if you trust "
              "this directory")
        sys.exit(0)
    sys.exit(work("cursor-agent", " ".join(a.prompt), "argument", a.force))
    """,
    # gemini -p PROMPT: headless; PROMPT is appended to standard input when piped
    "gemini": r"""
    import argparse
    ap = argparse.ArgumentParser(prog="gemini")
    ap.add_argument("-p", "--prompt")
    ap.add_argument("--approval-mode", default="default",
                    choices=["default", "auto_edit", "yolo", "plan"])
    ap.add_argument("-y", "--yolo", action="store_true")
    ap.add_argument("--skip-trust", action="store_true")
    ap.add_argument("query", nargs="*")
    a = ap.parse_args()
    if os.environ.get("GEMINI_CLI_TRUST_WORKSPACE") != "true" and not a.skip_trust:
        print("Gemini CLI is not running in a trusted directory. To proceed, either use "
              "--skip-trust, set the GEMINI_CLI_TRUST_WORKSPACE=true environment "
              "variable, or trust this directory in interactive mode.", file=sys.stderr)
        sys.exit(55)
    stdin = piped()
    if a.prompt is None and not stdin:
        sys.exit("gemini: no prompt: this would start the interactive mode")
    prompt = "\n\n".join(p for p in (stdin, a.prompt) if p)
    via = "argument" if a.prompt and not stdin else "stdin"
    sys.exit(work("gemini", prompt, via,
                  a.yolo or a.approval_mode in ("auto_edit", "yolo")))
    """,
}
# Where the documented invocation puts the prompt.
PROMPT_VIA = {
    "claude": "stdin",
    "codex": "stdin",
    "aider": "argument",
    "cursor-agent": "argument",
    "gemini": "argument",
}

MINIMAL_CONFIG = (
    "# my project's gate: only the implementation phase\n"
    "thresholds = [0.9]  # strict\n"
    "\n"
    "[[phases]]\n"
    'name = "implementation"\n'
    'personas = ["backend_developer"]\n'
    "\n"
    "[[phases.checks]]\n"
    'id = "IMPL-STUB"  # stubs only\n'
    "\n"
    "# the end\n"
)


def write_standins(bin_dir: Path, names: tuple[str, ...] = AGENT_NAMES) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = bin_dir / name
        path.write_text(
            f"#!{sys.executable}\n" + AGENT_BODY + textwrap.dedent(PARSERS[name]) + "\n",
            encoding="utf-8",
        )
        path.chmod(0o755)
    return bin_dir


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def phasegate(
    *args: str, cwd: Path, path: str, log: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path, "STANDIN_LOG": str(log), **(extra_env or {})}
    env.pop("GEMINI_CLI_TRUST_WORKSPACE", None)  # the persona must supply it
    return subprocess.run(
        [sys.executable, "-m", "phasegate", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def log_entries(log: Path) -> list[dict[str, object]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    return write_standins(tmp_path / "bin")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "calc.py").write_text(STUB, encoding="utf-8")
    return root


@pytest.fixture
def only_standins(monkeypatch: pytest.MonkeyPatch, bin_dir: Path) -> Path:
    """PATH holds the stand-ins and this Python's tools, nothing installed elsewhere."""
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), VENV_BIN]))
    return bin_dir


# -- the table and detection ------------------------------------------------------------
def test_detect_finds_agents_on_path_in_preference_order_and_runs_none(tmp_path: Path) -> None:
    bin_dir = write_standins(tmp_path / "bin", ("gemini", "codex"))
    (bin_dir / "claude").write_text("#!/bin/sh\n")  # not executable: not an agent
    ran = tmp_path / "ran.txt"
    os.environ["STANDIN_RAN"] = str(ran)
    try:
        found = detect_agents(str(bin_dir))
    finally:
        del os.environ["STANDIN_RAN"]
    assert [a.name for a in found] == ["codex", "gemini"]
    assert [a.path for a in found] == [str(bin_dir / "codex"), str(bin_dir / "gemini")]
    assert not ran.exists()  # found, never run
    assert detect_agents(str(tmp_path / "empty")) == []


def test_the_table_says_how_each_cli_takes_its_prompt() -> None:
    assert AGENT_NAMES == ("claude", "codex", "aider", "cursor-agent", "gemini")
    for agent in KNOWN_AGENTS:
        assert agent.command[0] == agent.name
        assert agent.docs and all(d.startswith("https://") for d in agent.docs)
        takes_argument = any("{prompt}" in a for a in agent.command)
        assert takes_argument != agent.stdin, agent.name  # exactly one way in
        assert PROMPT_VIA[agent.name] == ("stdin" if agent.stdin else "argument")
    assert dict(known_agent("gemini").env) == {"GEMINI_CLI_TRUST_WORKSPACE": "true"}


def test_code_personas_are_the_owners_of_the_implementation_and_testing_checks() -> None:
    assert code_personas(Config()) == ["backend_developer", "qa_engineer"]
    text = MINIMAL_CONFIG + (
        '\n[[phases.checks]]\nid = "IMPL-LINT"\nowner = "lint_fixer"\n'
        '\n[personas.lint_fixer]\nkind = "command"\n'
        'options.command = ["ruff", "check", "--fix", "."]\n'
    )
    config = apply_agent(text, Path("phasegate.toml"), None).text
    targets, kept = default_targets(load_config_text(config))
    assert targets == ["backend_developer"]
    assert list(kept) == ["lint_fixer"] and "ruff check --fix" in kept["lint_fixer"]


def load_config_text(text: str) -> Config:
    from phasegate.config_loader import parse_config

    return parse_config(text, Path("phasegate.toml"))[0]


# -- phasegate personas -----------------------------------------------------------------
def test_personas_lists_the_personas_and_the_agents_on_path(only_standins: Path, ws: Path) -> None:
    listed = run("personas", str(ws))
    assert listed.exit_code == 0, listed.output
    out = listed.stdout
    assert "backend_developer    scaffold: built-in skeletons  code: implementation" in out
    assert "qa_engineer          scaffold: built-in skeletons  code: testing" in out
    for name in AGENT_NAMES:
        assert f"{name}" in out and str(only_standins / name) in out
    assert "phasegate personas --use claude" in out
    assert not (ws / "phasegate.toml").exists()  # listing writes nothing

    doc = json.loads(run("personas", str(ws), "--format", "json").stdout)
    assert doc["config"] is None and doc["written"] is None
    assert doc["code_personas"] == ["backend_developer", "qa_engineer"]
    assert [a["name"] for a in doc["agents"]] == list(AGENT_NAMES)
    assert doc["agents"][0]["path"] == str(only_standins / "claude")
    backend = next(p for p in doc["personas"] if p["name"] == "backend_developer")
    assert backend["kind"] == "scaffold" and backend["code_phases"] == ["implementation"]


def test_use_claude_creates_the_config_like_init_and_remediate_implements_the_stub(
    only_standins: Path, ws: Path, tmp_path: Path
) -> None:
    used = run("personas", str(ws), "--use", "claude")
    assert used.exit_code == 0, used.output
    assert "backend_developer, qa_engineer now use Claude Code (claude)" in used.stdout
    assert "trusted workspace" in used.stdout
    text = (ws / "phasegate.toml").read_text(encoding="utf-8")
    # the commented defaults of `init`, with the two code personas' tables replaced
    assert text.startswith(default_config_text().split("[personas.", 1)[0])
    assert not (ws / ("phasegate.toml" + BACKUP_SUFFIX)).exists()  # nothing to back up
    config = load_config(ws)
    for name in ("backend_developer", "qa_engineer"):
        pc = config.persona(name)
        assert pc.kind == "command" and pc.timeout == 1800
        assert pc.options["command"] == list(known_agent("claude").command)
        assert pc.options["stdin"] is True
    assert config.persona("frontend_developer").kind == "scaffold"

    log = tmp_path / "log.jsonl"
    path = os.pathsep.join([str(only_standins), VENV_BIN, os.defpath])
    res = phasegate("remediate", ".", "--phase", "implementation", cwd=ws, path=path, log=log)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (ws / "calc.py").read_text(encoding="utf-8") == DONE
    (entry,) = log_entries(log)
    assert entry["agent"] == "claude" and entry["via"] == "stdin"
    assert entry["persona"] == "backend_developer" and entry["cwd"] == str(ws)
    assert FINDING in str(entry["prompt"])
    assert "You are the backend_developer" in str(entry["prompt"])


@pytest.mark.parametrize("agent", AGENT_NAMES)
def test_each_agent_reads_its_task_as_documented_and_the_gate_passes(
    agent: str, bin_dir: Path, ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (ws / "phasegate.toml").write_text(MINIMAL_CONFIG, encoding="utf-8")
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), VENV_BIN]))
    used = run("personas", str(ws), "--use", agent)
    assert used.exit_code == 0, used.output
    text = (ws / "phasegate.toml").read_text(encoding="utf-8")
    # only backend_developer owns a code check here; the rest of the file is untouched
    assert text.startswith(MINIMAL_CONFIG)
    assert text[len(MINIMAL_CONFIG) :].startswith("\n[personas.backend_developer]\n")
    assert "qa_engineer" not in text
    assert (ws / ("phasegate.toml" + BACKUP_SUFFIX)).read_text() == MINIMAL_CONFIG

    log = tmp_path / "log.jsonl"
    path = os.pathsep.join([str(bin_dir), VENV_BIN, os.defpath])
    res = phasegate("remediate", ".", "--phase", "implementation", cwd=ws, path=path, log=log)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (ws / "calc.py").read_text(encoding="utf-8") == DONE
    (entry,) = log_entries(log)
    assert entry["agent"] == agent
    assert entry["via"] == PROMPT_VIA[agent]
    assert entry["may_edit"] is True
    assert FINDING in str(entry["prompt"])
    expected = [a.replace("{prompt}", str(entry["prompt"])) for a in known_agent(agent).command]
    assert entry["argv"] == expected[1:]


def test_an_untrusted_workspace_does_not_run_the_agent(
    bin_dir: Path, ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (ws / "phasegate.toml").write_text(MINIMAL_CONFIG, encoding="utf-8")
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), VENV_BIN]))
    assert run("personas", str(ws), "--use", "claude").exit_code == 0
    log = tmp_path / "log.jsonl"
    path = os.pathsep.join([str(bin_dir), VENV_BIN, os.defpath])
    res = phasegate(
        "remediate", ".", "--phase", "implementation", "--untrusted", cwd=ws, path=path, log=log
    )
    assert res.returncode == 1, res.stdout + res.stderr
    assert (ws / "calc.py").read_text(encoding="utf-8") == STUB
    assert log_entries(log) == []


def test_a_rework_quick_fix_with_backend_developer_does_real_work(
    bin_dir: Path, ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's case: the session's scaffold persona could not implement the stub;
    once an agent is the backend developer, "Rework with backend_developer" does."""
    (ws / "phasegate.toml").write_text(MINIMAL_CONFIG, encoding="utf-8")
    monkeypatch.setenv("PATH", os.pathsep.join([str(bin_dir), VENV_BIN, os.defpath]))
    monkeypatch.setenv("STANDIN_LOG", str(tmp_path / "log.jsonl"))
    store = SessionStore(ws)

    async def session() -> None:
        ex = Executor(Workspace(ws), load_config(ws), store, trusted=True)
        try:
            state = await ex.start("add two numbers", session_id="s1")
        finally:
            ex.close()
        assert state.phase("implementation").status is not PhaseStatus.COMPLETED

    asyncio.run(session())
    assert (ws / "calc.py").read_text(encoding="utf-8") == STUB  # the scaffold cannot

    offer = agent_offer(load_config(ws), path_env=os.environ["PATH"])
    assert offer is not None and offer.agent.name == "claude"
    assert offer.personas == ("backend_developer",)
    use_agent(ws, offer.agent, offer.personas)

    async def rework() -> None:
        ex = Executor(Workspace(ws), load_config(ws), store, trusted=True)
        try:
            state = await ex.rework("s1", "implementation", personas=["backend_developer"])
        finally:
            ex.close()
        assert state.phase("implementation").status is PhaseStatus.COMPLETED

    asyncio.run(rework())
    assert (ws / "calc.py").read_text(encoding="utf-8") == DONE
    assert agent_offer(load_config(ws), path_env=os.environ["PATH"]) is None  # taken


# -- phasegate init ---------------------------------------------------------------------
def test_init_agent_auto_picks_the_first_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = write_standins(tmp_path / "bin", ("gemini", "codex"))
    monkeypatch.setenv("PATH", str(bin_dir))
    ws = tmp_path / "ws"
    ws.mkdir()
    result = run("init", str(ws))
    assert result.exit_code == 0, result.output
    assert f"agent: Codex CLI (codex) at {bin_dir / 'codex'}" in result.stdout
    assert "backend_developer, qa_engineer" in result.stdout
    config = load_config(ws)
    assert config.persona("backend_developer").options["command"][0] == "codex"
    assert config.persona("qa_engineer").options["command"][0] == "codex"
    expected = Config(
        personas={
            **Config().personas,
            "backend_developer": config.persona("backend_developer"),
            "qa_engineer": config.persona("qa_engineer"),
        }
    )
    assert config == expected  # nothing else differs from the defaults

    again = run("init", str(ws), "--force", "--agent", "gemini")
    assert again.exit_code == 0, again.output
    assert load_config(ws).persona("backend_developer").options["command"][0] == "gemini"


def test_init_without_an_agent_writes_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    auto = tmp_path / "auto"
    auto.mkdir()
    result = run("init", str(auto))
    assert result.exit_code == 0
    assert "agent: none found on PATH" in result.stdout
    assert (auto / "phasegate.toml").read_text(encoding="utf-8") == default_config_text()

    bin_dir = write_standins(tmp_path / "bin", ("claude",))
    monkeypatch.setenv("PATH", str(bin_dir))
    none = tmp_path / "none"
    none.mkdir()
    assert run("init", str(none), "--agent", "none").exit_code == 0
    assert (none / "phasegate.toml").read_text(encoding="utf-8") == default_config_text()


# -- editing an existing file -----------------------------------------------------------
RICH_CONFIG = """\
# phasegate configuration of the team
thresholds = [0.7, 0.8]

[[phases]]
name = "implementation"
personas = ["backend_developer"]

[[phases.checks]]
id = "IMPL-STUB"

[[phases.checks]]
id = "IMPL-LINT"
owner = "lint_fixer"        # ruff reworks lint

[[phases]]
name = "testing"
personas = ["qa_engineer"]

[[phases.checks]]
id = "TEST-EXISTS"

[personas]
qa_engineer.role = "Tests everything."   # a dotted definition

# the back end: an older agent
[personas.backend_developer]
kind = "command"
role = "Our back end."
timeout = 3600

[personas.backend_developer.options]
command = ["aider", "--message", "{prompt}"]
stdin = false

# the fixer stays
[personas.lint_fixer]
kind = "command"
options.command = ["ruff", "check", "--fix", "--no-cache", "."]
options.success_codes = [0, 1]

# end of file
"""


def test_an_existing_file_keeps_everything_but_the_code_personas(
    only_standins: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    path = ws / "phasegate.toml"
    path.write_text(RICH_CONFIG, encoding="utf-8")
    before = load_config(ws)

    used = run("personas", str(ws), "--use", "codex")
    assert used.exit_code == 0, used.output
    assert "kept lint_fixer: configured as command: ruff check --fix" in used.stdout
    text = path.read_text(encoding="utf-8")
    assert (ws / ("phasegate.toml" + BACKUP_SUFFIX)).read_text(encoding="utf-8") == RICH_CONFIG
    # the old definitions are gone, everything else is there in its place
    assert "aider" not in text and 'qa_engineer.role = "Tests everything."' not in text
    head, _, _ = RICH_CONFIG.partition("[personas]\n")
    assert text.startswith(head + "[personas]\n\n# the back end: an older agent\n")
    assert "# the fixer stays\n[personas.lint_fixer]\n" in text
    assert "stdin = false" not in text and "\n\n\n" not in text
    assert text.endswith("\n\n# end of file\n")
    after = load_config(ws)
    codex = known_agent("codex")
    backend = after.persona("backend_developer")
    assert backend.role == "Our back end." and backend.timeout == 3600  # kept, longer
    assert backend.options == {"command": list(codex.command), "stdin": True}
    qa = after.persona("qa_engineer")
    assert qa.role == "Tests everything." and qa.options["command"][0] == "codex"
    assert after.persona("lint_fixer") == before.persona("lint_fixer")
    rest = {
        k: v for k, v in after.personas.items() if k not in ("backend_developer", "qa_engineer")
    }
    assert rest == {
        k: v for k, v in before.personas.items() if k not in ("backend_developer", "qa_engineer")
    }
    assert after.phases == before.phases and after.thresholds == before.thresholds

    # once more with the same agent: nothing changes, the backup stays the original
    again = run("personas", str(ws), "--use", "codex")
    assert again.exit_code == 0 and "nothing changed" in again.stdout
    assert path.read_text(encoding="utf-8") == text
    assert (ws / ("phasegate.toml" + BACKUP_SUFFIX)).read_text(encoding="utf-8") == RICH_CONFIG

    # and back to the scaffold persona
    back = run("personas", str(ws), "--use", "none")
    assert back.exit_code == 0, back.output
    assert load_config(ws).persona("backend_developer") == PersonaConfig(
        kind="scaffold", role="Our back end."
    )


def test_line_endings_and_explicit_personas_are_respected(
    only_standins: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    crlf = MINIMAL_CONFIG.replace("\n", "\r\n")
    (ws / "phasegate.toml").write_bytes(crlf.encode())
    used = run(
        "personas",
        str(ws),
        "--use",
        "aider",
        "--persona",
        "backend_developer",
        "--persona",
        "frontend_developer",
    )
    assert used.exit_code == 0, used.output
    raw = (ws / "phasegate.toml").read_bytes().decode()
    assert raw.startswith(crlf) and "\n" not in raw.replace("\r\n", "")
    config = load_config(ws)
    assert config.persona("frontend_developer").options["command"][0] == "aider"


def test_pyproject_table_is_edited_in_place(only_standins: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    pyproject = (
        '[project]\nname = "calc"\n\n[tool.phasegate]\nthresholds = [0.5]\n\n'
        "[tool.ruff]\nline-length = 100\n"
    )
    (ws / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    used = run("personas", str(ws), "--use", "gemini")
    assert used.exit_code == 0, used.output
    assert not (ws / "phasegate.toml").exists()
    text = (ws / "pyproject.toml").read_text(encoding="utf-8")
    assert text.startswith(pyproject)
    assert "[tool.phasegate.personas.backend_developer]" in text
    loaded = load(ws)
    assert loaded.source == ws / "pyproject.toml"
    assert loaded.config.persona("qa_engineer").options["env"] == {
        "GEMINI_CLI_TRUST_WORKSPACE": "true"
    }


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('thresholds = [0.5\n[personas.backend_developer]\nkind = "scaffold"\n', ":2:"),
        ('thresholds = [0.5]\n\n[personas.backend_developer]\nkindd = "scaffold"\n', ":4:"),
        ('personas = { backend_developer = { kind = "scaffold" } }\n', ":1:1:"),
    ],
    ids=["syntax", "unknown-key", "inline-table"],
)
def test_a_file_that_cannot_be_edited_is_never_overwritten(
    only_standins: Path, tmp_path: Path, text: str, where: str
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    path = ws / "phasegate.toml"
    path.write_text(text, encoding="utf-8")
    result = run("personas", str(ws), "--use", "claude")
    assert result.exit_code == 2
    assert f"phasegate.toml{where}" in result.stderr
    assert path.read_text(encoding="utf-8") == text
    assert not (ws / ("phasegate.toml" + BACKUP_SUFFIX)).exists()
    with pytest.raises(AgentSetupError):
        use_agent(ws, known_agent("claude"))


def test_an_agent_not_on_path_is_written_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    ws = tmp_path / "ws"
    ws.mkdir()
    result = run("personas", str(ws), "--use", "cursor-agent")
    assert result.exit_code == 0
    assert "cursor-agent is not on PATH" in result.stderr
    assert load_config(ws).persona("backend_developer").options["command"][0] == "cursor-agent"
    assert "Coding agents on PATH: none" in result.stdout


# -- the documentation ------------------------------------------------------------------
def test_the_documented_agent_table_is_the_code_table() -> None:
    doc = PERSONAS_DOC.read_text(encoding="utf-8")
    section = doc[doc.index("## Agents found on PATH") :]
    section = section[: section.index("\n## ", 4)]
    for agent in KNOWN_AGENTS:
        assert f"`{' '.join(agent.command)}`" in section, agent.name
        for url in agent.docs:
            assert url in section, url
