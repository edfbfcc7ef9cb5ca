"""Writing phasegate's hooks into an agent's project settings, and taking them out.

Where and in which shape, as each agent documents it:

* **Claude Code** — ``.claude/settings.json``, ``hooks`` → event → matcher groups
  ``{"matcher", "hooks": [{"type": "command", "command", "timeout"}]}``
  (https://code.claude.com/docs/en/hooks);
* **Codex** — ``.codex/hooks.json``, the same shape (``{"hooks": {…}}``; Edit/Write
  matchers also select ``apply_patch``) (https://developers.openai.com/codex/hooks);
* **Cursor** — ``.cursor/hooks.json``, ``{"version": 1, "hooks": {event: [{"command"}]}}``
  with camelCase events (https://cursor.com/docs/agent/hooks).

phasegate's own entries are the handlers whose command runs ``phasegate hook`` (also as
``…/phasegate hook`` or ``python -m phasegate hook``). Installing replaces them where
they are and adds what is missing; every other hook is kept as it is, in its place, so
installing twice changes nothing. Uninstalling removes only phasegate's entries (and a
matcher group or event list left empty by that).

A file that is not valid JSON, or whose ``hooks`` is not shaped as the agent documents,
is never rewritten: :class:`InstallError` names the file and line. Before a file is
replaced it is copied to ``<file>.phasegate-backup``. A settings file that is a symbolic
link is refused (replacing it would cut the link).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phasegate.hooks.protocol import Agent

BACKUP_SUFFIX = ".phasegate-backup"
SETTINGS: dict[Agent, str] = {
    "claude": ".claude/settings.json",
    "codex": ".codex/hooks.json",
    "cursor": ".cursor/hooks.json",
}
EDIT_TIMEOUT_S = 30
GATE_TIMEOUT_S = 600  # a stop's gate may run the project's tests


class InstallError(Exception):
    """The settings file cannot be changed safely; ``str(exc)`` names file and line."""


@dataclass(frozen=True)
class Entry:
    """One hook phasegate installs."""

    event: str
    command: str
    matcher: str | None = None
    timeout: int | None = None


@dataclass
class Change:
    """What installing or uninstalling does to one settings file."""

    path: Path
    before: str | None  # the file's text (None: no file)
    after: str  # the new text
    events: list[str] = field(default_factory=list)  # events phasegate is hooked into now
    removed: int = 0  # phasegate handlers taken out (uninstall, or stale ones)

    @property
    def changed(self) -> bool:
        return self.before is None or _canonical(self.before) != _canonical(self.after)


def _canonical(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        return text


def hook_command(
    agent: Agent,
    *,
    program: str = "phasegate",
    gate_commits: bool = False,
    mode: str = "session",
    max_blocks: int | None = None,
) -> str:
    words = [program, "hook", "--agent", agent]
    if mode != "session":
        words += ["--mode", mode]
    if max_blocks is not None:
        words += ["--max-blocks", str(max_blocks)]
    if gate_commits:
        words.append("--gate-commits")
    return " ".join(shlex.quote(w) for w in words)


def entries_for(
    agent: Agent,
    *,
    program: str = "phasegate",
    gate_commits: bool = False,
    subagents: bool = False,
    mode: str = "session",
    max_blocks: int | None = None,
) -> list[Entry]:
    """The hooks phasegate installs for ``agent``."""
    cmd = hook_command(agent, program=program, mode=mode, max_blocks=max_blocks)
    gate_cmd = hook_command(
        agent, program=program, gate_commits=True, mode=mode, max_blocks=max_blocks
    )
    if agent == "cursor":
        out = [Entry("afterFileEdit", cmd), Entry("stop", cmd)]
        if gate_commits:
            out.append(Entry("beforeShellExecution", gate_cmd))
        return out
    edits = "Edit|Write|MultiEdit|NotebookEdit" if agent == "claude" else "apply_patch|Edit|Write"
    out = [
        Entry("PostToolUse", cmd, edits, EDIT_TIMEOUT_S),
        Entry("Stop", cmd, None, GATE_TIMEOUT_S),
        Entry("SessionStart", cmd, None if agent == "claude" else "startup|resume", 30),
    ]
    if subagents:
        out.append(Entry("SubagentStop", cmd, None, GATE_TIMEOUT_S))
    if gate_commits:
        out.append(Entry("PreToolUse", gate_cmd, "Bash", GATE_TIMEOUT_S))
    return out


def is_ours(command: Any) -> bool:
    """Whether a hook command runs ``phasegate hook``."""
    if not isinstance(command, str):
        return False
    try:
        words = shlex.split(command)
    except ValueError:
        return bool(re.search(r"(^|[\s/])phasegate(\.exe)?\s+hook(\s|$)", command))
    for i in range(len(words) - 1):
        program = re.split(r"[/\\]", words[i])[-1]
        if program in ("phasegate", "phasegate.exe") and words[i + 1] == "hook":
            return True
        if words[i] == "-m" and words[i + 1] == "phasegate" and words[i + 2 : i + 3] == ["hook"]:
            return True
    return False


# -- reading ---------------------------------------------------------------------------------
def _line_of(text: str, needle: str) -> int:
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return n
    return 1


def read_settings(path: Path) -> tuple[str | None, dict[str, Any]]:
    """The file's text (None when missing) and its JSON object. Raises
    :class:`InstallError` for a link, unreadable text, bad JSON or a non-object."""
    if path.is_symlink():
        raise InstallError(
            f"{path}:1: is a symbolic link; phasegate does not replace it: change the file "
            "it points to by hand, or replace the link with a file"
        )
    if not path.exists():
        return None, {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstallError(f"{path}:1: cannot read: {exc}") from None
    if not text.strip():
        return text, {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstallError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}; fix it and run "
            "install-hooks again (nothing was written)"
        ) from None
    if not isinstance(data, dict):
        raise InstallError(f"{path}:1: not a JSON object; nothing was written")
    return text, data


def _check_shape(path: Path, text: str, doc: dict[str, Any], agent: Agent) -> None:
    hooks = doc.get("hooks")
    if hooks is None:
        return
    if not isinstance(hooks, dict):
        line = _line_of(text, '"hooks"')
        raise InstallError(f"{path}:{line}: `hooks` is not an object")
    for event, items in hooks.items():
        where = f"{path}:{_line_of(text, json.dumps(event))}"
        if not isinstance(items, list):
            raise InstallError(f"{where}: hooks.{event} is not a list")
        for item in items:
            if not isinstance(item, dict):
                raise InstallError(f"{where}: hooks.{event} holds something not an object")
            if agent != "cursor" and "hooks" in item and not isinstance(item["hooks"], list):
                raise InstallError(f"{where}: hooks.{event}[].hooks is not a list")


# -- changing ----------------------------------------------------------------------------------
def _strip_ours(doc: dict[str, Any], agent: Agent) -> tuple[dict[str, int], int]:
    """Take phasegate's handlers out of ``doc`` (in place). Returns, per event, where
    the first one was (to put its replacement back there), and how many were removed."""
    hooks = doc.get("hooks")
    if not isinstance(hooks, dict):
        return {}, 0
    first: dict[str, int] = {}
    removed = 0
    for event in list(hooks):
        items: list[Any] = hooks[event]
        kept: list[Any] = []
        for item in items:
            if agent == "cursor":
                if is_ours(item.get("command")):
                    first.setdefault(event, len(kept))
                    removed += 1
                    continue
                kept.append(item)
                continue
            handlers = item.get("hooks")
            if not isinstance(handlers, list):
                kept.append(item)
                continue
            mine = [h for h in handlers if isinstance(h, dict) and is_ours(h.get("command"))]
            if not mine:
                kept.append(item)
                continue
            first.setdefault(event, len(kept))
            removed += len(mine)
            rest = [h for h in handlers if not (isinstance(h, dict) and is_ours(h.get("command")))]
            if rest:
                kept.append({**item, "hooks": rest})
        if kept:
            hooks[event] = kept
        else:
            del hooks[event]
    return first, removed


def _handler(agent: Agent, e: Entry) -> dict[str, Any]:
    if agent == "cursor":
        return {"command": e.command}
    handler: dict[str, Any] = {"type": "command", "command": e.command}
    if e.timeout is not None:
        handler["timeout"] = e.timeout
    group: dict[str, Any] = {}
    if e.matcher is not None:
        group["matcher"] = e.matcher
    group["hooks"] = [handler]
    return group


def plan(root: Path, agent: Agent, entries: list[Entry] | None) -> Change:
    """The change to ``agent``'s settings in ``root``: install ``entries`` (from
    :func:`entries_for`), or uninstall (None). Raises :class:`InstallError`; writes
    nothing."""
    path = root / SETTINGS[agent]
    before, doc = read_settings(path)
    _check_shape(path, before or "", doc, agent)
    new = copy.deepcopy(doc)
    first, removed = _strip_ours(new, agent)
    events: list[str] = []
    if entries is not None:
        if agent == "cursor":
            new.setdefault("version", 1)
        hooks = new.setdefault("hooks", {})
        for e in entries:
            items = hooks.setdefault(e.event, [])
            at = first.pop(e.event, len(items))
            items.insert(min(at, len(items)), _handler(agent, e))
            if e.event not in events:
                events.append(e.event)
    elif isinstance(new.get("hooks"), dict) and not new["hooks"] and doc.get("hooks"):
        del new["hooks"]  # emptied by taking phasegate out
    after = json.dumps(new, indent=2, ensure_ascii=False) + "\n"
    return Change(path, before, after, events, removed)


def apply(change: Change) -> Path | None:
    """Write the change (atomically), after copying the old file to its backup.
    Returns the backup's path (None: there was no file). Nothing happens when the
    change changes nothing."""
    from phasegate.fsutil import atomic_write_bytes

    if not change.changed:
        return None
    path = change.path
    backup: Path | None = None
    if change.before is not None:
        backup = path.with_name(path.name + BACKUP_SUFFIX)
        if backup.is_symlink():
            os.unlink(backup)
        shutil.copyfile(path, backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, change.after.encode("utf-8"))
    return backup
