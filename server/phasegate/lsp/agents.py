"""The editor's first session offers an installed coding agent for the code phases.

Out of the box the code phases' personas are the scaffold persona, which writes
skeletons and cannot implement code: a "Rework" of a stub would change nothing. When a
coding agent's CLI (``claude``, ``codex``, ``aider``, ``cursor-agent``, ``gemini``) is on
the server's ``PATH``, the client asks before the workspace's first session whether
that agent should do the code phases' work (:func:`phasegate.personas.agent_setup.agent_offer`),
and writes the personas on the user's yes:

* ``phasegate.agentOffer`` — ``{"offer": {"agent", "personas", "agents", "message"} |
  null, "reason"}``: null when the workspace has sessions already, every code persona
  runs something a person chose, no agent is on ``PATH``, or the configuration is
  invalid (``reason`` says which);
* ``phasegate.useAgent`` ``{"agent": NAME, "personas"?: [...]}`` — writes those
  personas into the configuration file (created when there is none; the old file is
  kept as ``<file>.phasegate-backup``), then the configuration is reloaded. Answers
  ``{"path", "created", "changed", "backup", "personas", "kept", "agent"}`` (``kept``:
  the code personas left as they were, and why). The agent runs only
  while the workspace is trusted (a ``command`` persona is skipped otherwise).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pygls.exceptions import JsonRpcInvalidParams

from phasegate.lsp.core import PhasegateServer  # resolved at run time: pygls reads the hints
from phasegate.lsp.trust import RequestFailed

COMMANDS = ("phasegate.agentOffer", "phasegate.useAgent")


def _has_sessions(ls: PhasegateServer) -> bool:
    from phasegate.store import SessionStore, StoreError

    eng = ls.engine
    if eng is None:
        return False
    try:
        return bool(SessionStore(eng.root).list())
    except (StoreError, OSError):
        return True  # unreadable state: not the first session, offer nothing


def offer(ls: PhasegateServer) -> dict[str, Any]:
    from phasegate.personas.agent_setup import agent_offer

    eng = ls.engine
    if eng is None or eng.config is None:
        return {"offer": None, "reason": "no valid configuration"}
    if _has_sessions(ls):
        return {"offer": None, "reason": "the workspace has sessions already"}
    found = agent_offer(eng.config)
    if found is None:
        return {
            "offer": None,
            "reason": "no coding agent on PATH, or the code personas are chosen already",
        }
    return {"offer": found.to_json(), "reason": None}


def register(server: PhasegateServer) -> None:
    @server.command("phasegate.agentOffer")
    async def agent_offer_command(ls: PhasegateServer, *args: Any) -> dict[str, Any]:
        await ls.wait_loaded()
        return await asyncio.to_thread(offer, ls)

    @server.command("phasegate.useAgent")
    async def use_agent_command(ls: PhasegateServer, *args: Any) -> dict[str, Any]:
        from phasegate.personas.agent_setup import AgentSetupError, use_agent
        from phasegate.personas.agents import UnknownAgent, known_agent

        a = args[0] if args and isinstance(args[0], dict) else None
        if a is None or len(args) > 1:
            raise JsonRpcInvalidParams("phasegate.useAgent takes one object argument")
        name = a.get("agent")
        personas = a.get("personas")
        if not isinstance(name, str):
            raise JsonRpcInvalidParams("argument 'agent' must be a string")
        if personas is not None and (
            not isinstance(personas, list) or not all(isinstance(p, str) for p in personas)
        ):
            raise JsonRpcInvalidParams("argument 'personas' must be a list of strings")
        await ls.wait_loaded()
        eng = ls.engine
        if eng is None:
            raise RequestFailed("no workspace folder")
        try:
            agent = known_agent(name)
        except UnknownAgent as exc:
            raise JsonRpcInvalidParams(str(exc)) from None
        try:
            result = await asyncio.to_thread(use_agent, eng.root, agent, personas)
        except AgentSetupError as exc:
            raise RequestFailed(str(exc)) from None
        ls.log(
            f"{result.path.name}: the code phases' personas now run {agent.title}"
            if result.changed
            else f"{result.path.name} already gives the code phases to {agent.title}"
        )
        ls.core.config_changed()  # reload now: the file watcher may not have seen it yet
        await ls.core.idle()
        return {
            "path": str(result.path),
            "created": result.created,
            "changed": result.changed,
            "backup": str(result.backup) if result.backup is not None else None,
            "personas": sorted(result.edit.written),
            "kept": result.edit.kept,
            "agent": agent.name,
        }
