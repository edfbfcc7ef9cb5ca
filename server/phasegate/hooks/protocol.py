"""The agents' hook protocols: the event a hook reads, the answer it writes.

Claude Code (https://code.claude.com/docs/en/hooks) and Codex
(https://developers.openai.com/codex/hooks; its JSON schemas in
``codex-rs/hooks/schema/generated/``) share one protocol: a JSON object on standard input
with ``hook_event_name`` (``PostToolUse``, ``Stop``, ``SubagentStop``, ``PreToolUse``,
``SessionStart``…), ``session_id``, ``cwd``, ``tool_name``, ``tool_input``,
``stop_hook_active``; the answer is a JSON object on standard output with exit status 0:

* ``PostToolUse``: ``hookSpecificOutput.additionalContext`` (context for the model), or
  ``decision: "block"`` with ``reason`` (the model is prompted with the reason; the tool
  already ran);
* ``Stop``/``SubagentStop``: ``decision: "block"`` with ``reason`` keeps the agent
  working; ``systemMessage`` is shown to the user;
* ``PreToolUse``: ``hookSpecificOutput.permissionDecision: "deny"`` with
  ``permissionDecisionReason`` (shown to the model) refuses the tool call;
* ``SessionStart``: ``hookSpecificOutput.additionalContext``.

Codex edits files with ``apply_patch`` (``tool_input.command`` holds the patch; ``Edit``
and ``Write`` matchers select it too). Cursor (https://cursor.com/docs/agent/hooks) names
its events in camelCase and answers differently: ``afterFileEdit`` (``file_path``,
``edits``) takes no answer, ``stop`` (``status``, ``loop_count``) answers
``followup_message``, ``beforeShellExecution`` (``command``) answers ``permission``,
``user_message`` and ``agent_message``; its events carry ``conversation_id`` and
``workspace_roots``.

:func:`parse_event` turns any of these into a :class:`HookEvent`; the ``*_answer``
functions build the JSON each agent expects (None: write nothing). Standard library
only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Agent = Literal["claude", "codex", "cursor"]
AGENTS: tuple[Agent, ...] = ("claude", "codex", "cursor")

# Claude Code's file-editing tools and where each names its file
EDIT_TOOLS = {"Edit": "file_path", "Write": "file_path", "MultiEdit": "file_path"}
NOTEBOOK_TOOLS = {"NotebookEdit": "notebook_path"}
PATCH_TOOLS = ("apply_patch",)  # Codex
SHELL_TOOLS = ("Bash", "Shell", "shell")
# Cursor's event names -> the protocol's
CURSOR_EVENTS = {
    "afterFileEdit": "PostToolUse",
    "stop": "Stop",
    "subagentStop": "SubagentStop",
    "beforeShellExecution": "PreToolUse",
    "sessionStart": "SessionStart",
}


class BadEvent(ValueError):
    """The input is not a hook event (not JSON, not an object, no event name)."""


@dataclass
class FileEdit:
    """One edited file: its path as the agent gave it, and what was written into it
    (the new texts of an edit; None when the whole file was written)."""

    path: str
    new_texts: list[str] | None = None


@dataclass
class HookEvent:
    agent: Agent
    name: str  # PostToolUse, Stop, SubagentStop, PreToolUse, SessionStart, or as given
    raw_name: str
    session_id: str = ""
    cwd: str | None = None
    roots: list[str] = field(default_factory=list)
    tool_name: str | None = None
    edits: list[FileEdit] = field(default_factory=list)
    command: str | None = None  # the shell command of PreToolUse / beforeShellExecution
    stop_hook_active: bool = False
    loop_count: int | None = None  # Cursor's stop: follow-ups already sent
    status: str | None = None  # Cursor's stop: completed, aborted, error
    source: str | None = None  # SessionStart: startup, resume, clear, compact


def detect_agent(data: dict[str, Any]) -> Agent:
    """Which agent sent ``data``: camelCase events and ``workspace_roots`` are Cursor's,
    ``turn_id`` and ``apply_patch`` are Codex's, the rest Claude Code's."""
    name = data.get("hook_event_name")
    if (isinstance(name, str) and name[:1].islower()) or "workspace_roots" in data:
        return "cursor"
    if "turn_id" in data or data.get("tool_name") in PATCH_TOOLS:
        return "codex"
    return "claude"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_event(raw: bytes, agent: Agent | None = None) -> HookEvent:
    """The event in ``raw`` (JSON); ``agent`` None: detected. Raises :class:`BadEvent`."""
    import json

    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadEvent(f"standard input is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadEvent("standard input is not a JSON object")
    raw_name = data.get("hook_event_name")
    if not isinstance(raw_name, str) or not raw_name:
        raise BadEvent("the event has no hook_event_name")
    who = agent or detect_agent(data)
    name = CURSOR_EVENTS.get(raw_name, raw_name) if who == "cursor" else raw_name
    roots = data.get("workspace_roots")
    ev = HookEvent(
        agent=who,
        name=name,
        raw_name=raw_name,
        session_id=_text(data.get("session_id")) or _text(data.get("conversation_id")) or "",
        cwd=_text(data.get("cwd")),
        roots=[r for r in roots if isinstance(r, str) and r] if isinstance(roots, list) else [],
        tool_name=_text(data.get("tool_name")),
        stop_hook_active=data.get("stop_hook_active") is True,
        source=_text(data.get("source")),
        status=_text(data.get("status")),
    )
    loops = data.get("loop_count")
    if isinstance(loops, int) and not isinstance(loops, bool):
        ev.loop_count = loops
        ev.stop_hook_active = ev.stop_hook_active or loops > 0
    tool_input = data.get("tool_input")
    ti: dict[str, Any] = tool_input if isinstance(tool_input, dict) else {}
    if who == "cursor":
        if raw_name == "afterFileEdit" and _text(data.get("file_path")):
            ev.tool_name = ev.tool_name or "Edit"
            ev.edits = [FileEdit(str(data["file_path"]), _new_texts(data.get("edits")))]
        if raw_name == "beforeShellExecution":
            ev.tool_name = ev.tool_name or "Shell"
            ev.command = _text(data.get("command"))
            ev.cwd = ev.cwd or (ev.roots[0] if ev.roots else None)
        return ev
    tool = ev.tool_name or ""
    if tool in EDIT_TOOLS or tool in NOTEBOOK_TOOLS:
        key = EDIT_TOOLS.get(tool) or NOTEBOOK_TOOLS[tool]
        response = data.get("tool_response")
        path = _text(ti.get(key)) or (
            _text(response.get("filePath")) if isinstance(response, dict) else None
        )
        if path:
            ev.edits = [FileEdit(path, _edit_texts(tool, ti))]
    elif tool in PATCH_TOOLS:
        patch = ti.get("command") if isinstance(ti.get("command"), str) else ti.get("input")
        if isinstance(patch, str):
            ev.edits = patch_edits(patch)
    elif tool in SHELL_TOOLS:
        ev.command = _text(ti.get("command"))
    return ev


def _new_texts(edits: Any) -> list[str] | None:
    if not isinstance(edits, list):
        return None
    return [e["new_string"] for e in edits if isinstance(e, dict) and _text(e.get("new_string"))]


def _edit_texts(tool: str, ti: dict[str, Any]) -> list[str] | None:
    """What an edit wrote: Edit's ``new_string``, MultiEdit's ``edits[].new_string``;
    None (the whole file) for Write and notebooks."""
    if tool == "Edit":
        text = _text(ti.get("new_string"))
        return [text] if text else []
    if tool == "MultiEdit":
        return _new_texts(ti.get("edits")) or []
    return None


def patch_edits(patch: str) -> list[FileEdit]:
    """The files a Codex ``apply_patch`` patch adds or updates, with their added lines
    (``*** Add File:`` -> the whole file; ``*** Update File:`` [``*** Move to:``] ->
    the ``+`` lines of its hunks). Deleted files are left out."""
    edits: list[FileEdit] = []
    current: FileEdit | None = None
    for line in patch.splitlines():
        if line.startswith("*** Add File: "):
            current = FileEdit(line[len("*** Add File: ") :].strip(), None)
            edits.append(current)
        elif line.startswith("*** Update File: "):
            current = FileEdit(line[len("*** Update File: ") :].strip(), [])
            edits.append(current)
        elif line.startswith("*** Move to: ") and current is not None:
            current.path = line[len("*** Move to: ") :].strip()
        elif line.startswith("*** "):
            current = None  # Delete File, End Patch, End of File
        elif (
            current is not None
            and current.new_texts is not None
            and line.startswith("+")
            and line[1:].strip()
        ):
            current.new_texts.append(line[1:])
    return [e for e in edits if e.path]


def edited_paths(ev: HookEvent) -> list[str]:
    """The edited files as absolute paths (relative ones against the event's ``cwd``)."""
    base = ev.cwd or (ev.roots[0] if ev.roots else None) or os.getcwd()
    out: list[str] = []
    for e in ev.edits:
        p = Path(e.path)
        full = str(p if p.is_absolute() else Path(base) / p)
        if full not in out:
            out.append(full)
    return out


def touched_lines(text: str, new_texts: list[str] | None) -> set[int] | None:
    """0-based lines of ``text`` holding what an edit wrote; None: the whole file."""
    if new_texts is None:
        return None
    lines: set[int] = set()
    for new in new_texts:
        start = 0
        found = 0
        while found < 20 and (i := text.find(new, start)) >= 0:
            first = text.count("\n", 0, i)
            lines.update(range(first, first + new.count("\n") + 1))
            start = i + max(1, len(new))
            found += 1
        if not found and "\n" not in new:  # a patch line: find it as a whole line
            stripped = new.strip()
            for n, line in enumerate(text.splitlines()):
                if line.strip() == stripped:
                    lines.add(n)
    return lines


# -- answers ---------------------------------------------------------------------------------
def post_edit_answer(agent: Agent, text: str, *, block: bool) -> dict[str, Any] | None:
    """After an edit: context for the model, or a block that prompts it with ``text``."""
    if agent == "cursor":
        return None  # afterFileEdit takes no answer
    if block:
        return {"decision": "block", "reason": text}
    return {"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": text}}


def stop_block_answer(agent: Agent, reason: str) -> dict[str, Any]:
    """Keep the agent working: ``reason`` is what it must do."""
    if agent == "cursor":
        return {"followup_message": reason}
    return {"decision": "block", "reason": reason}


def stop_allowed_answer(agent: Agent, message: str) -> dict[str, Any] | None:
    """Let the agent stop, telling the user ``message``."""
    if agent == "cursor":
        return None
    return {"systemMessage": message}


def deny_command_answer(agent: Agent, reason: str, user_message: str) -> dict[str, Any]:
    """Refuse a shell command (PreToolUse / beforeShellExecution)."""
    if agent == "cursor":
        return {"permission": "deny", "user_message": user_message, "agent_message": reason}
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": reason,
        }
    }


def session_context_answer(agent: Agent, text: str) -> dict[str, Any] | None:
    if agent == "cursor":
        return None  # not in the documentation this was written from
    return {"hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": text}}
