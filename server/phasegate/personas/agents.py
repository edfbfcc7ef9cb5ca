"""Coding-agent CLIs installed on this machine, as personas for the code phases.

A rework of a failed implementation or testing check runs the check's owner; out of the
box that is the built-in scaffold persona, which writes skeletons and cannot implement
code. When a coding agent's CLI is on ``PATH`` it can be that owner instead: a
``command`` persona running the agent's documented non-interactive invocation, given
the task (and the findings it must fix) exactly where that CLI reads its prompt.

:data:`KNOWN_AGENTS` is the table of the CLIs phasegate knows, in the fixed order of
preference ``auto`` follows. Each entry says how its prompt is passed (standard input or
an argument), which flags let it edit files without a person answering, and where that
is documented. :func:`detect_agents` finds which are on ``PATH`` (``shutil.which``; it
never runs them), :func:`code_personas` names the personas that rework the code phases
(the owners of the ``IMPL-*`` and ``TEST-*`` checks) and :func:`agent_persona_config`
builds the persona configuration; :mod:`phasegate.personas.agent_setup` writes it into
the workspace's configuration file.

A ``command`` persona never runs in an untrusted workspace (its run is recorded as
skipped), so an agent configured here works in a trusted workspace only.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from phasegate.config import DEFAULT_ROLES, CheckConfig, Config, PersonaConfig, PhaseConfig

# Seconds an agent persona may work on one task (the default persona timeout, 900 s, is
# short for an agent that reads a project, edits it and checks its work).
AGENT_TIMEOUT = 1800.0
# Checks whose owners rework the code: their failures need code written, not skeletons.
CODE_CHECK_PREFIXES = ("IMPL-", "TEST-")
# The choices of ``phasegate init --agent`` besides an agent's name.
AUTO = "auto"
NONE = "none"


@dataclass(frozen=True)
class AgentCli:
    """A coding agent's CLI and how to run it without a person at the keyboard."""

    name: str  # the executable, and the name ``--use`` / ``--agent`` take
    title: str
    command: tuple[str, ...]  # argv; ``{prompt}`` where the prompt is an argument
    stdin: bool  # the prompt goes to standard input
    prompt_via: str  # where the CLI reads the task, for people
    permissions: str  # what its flags let it do unasked, for people
    docs: tuple[str, ...]  # where the invocation is documented
    env: tuple[tuple[str, str], ...] = ()  # variables it needs
    path: str | None = field(default=None, compare=False)  # where it was found on PATH

    def found_at(self, path: str | None) -> AgentCli:
        return dataclasses.replace(self, path=path)

    def persona_options(self) -> dict[str, Any]:
        """The ``options`` of its ``command`` persona."""
        options: dict[str, Any] = {"command": list(self.command), "stdin": self.stdin}
        if self.env:
            options["env"] = dict(self.env)
        return options

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "path": self.path,
            "command": list(self.command),
            "stdin": self.stdin,
            "env": dict(self.env),
            "prompt": self.prompt_via,
            "permissions": self.permissions,
            "docs": list(self.docs),
        }


KNOWN_AGENTS: tuple[AgentCli, ...] = (
    AgentCli(
        name="claude",
        title="Claude Code",
        command=("claude", "-p", "--permission-mode", "acceptEdits", "--output-format", "text"),
        stdin=True,
        prompt_via="standard input (`claude -p` without a prompt argument reads it there)",
        permissions="acceptEdits: edits files without asking; shell commands are refused",
        docs=(
            "https://code.claude.com/docs/en/cli-reference",
            "https://code.claude.com/docs/en/permission-modes",
        ),
    ),
    AgentCli(
        name="codex",
        title="Codex CLI",
        command=("codex", "exec", "--sandbox", "workspace-write", "--skip-git-repo-check", "-"),
        stdin=True,
        prompt_via="standard input (the prompt `-` of `codex exec`)",
        permissions="workspace-write sandbox: edits the workspace and runs commands in it; "
        "works outside a git repository",
        docs=(
            "https://developers.openai.com/codex/noninteractive",
            "https://github.com/openai/codex/blob/main/codex-rs/exec/src/cli.rs",
        ),
    ),
    AgentCli(
        name="aider",
        title="Aider",
        command=(
            "aider",
            "--yes-always",
            "--no-auto-commits",
            "--no-dirty-commits",
            "--no-gitignore",
            "--message",
            "{prompt}",
        ),
        stdin=False,
        prompt_via="the argument of `--message`",
        permissions="--yes-always: applies its edits unasked (shell commands still need a "
        "person); commits nothing, so `phasegate undo` restores everything",
        docs=("https://aider.chat/docs/scripting.html",),
    ),
    AgentCli(
        name="cursor-agent",
        title="Cursor CLI",
        command=("cursor-agent", "-p", "--force", "--trust", "--output-format", "text", "{prompt}"),
        stdin=False,
        prompt_via="the last argument (print mode, `-p`)",
        permissions="--force: applies edits and runs commands unasked; --trust: trusts the "
        "workspace without the prompt a headless run cannot answer",
        docs=(
            "https://cursor.com/docs/cli/headless",
            "https://cursor.com/docs/cli/reference/parameters",
        ),
    ),
    AgentCli(
        name="gemini",
        title="Gemini CLI",
        command=("gemini", "--approval-mode", "auto_edit", "-p", "{prompt}"),
        stdin=False,
        prompt_via="the argument of `-p` (headless mode)",
        permissions="auto_edit: edits files without asking; shell commands are refused. "
        "GEMINI_CLI_TRUST_WORKSPACE=true passes its folder-trust check (phasegate runs "
        "it only in a workspace trusted already)",
        docs=(
            "https://geminicli.com/docs/cli/headless/",
            "https://geminicli.com/docs/cli/tutorials/automation",
            "https://geminicli.com/docs/cli/trusted-folders/",
        ),
        env=(("GEMINI_CLI_TRUST_WORKSPACE", "true"),),
    ),
)
AGENT_NAMES: tuple[str, ...] = tuple(a.name for a in KNOWN_AGENTS)


class UnknownAgent(ValueError):
    pass


def known_agent(name: str) -> AgentCli:
    """The table entry of the agent ``name``; raises :class:`UnknownAgent`."""
    for agent in KNOWN_AGENTS:
        if agent.name == name:
            return agent
    raise UnknownAgent(f"unknown agent {name!r}; known: {', '.join(AGENT_NAMES)}")


def detect_agents(path_env: str | None = None) -> list[AgentCli]:
    """The known agents whose executable is on ``path_env`` (default: ``$PATH``), in the
    order of preference, each with the path found. Nothing is run."""
    found: list[AgentCli] = []
    for agent in KNOWN_AGENTS:
        path = shutil.which(agent.name, path=path_env)
        if path is not None:
            found.append(agent.found_at(path))
    return found


def choose_agent(choice: str, path_env: str | None = None) -> AgentCli | None:
    """``auto``: the first agent found on ``PATH`` (None when there is none); ``none``:
    None; an agent's name: that agent, with its path when it is on ``PATH``."""
    if choice == NONE:
        return None
    if choice == AUTO:
        found = detect_agents(path_env)
        return found[0] if found else None
    agent = known_agent(choice)
    return agent.found_at(shutil.which(agent.name, path=path_env))


def agent_of(pc: PersonaConfig) -> AgentCli | None:
    """The known agent a persona configuration runs (its program's name), if any."""
    if pc.kind != "command":
        return None
    command = pc.options.get("command")
    if not isinstance(command, list) or not command or not isinstance(command[0], str):
        return None
    program = os.path.basename(command[0].replace("\\", "/"))
    stem, ext = os.path.splitext(program)
    if ext.lower() in (".exe", ".cmd", ".bat", ".ps1"):
        program = stem
    for agent in KNOWN_AGENTS:
        if agent.name == program:
            return agent
    return None


def _is_code_check(cc: CheckConfig) -> bool:
    return any(
        cc.id.startswith(prefix) or cc.kind_name.startswith(prefix)
        for prefix in CODE_CHECK_PREFIXES
    )


def _check_owner(cc: CheckConfig, phase: PhaseConfig) -> str:
    """Who reworks the check: its configured owner, else the check's own, else the
    phase's first persona (as :func:`phasegate.rework.owners_of_failed` does)."""
    if cc.owner:
        return cc.owner
    from phasegate.checks.base import registered_checks

    cls = registered_checks().get(cc.kind_name)
    owner = getattr(cls, "default_owner", "") if cls is not None else ""
    if isinstance(owner, str) and owner:
        return owner
    return phase.personas[0] if phase.personas else ""


def code_personas(config: Config) -> list[str]:
    """The personas that rework the code: the owners of the enabled ``IMPL-*`` and
    ``TEST-*`` checks, in phase and check order (default: ``backend_developer``,
    ``qa_engineer``)."""
    out: list[str] = []
    for phase in config.phases:
        for cc in phase.checks:
            if cc.enabled and _is_code_check(cc):
                owner = _check_owner(cc, phase)
                if owner and owner not in out:
                    out.append(owner)
    return out


def code_phases_of(config: Config, persona: str) -> list[str]:
    """The phases in which ``persona`` owns an ``IMPL-*`` or ``TEST-*`` check."""
    return [
        phase.name
        for phase in config.phases
        if any(
            cc.enabled and _is_code_check(cc) and _check_owner(cc, phase) == persona
            for cc in phase.checks
        )
    ]


def agent_persona_config(
    agent: AgentCli, role: str = "", timeout: float = AGENT_TIMEOUT
) -> PersonaConfig:
    """The ``command`` persona that runs ``agent`` on a task."""
    return PersonaConfig(
        kind="command", role=role, timeout=timeout, options=agent.persona_options()
    )


def scaffold_persona_config(role: str = "") -> PersonaConfig:
    return PersonaConfig(kind="scaffold", role=role)


def default_targets(config: Config) -> tuple[list[str], dict[str, str]]:
    """The code personas an agent may take over, and those it must not (name -> why).

    A code persona configured as something other than the scaffold or a known agent (a
    fixer such as ``ruff check --fix``, an ``openai`` persona, a plugin) was chosen by a
    person and is kept; name it explicitly to replace it.
    """
    targets: list[str] = []
    kept: dict[str, str] = {}
    for name in code_personas(config):
        pc = config.persona(name)
        if pc.kind == "scaffold" or agent_of(pc) is not None:
            targets.append(name)
        else:
            kept[name] = f"configured as {describe_persona(pc)}"
    return targets, kept


def role_of(config: Config, name: str) -> str:
    return config.persona(name).role or DEFAULT_ROLES.get(name, "")


def describe_persona(pc: PersonaConfig) -> str:
    """What runs, in one line: ``command: claude -p …``, ``scaffold``, ``openai: model``."""
    if pc.kind == "command":
        command = pc.options.get("command")
        if isinstance(command, list):
            import shlex

            text = shlex.join(str(a) for a in command)
            if pc.options.get("stdin", True):
                where = "prompt on stdin"
            elif any("{prompt}" in str(a) for a in command):
                where = "prompt as an argument"
            else:
                where = "task in $PHASEGATE_TASK_FILE"
            return f"command: {text} ({where})"
        return "command"
    if pc.kind == "openai":
        model = pc.options.get("model", "?")
        base = pc.options.get("base_url") or "OpenAI"
        return f"openai: {model} at {base}"
    if pc.kind == "scaffold":
        return "scaffold: built-in skeletons"
    return pc.kind


def persona_names(config: Config) -> list[str]:
    """Every persona the configuration configures or names (phases, check owners)."""
    names: list[str] = list(config.personas)
    for phase in config.phases:
        for name in phase.personas:
            if name not in names:
                names.append(name)
        for cc in [*phase.checks, *phase.entry_checks]:
            if cc.owner and cc.owner not in names:
                names.append(cc.owner)
    return names


def agents_summary(agents: Sequence[AgentCli]) -> str:
    return ", ".join(f"{a.name} ({a.title})" for a in agents) or "none"
