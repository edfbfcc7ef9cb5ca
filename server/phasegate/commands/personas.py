"""``phasegate personas``: the configured personas, the coding agents on PATH, and
``--use AGENT`` to give the code phases to one of them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from phasegate.cli import fail, warning
from phasegate.commands._state import config_failed, print_warnings
from phasegate.commands._workspace import workspace_params
from phasegate.config import ID_PATTERN, Config
from phasegate.config_loader import ConfigError, load
from phasegate.personas.agent_setup import AgentSetupError, SetupResult, use_agent
from phasegate.personas.agents import (
    AGENT_NAMES,
    NONE,
    AgentCli,
    choose_agent,
    code_personas,
    code_phases_of,
    describe_persona,
    detect_agents,
    persona_names,
)


def _persona_rows(config: Config) -> list[dict[str, Any]]:
    code = set(code_personas(config))
    rows: list[dict[str, Any]] = []
    for name in persona_names(config):
        pc = config.persona(name)
        command = pc.options.get("command") if pc.kind == "command" else None
        rows.append(
            {
                "name": name,
                "kind": pc.kind,
                "role": pc.role,
                "runs": describe_persona(pc),
                "command": command if isinstance(command, list) else None,
                "stdin": bool(pc.options.get("stdin", True)) if pc.kind == "command" else None,
                "timeout": pc.timeout,
                "code": name in code,
                "code_phases": code_phases_of(config, name),
            }
        )
    return rows


def _written_json(result: SetupResult) -> dict[str, Any]:
    return {
        "path": str(result.path),
        "created": result.created,
        "changed": result.changed,
        "backup": str(result.backup) if result.backup else None,
        "agent": result.edit.agent.name if result.edit.agent else None,
        "personas": {
            name: pc.model_dump(mode="json", exclude_none=True)
            for name, pc in result.edit.written.items()
        },
        "kept": result.edit.kept,
    }


def _echo_result(result: SetupResult, agent: AgentCli | None) -> None:
    who = f"{agent.title} ({agent.name})" if agent else "the built-in scaffold persona"
    names = ", ".join(result.edit.written) or "no persona"
    if not result.changed:
        click.echo(f"{result.path}: {names} already use {who}; nothing changed")
    else:
        verb = "wrote" if result.created else "updated"
        click.echo(f"{verb} {result.path}: {names} now use {who}")
        if result.backup is not None:
            click.echo(f"previous file saved as {result.backup}")
    for name, why in result.edit.kept.items():
        click.echo(f"kept {name}: {why} (name it with --persona to replace it)")
    if agent is not None and result.edit.written:
        click.echo(
            "It runs in a trusted workspace only (in an untrusted one, command personas "
            "are skipped)."
        )


@click.command("personas")
@workspace_params()
@click.option(
    "--use",
    "use",
    type=click.Choice([*AGENT_NAMES, NONE]),
    default=None,
    help="Give the code phases' personas to this agent (none: back to the scaffold "
    "persona) in the workspace's phasegate.toml; the old file is kept as "
    "phasegate.toml.phasegate-backup.",
)
@click.option(
    "--persona",
    "personas",
    multiple=True,
    metavar="NAME",
    help="With --use: the persona to write (repeatable). Default: the owners of the "
    "IMPL-* and TEST-* checks still run by the scaffold persona or an agent.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
def command(workspace: Path, use: str | None, personas: tuple[str, ...], fmt: str) -> None:
    """List the personas of the workspace (DIR or -w DIR: the project root found from
    there) and the coding-agent CLIs on PATH.

    With --use AGENT, the personas that rework the code (the owners of the IMPL-* and
    TEST-* checks) run that agent's documented non-interactive command. Exit status: 0,
    or 2 when the configuration has errors (file:line:col) or cannot be edited.
    """
    root = workspace
    for name in personas:
        if not re.fullmatch(ID_PATTERN, name):
            raise click.BadParameter(f"{name!r} is not a persona name", param_hint="--persona")
    if personas and use is None:
        raise click.UsageError("--persona needs --use")
    found = detect_agents()
    written: SetupResult | None = None
    if use is not None:
        agent = choose_agent(use)
        if agent is not None and agent.path is None:
            warning(
                f"{agent.name} is not on PATH; the personas will fail "
                "with 'not found' until it is installed"
            )
        try:
            written = use_agent(root, agent, list(personas) or None)
        except AgentSetupError as exc:
            for issue in exc.issues:
                click.echo(str(issue), err=True)
            fail(exc.message or "the configuration was not changed")
        except OSError as exc:
            fail(f"cannot write the configuration: {exc}")
    try:
        loaded = load(root)
    except ConfigError as exc:
        config_failed(exc)
    print_warnings(loaded.warnings)
    config = loaded.config
    rows = _persona_rows(config)
    if fmt == "json":
        doc = {
            "config": str(loaded.source) if loaded.source else None,
            "personas": rows,
            "code_personas": code_personas(config),
            "agents": [a.to_json() for a in found],
            "written": _written_json(written) if written is not None else None,
        }
        click.echo(json.dumps(doc, indent=2))
        return
    if written is not None:
        _echo_result(written, written.edit.agent)
        click.echo("")
    source = str(loaded.source) if loaded.source else "built-in defaults"
    click.echo(f"Personas ({source}):")
    width = max((len(r["name"]) for r in rows), default=0)
    for r in rows:
        mark = "  code: " + ", ".join(r["code_phases"]) if r["code_phases"] else ""
        click.echo(f"  {r['name']:<{width}}  {r['runs']}{mark}")
    click.echo("")
    if found:
        click.echo("Coding agents on PATH (in order of preference):")
        w = max(len(a.name) for a in found)
        for a in found:
            click.echo(f"  {a.name:<{w}}  {a.title}, {a.path}")
        if use is None:
            click.echo(f"Give them the code phases with: phasegate personas --use {found[0].name}")
    else:
        click.echo(f"Coding agents on PATH: none (looked for {', '.join(AGENT_NAMES)})")
