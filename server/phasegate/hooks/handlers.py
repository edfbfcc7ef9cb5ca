"""What ``phasegate hook`` does with each event.

* **After an edit** (``PostToolUse`` of Edit, Write, MultiEdit, NotebookEdit or Codex's
  apply_patch; Cursor's ``afterFileEdit``): the findings of the edited files from the
  checks that run no workspace code (:func:`phasegate.query.findings_for_files`), only
  on those files, as context for the model. Silent when there are none or no such check
  reads the files. In new-code mode findings are new or inherited, and a new finding of
  a blocking severity answers ``decision: block`` (the model must look at it); outside
  it nothing is called new, and findings on the lines the edit wrote come first.
* **Stop** (and ``SubagentStop``): the gate (:func:`phasegate.query.gate_now`). While it
  fails the stop is refused with the top findings and what to run, but at most
  ``max_blocks`` times in a row per agent session: a stop that is not a continuation of
  a refused one (``stop_hook_active`` false) starts the count again; once the cap is
  reached the stop is allowed, the user is told, and when a phasegate session is active
  the hook records that the work waits for a person (``.phasegate/hooks/waiting.json``,
  and an ``agent_waiting`` event in the session's journal).
* **Before a shell command** (``PreToolUse`` on Bash, Cursor's
  ``beforeShellExecution``), with ``gate_commits``: a ``git commit`` is refused while
  the gate fails. Any other command gets no answer (never an "allow": that would skip
  the agent's own permission prompts).
* **SessionStart**: one paragraph about the session, its phase, threshold and open
  findings, from the checkpoint and the cache (nothing runs).

Every other event is logged and ignored. The engine is imported only when an answer
needs it (:mod:`phasegate.hooks.fastpath` answers the rest).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from phasegate import localsock
from phasegate.hooks import fastpath, protocol, render, state
from phasegate.hooks.protocol import Agent, HookEvent
from phasegate.hooks.render import Item
from phasegate.hooks.shell import is_git_commit

if TYPE_CHECKING:
    from phasegate.config import Config
    from phasegate.query import GateNow

Mode = Literal["session", "validate"]
DEFAULT_MAX_BLOCKS = 3
CONFIG_FILE = "config.json"  # the last validated configuration, in .phasegate/hooks
ENV_ROOTS: dict[Agent, tuple[str, ...]] = {
    "claude": ("CLAUDE_PROJECT_DIR",),
    "cursor": ("CURSOR_PROJECT_DIR", "CLAUDE_PROJECT_DIR"),
    "codex": (),
}


@dataclass
class Options:
    agent: Agent | None = None  # None: from the event
    mode: Mode = "session"  # "validate": every gate, whatever the session
    max_blocks: int = DEFAULT_MAX_BLOCKS
    gate_commits: bool = False
    trusted: bool = True
    root: Path | None = None
    block_edits: bool = True  # after an edit, new blocking findings answer decision: block


class Failed(Exception):
    """An event failed; ``root`` is where to log it."""

    def __init__(self, root: Path, message: str) -> None:
        super().__init__(message)
        self.root = root


@dataclass
class Outcome:
    """What to write (None: nothing), the workspace, and a line for the log (if any)."""

    answer: dict[str, Any] | None = None
    root: Path | None = None
    note: str | None = None


def handle(raw: bytes, opts: Options, env: Mapping[str, str]) -> Outcome:
    """Answer one hook event (``raw``: standard input). May raise: the caller logs."""
    try:
        ev = protocol.parse_event(raw, opts.agent)
    except protocol.BadEvent as exc:
        return Outcome(None, fallback_root(opts, env), f"ignored input: {exc}")
    root = workspace_root(ev, opts.root, env)
    if opts.root is None and not is_project(root):
        return Outcome(None, None)  # not a project (a home folder): nothing to judge or log
    answer = _HANDLERS.get(ev.name)
    if answer is None:
        return Outcome(None, root, f"ignored event {ev.raw_name!r} from {ev.agent}")
    try:
        return answer(ev, root, opts)
    except Exception as exc:  # logged; the agent's turn goes on
        from phasegate.query import QueryError

        if isinstance(exc, QueryError):
            return Outcome(None, root, f"{ev.raw_name}: {exc}")
        raise Failed(root, f"{ev.raw_name}: {type(exc).__name__}: {exc}") from exc


# -- where -----------------------------------------------------------------------------------
PROJECT_MARKERS = (
    "phasegate.toml",
    ".phasegate",
    "pyproject.toml",
    ".git",
    ".claude/settings.json",
    ".cursor/hooks.json",
    ".codex/hooks.json",
)


def is_project(root: Path) -> bool:
    """Whether ``root`` is a project phasegate may judge and keep state in: it has a
    phasegate configuration or state, a ``pyproject.toml``, a git repository, or an
    agent's project hooks. A hook installed for a user, run in a home folder, is not."""
    return any((root / marker).exists() for marker in PROJECT_MARKERS)


def fallback_root(opts: Options, env: Mapping[str, str]) -> Path | None:
    """Where to log when the event could not be read (None: nowhere)."""
    if opts.root is not None:
        return opts.root
    for var in ("CLAUDE_PROJECT_DIR", "CURSOR_PROJECT_DIR"):
        value = env.get(var)
        if value and os.path.isdir(value):
            root = _phasegate_root(Path(value))
            return root if is_project(root) else None
    root = _phasegate_root(Path.cwd())
    return root if is_project(root) else None


def workspace_root(ev: HookEvent, explicit: Path | None, env: Mapping[str, str]) -> Path:
    """The workspace: ``--root``; else the project root found from the folder the agent
    names (its environment, ``workspace_roots``, ``cwd``, else the current folder) by
    the rule every command follows (:func:`phasegate.rootdir.find_root`), so the hook
    and ``phasegate validate`` run from the same folder judge the same workspace."""
    if explicit is not None:
        return explicit.resolve()
    candidates = [env.get(var) for var in ENV_ROOTS[ev.agent]]
    candidates += [*ev.roots, ev.cwd]
    for cand in candidates:
        if cand and os.path.isdir(cand):
            return _phasegate_root(Path(cand))
    return _phasegate_root(Path.cwd())


def _phasegate_root(start: Path) -> Path:
    """The project root found from ``start`` (:func:`phasegate.rootdir.find_root`)."""
    from phasegate.rootdir import find_root

    return find_root(start).path


def _relative(root: Path, path: str) -> str | None:
    try:
        rel = Path(os.path.normpath(path)).relative_to(root)
    except ValueError:
        try:
            rel = Path(path).resolve().relative_to(root)
        except (ValueError, OSError):
            return None
    text = rel.as_posix()
    return None if text in ("", ".") or text.startswith("../") else text


def _load_config(root: Path, key: str | None = None) -> Config:
    """The workspace's configuration, once its state folder is known to be safe to use
    (no link, no entry of the wrong kind: :mod:`phasegate.statedir`). With ``key``
    (:func:`fastpath.index_key`: the configuration files, phasegate's code and the
    installed packages), the configuration validated last time for the same key is
    reused: validating a configuration imports every check it names."""
    from phasegate.config import Config
    from phasegate.config_loader import ConfigError, load
    from phasegate.query import QueryError
    from phasegate.statedir import StateDirError, check_state_dir

    try:
        check_state_dir(root)
    except StateDirError as exc:
        raise QueryError(str(exc)) from None
    folder = state.hooks_dir(root, create=False) if key is not None else None
    if folder is not None:
        kept = state.read_json(folder / CONFIG_FILE)
        if isinstance(kept, dict) and kept.get("key") == key:
            try:
                return Config.model_validate(kept.get("config"))
            except ValueError:
                pass
    try:
        config = load(root).config
    except ConfigError as exc:
        first = exc.issues[0] if exc.issues else "unknown problem"
        raise QueryError(f"configuration error: {first}") from None
    folder = state.hooks_dir(root, create=True) if key is not None else None
    if folder is not None:
        state.write_json(
            folder / CONFIG_FILE, {"key": key, "config": config.model_dump(mode="json")}
        )
    return config


# -- after an edit ------------------------------------------------------------------------------
def after_edit(ev: HookEvent, root: Path, opts: Options) -> Outcome:
    wanted: list[tuple[str, str]] = []  # (absolute path, workspace-relative path)
    for path in protocol.edited_paths(ev):
        rel = _relative(root, path)
        if rel is not None and os.path.isfile(path):
            wanted.append((path, rel))
    if not wanted:
        return Outcome(None, root)
    stamp = localsock.code_stamp()
    key = fastpath.index_key(root, stamp)
    index = fastpath.load_index(root, key)
    memo: str | None = None
    if index is not None:
        try:
            wanted = [(p, rel) for p, rel in wanted if index.fast_checks(rel)]
        except (re.error, TypeError, ValueError):  # a damaged index: the engine answers
            index = None
    if index is not None:
        if not wanted:
            return Outcome(None, root)  # no check that runs after an edit reads them
        if len(wanted) == 1:
            memo = fastpath.memo_key(root, wanted[0][1], index, trusted=opts.trusted)
            hit = fastpath.memo_get(root, wanted[0][1], memo) if memo else None
            if hit is not None:
                return Outcome(_edit_answer(ev, root, hit, opts), root)
        checks = sorted({c.key for _p, rel in wanted for c in index.fast_checks(rel)})
        resident = _ask_resident(root, [rel for _p, rel in wanted], checks, opts, stamp)
        if resident is not None:
            if memo is not None:
                fastpath.memo_put(root, wanted[0][1], memo, resident)
            return Outcome(_edit_answer(ev, root, resident, opts), root, _new_code_note(resident))
    from phasegate.query import findings_for_files, plain_findings

    config = _load_config(root, key)
    found = findings_for_files(
        root,
        [p for p, _rel in wanted],
        trusted=opts.trusted,
        config=config,
        checks=None
        if index is None
        else {c.key for _p, rel in wanted for c in index.fast_checks(rel)},
    )
    if index is None:
        _save_index(root, key, config)
        index = fastpath.load_index(root, key)
        if index is not None and len(wanted) == 1:
            memo = fastpath.memo_key(root, wanted[0][1], index, trusted=opts.trusted)
    answer = plain_findings(found)
    if memo is not None:
        fastpath.memo_put(root, wanted[0][1], memo, answer)
    return Outcome(_edit_answer(ev, root, answer, opts), root, _new_code_note(answer))


def _new_code_note(answer: dict[str, Any]) -> str | None:
    note = answer.get("new_code_note")
    return f"new code not judged: {note}" if isinstance(note, str) and note else None


def _ask_resident(
    root: Path, rels: list[str], checks: list[str], opts: Options, stamp: str
) -> dict[str, Any] | None:
    """The findings of ``rels`` from the process that keeps the workspace live (the
    language server, ``phasegate watch``), when one listens and runs the same code with
    the same trust; else None (the engine is imported and answers here)."""
    request = {"op": "findings", "paths": rels, "checks": checks, "trusted": opts.trusted}
    answer = localsock.ask(root, request, stamp=stamp)
    if answer is None or not isinstance(answer.get("items"), list):
        return None
    return answer


def _mark_touched(ev: HookEvent, root: Path, items: list[Item]) -> None:
    """Mark the findings on lines this edit wrote (an edit, not a whole-file write)."""
    touched: dict[str, set[int] | None] = {}
    for e in ev.edits:
        rel = _relative(root, str(Path(ev.cwd or root) / e.path))
        if rel is None or rel in touched:
            continue
        try:
            text = (root / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        touched[rel] = protocol.touched_lines(text, e.new_texts)
    for it in items:
        lines = touched.get(it["path"])
        it["touched"] = lines is not None and any(
            n - 1 in lines for n in range(it["line"], max(it["line"], it.get("end_line", 0)) + 1)
        )


def _edit_answer(
    ev: HookEvent, root: Path, answer: dict[str, Any], opts: Options
) -> dict[str, Any] | None:
    items: list[Item] = answer.get("items") or []
    if not items:
        return None
    _mark_touched(ev, root, items)
    new_code = answer.get("new_code")
    held = new_code is not None and any(it["blocking"] for it in items)
    text = render.post_edit_text(items, answer.get("files") or [], new_code=new_code, held=held)
    return protocol.post_edit_answer(ev.agent, text, block=held and opts.block_edits)


def _save_index(root: Path, key: str, config: Config) -> None:
    from phasegate.query import LINT_MODULE, check_specs
    from phasegate.workspace import ALWAYS_IGNORED_DIRS

    specs = check_specs(root, config)
    try:
        gitignore = (root / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        gitignore = ""
    rows = [
        (
            s.key,
            s.fast,
            s.scope == "file" or s.module == LINT_MODULE,
            s.inputs,
            s.exclude,
        )
        for s in specs
    ]
    fastpath.save_index(
        root, key, rows, gitignore.splitlines(), ALWAYS_IGNORED_DIRS, config.new_code.enabled
    )


# -- at a stop ---------------------------------------------------------------------------------
def _gate(root: Path, opts: Options) -> GateNow:
    from phasegate.query import gate_now

    config = _load_config(root, fastpath.index_key(root))
    return gate_now(root, trusted=opts.trusted, every_phase=opts.mode == "validate", config=config)


def _what_to_run(gate: GateNow) -> str:
    if gate.session is not None:
        return (
            f"Run `phasegate status` for session {gate.session} and `phasegate validate` "
            "for every finding."
        )
    return "Run `phasegate validate` for every finding."


def _failing(gate: GateNow) -> str:
    """``the implementation gate fails`` / ``the design and testing gates fail``."""
    names = [g.phase for g in gate.gates if not g.passed]
    if len(names) == 1:
        return f"the {names[0]} gate fails"
    return f"the {', '.join(names[:-1])} and {names[-1]} gates fail"


def gate_reason(gate: GateNow, ask: str = "Fix these before you stop:") -> str:
    """Why the gate fails, for the agent: the failing gates, what could not run, and the
    findings of the failed checks."""
    failing = [g for g in gate.gates if not g.passed]
    items: list[Item] = []
    problems: list[str] = []
    for g in failing:
        for c in g.checks:
            if c.error is not None:
                problems.append(f"{c.id} could not run: {render.one_line(c.error, 200)}")
                continue
            if c.passed or c.skipped is not None or c.not_applicable is not None:
                continue
            if not c.findings:
                note = c.new_code.note if c.new_code is not None and c.new_code.note else ""
                problems.append(f"{c.id} fails (score {c.score:.2f}){': ' + note if note else ''}")
            for f in c.findings:
                items.append(
                    Item(
                        path=f.path,
                        line=f.range.start.line + 1,
                        col=f.range.start.character + 1,
                        end_line=f.range.end.line + 1,
                        code=f.code,
                        message=f.message,
                        severity=f.severity.label,
                        state=f.baseline_state,
                        touched=False,
                        blocking=c.blocking or c.id in g.held,
                    )
                )
    summary = [
        {
            "phase": g.phase,
            "score": g.score,
            "threshold": g.threshold,
            "blocking_failed": g.blocking_failed,
            "held": g.held,
        }
        for g in failing
    ]
    return render.gate_text(
        summary, items, problems, new_code=gate.new_code, what_to_run=_what_to_run(gate), ask=ask
    )


def at_stop(ev: HookEvent, root: Path, opts: Options) -> Outcome:
    if ev.agent == "cursor" and ev.status not in (None, "completed"):
        return Outcome(None, root)  # the user aborted, or the agent failed: not ours
    who = f"{ev.agent}:{ev.name}:{ev.session_id or 'unknown'}"
    if ev.loop_count is not None:
        blocks = ev.loop_count  # Cursor counts its follow-ups itself
    else:
        blocks = state.stop_blocks(root, who) if ev.stop_hook_active else 0
    gate = _gate(root, opts)
    if gate.passed:
        state.set_stop_blocks(root, who, 0)
        waiting = state.read_waiting(root)
        if waiting is not None and waiting.get("session") == gate.session:
            state.clear_waiting(root)
        return Outcome(None, root)
    reason = gate_reason(gate)
    failing = _failing(gate)
    if blocks >= opts.max_blocks:
        state.set_stop_blocks(root, who, 0)
        message = (
            f"phasegate: {failing} after {blocks} refused stops in a row: the agent may "
            "stop now, and the work waits for a person."
        )
        if gate.session is not None:
            record = {
                "session": gate.session,
                "phase": gate.phase,
                "gates": [g.phase for g in gate.gates if not g.passed],
                "agent": ev.agent,
                "agent_session": ev.session_id[:200],
                "blocks": blocks,
                "at": time.time(),
                "reason": reason,
            }
            state.write_waiting(root, record)
            _journal_waiting(root, gate.session, gate.phase, record)
            message += f" Session {gate.session} waits for a person: `phasegate status`."
        return Outcome(protocol.stop_allowed_answer(ev.agent, message), root, message)
    blocks += 1
    state.set_stop_blocks(root, who, blocks)
    reason += (
        f"\n(phasegate refused this stop {blocks} of {opts.max_blocks} times in a row; "
        "after that you may stop and the work waits for a person.)"
    )
    note = f"{ev.name}: refused ({blocks}/{opts.max_blocks}): {failing}"
    return Outcome(protocol.stop_block_answer(ev.agent, reason), root, note)


def _journal_waiting(root: Path, session: str, phase: str | None, record: dict[str, Any]) -> None:
    """Record in the session's journal that the agent was let stop while the gate failed:
    ``status``, the report and the editor show that the work waits for a person."""
    from phasegate.model import Event
    from phasegate.store import SessionStore, StoreError

    data = {k: v for k, v in record.items() if k not in ("session", "phase", "at")}
    with contextlib.suppress(StoreError, OSError):  # waiting.json says it too
        SessionStore(root).append_event(
            session, Event(kind="agent_waiting", session=session, phase=phase, data=data)
        )


# -- before a shell command --------------------------------------------------------------------
def before_command(ev: HookEvent, root: Path, opts: Options) -> Outcome:
    if not opts.gate_commits or not ev.command or not is_git_commit(ev.command):
        return Outcome(None, root)
    gate = _gate(root, opts)
    if gate.passed:
        return Outcome(None, root)
    reason = gate_reason(gate, "The commit is refused. Fix these first:")
    failing = _failing(gate)
    user = f"phasegate refused `git commit`: {failing}."
    answer = protocol.deny_command_answer(ev.agent, reason, user)
    return Outcome(answer, root, f"git commit refused: {failing}")


# -- a session starts -------------------------------------------------------------------------
def session_start(ev: HookEvent, root: Path, opts: Options) -> Outcome:
    from phasegate.query import workspace_summary

    config = _load_config(root, fastpath.index_key(root))
    s = workspace_summary(root, trusted=opts.trusted, config=config)
    if s.session is not None and s.phase is not None:
        text = (
            f"phasegate: session {s.session} ({s.status}) is in phase {s.phase} "
            f"({s.phases.index(s.phase) + 1 if s.phase in s.phases else '?'} of "
            f"{len(s.phases)}), iteration {s.iteration}, gate threshold {s.threshold:.2f}"
        )
        if s.score is not None:
            verdict = "passed" if s.passed else "failed"
            text += f"; its last gate scored {s.score:.2f} and {verdict}"
        if s.findings is not None:
            text += f", with {s.findings} open findings"
            if s.new_code_since:
                text += f" ({s.new_findings} new since the session's start)"
        text += (
            ". phasegate reports the findings of every file you edit after the edit, and "
            f"refuses your stop while the {s.phase} gate fails (at most "
            f"{opts.max_blocks} times in a row). `phasegate status` shows the session, "
            "`phasegate validate` every finding."
        )
    elif s.session is not None:
        text = f"phasegate: session {s.session} is {s.status}; `phasegate status` shows it."
    else:
        text = (
            f"phasegate: no session is active in this workspace. Its {len(s.phases)} gates "
            f"({', '.join(s.phases)}) are scored at threshold {s.last_threshold:.2f} when "
            "you stop, and stopping is refused while one fails (at most "
            f"{opts.max_blocks} times in a row); after each edit phasegate reports the "
            "edited files' findings."
        )
        if s.cached_findings is not None:
            text += f" The last results phasegate has hold {s.cached_findings} findings."
        text += " `phasegate validate` shows every finding."
    waiting = state.read_waiting(root)
    if waiting is not None:
        text += (
            " An earlier agent stopped while "
            + ", ".join(str(g) for g in waiting.get("gates") or ["a"])
            + " gate still failed: the work waits for a person; ask the user before working "
            "around it."
        )
    return Outcome(protocol.session_context_answer(ev.agent, text), root)


_HANDLERS: dict[str, Callable[[HookEvent, Path, Options], Outcome]] = {
    "PostToolUse": after_edit,
    "Stop": at_stop,
    "SubagentStop": at_stop,
    "PreToolUse": before_command,
    "SessionStart": session_start,
}
