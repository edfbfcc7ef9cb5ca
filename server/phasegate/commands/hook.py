"""``phasegate hook``: answer one event of a coding agent's hook protocol.

The agent (Claude Code, Codex, Cursor; see ``phasegate install-hooks``) runs this
command with the event as JSON on standard input; the answer, if any, is one JSON object
on standard output. What each event does: :mod:`phasegate.hooks.handlers`.

It never breaks the agent's turn: whatever goes wrong — input that is not an event, an
unknown event, a missing file, a configuration with errors, an unusable state folder,
even bad options — it exits 0 without output and notes why in
``.phasegate/hooks/hook.log``. Nothing is printed on standard error.

Imports stay light: the engine is loaded only when an answer needs it, so an edit of a
file no check reads is answered (with silence) in the time Python takes to start.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from phasegate.hooks import state
from phasegate.hooks.handlers import DEFAULT_MAX_BLOCKS, Failed, Options, fallback_root, handle

MAX_INPUT = 64 * 1024 * 1024


class _Lenient(click.Command):
    """A hook must not fail on its own command line: options it cannot read are logged
    and the hook answers nothing (``--help`` still works)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.ClickException as exc:
            state.log(fallback_root(Options(), os.environ), f"bad options {args!r}: {exc}")
            _finish()
            raise  # not reached


def _finish() -> None:
    from phasegate.cli import finish

    finish(0)


@click.command("hook", cls=_Lenient)
@click.option(
    "--agent",
    type=click.Choice(["auto", "claude", "codex", "cursor"]),
    default="auto",
    show_default=True,
    help="Whose protocol the event speaks (auto: from the event).",
)
@click.option(
    "--mode",
    type=click.Choice(["session", "validate"]),
    default="session",
    show_default=True,
    help="Which gate a stop must pass: the active session's current phase (every phase "
    "without a session), or every phase always (validate).",
)
@click.option(
    "--max-blocks",
    type=click.IntRange(0, 100),
    default=DEFAULT_MAX_BLOCKS,
    show_default=True,
    help="Refuse a stop at most this many times in a row; then allow it and record that "
    "the work waits for a person.",
)
@click.option(
    "--gate-commits",
    is_flag=True,
    help="Refuse `git commit` (PreToolUse on Bash, Cursor's beforeShellExecution) while "
    "the gate fails.",
)
@click.option(
    "--untrusted",
    is_flag=True,
    help="Treat the workspace as untrusted: a stop's gate skips checks that run "
    "workspace code (checks after an edit never run any).",
)
@click.option(
    "--no-block",
    is_flag=True,
    help="After an edit, only add context: never answer `decision: block`, even for new "
    "findings of a blocking severity.",
)
@click.option(
    "--workspace",
    "-w",
    "--root",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="The workspace (default: the project root found, as every command finds it, "
    "from the project folder the agent names, else from the event's cwd).",
)
def command(
    agent: str,
    mode: str,
    max_blocks: int,
    gate_commits: bool,
    untrusted: bool,
    no_block: bool,
    root: Path | None,
) -> None:
    """Answer one agent hook event read from standard input (JSON).

    Always exits 0; problems go to .phasegate/hooks/hook.log."""
    opts = Options(
        agent=None if agent == "auto" else agent,  # type: ignore[arg-type]
        mode="validate" if mode == "validate" else "session",
        max_blocks=max_blocks,
        gate_commits=gate_commits,
        trusted=not untrusted,
        root=root,
        block_edits=not no_block,
    )
    where: Path | None = None
    answer: dict[str, Any] | None = None
    try:
        raw = sys.stdin.buffer.read(MAX_INPUT)
        outcome = handle(raw, opts, os.environ)
        where, answer = outcome.root, outcome.answer
        if outcome.note:
            state.log(where, outcome.note)
    except Exception as exc:
        if isinstance(exc, Failed):
            where, what, origin = exc.root, str(exc), exc.__cause__ or exc
        else:
            where, what, origin = _safe_fallback(opts), f"{type(exc).__name__}: {exc}", exc
        import traceback

        tb = traceback.extract_tb(origin.__traceback__)
        at = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
        state.log(where, f"error: {what}{at}")
        answer = None
    if answer is not None:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.write(json.dumps(answer, ensure_ascii=False))
            sys.stdout.write("\n")
    _finish()


def _safe_fallback(opts: Options) -> Path | None:
    try:
        return fallback_root(opts, os.environ)
    except Exception:
        return None
