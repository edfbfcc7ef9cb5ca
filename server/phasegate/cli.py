"""The ``phasegate`` command line: a thin registry of subcommands.

Each subcommand lives in its own module under :mod:`phasegate.commands` and is imported
only when it runs, so ``phasegate --help`` stays fast. Exit codes: 0 every gate that ran
passed, 1 a gate failed or the session waits for a person, 2 usage, config or state error.

Every usage, configuration and state error is one line on standard error,
``phasegate: error: <message>`` (:func:`error`, :func:`fail`), with exit code 2; click's
own usage errors (an unknown option, a missing argument, a mistyped subcommand, with a
suggestion) take the same form after the usage line. Warnings read
``phasegate: warning: <message>``. A configuration's problems come first, one
``file:line:col: key: message`` line each.

Exit code 1 means a gate failed, so no error may end in it: a state folder refused late
(:class:`phasegate.statedir.StateDirError`) or a file-system error no command handled
(``OSError``) is printed as one such error line naming the path, with exit code 2, never
as a traceback.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import importlib
import os
import sys
from typing import Any, NoReturn

import click

from phasegate import __version__

# subcommand name -> (module under phasegate.commands, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "Start a session: drive a requirement through the phases."),
    "resume": ("resume", "Resume a session where it stopped."),
    "validate": ("validate", "Run the gates on a workspace without changing it."),
    "merge": ("merge", "Merge the shards of `validate --shard I/N` into one verdict."),
    "watch": ("watch", "Validate, then again at every change, printing what changed."),
    "baseline": ("baseline", "Record every finding as a baseline to judge new code against."),
    "approve": ("approve", "List or approve the changes GATE-INTEGRITY flags."),
    "status": ("status", "Show the active session's phases, scores and thresholds."),
    "sessions": ("sessions", "List the workspace's sessions."),
    "remediate": ("remediate", "Validate, let the owners of failed checks fix them, re-validate."),
    "undo": ("undo", "Restore the files the last remediation changed."),
    "report": ("report", "Write a session report (HTML or JSON)."),
    "init": ("init", "Write a commented phasegate.toml equal to the defaults."),
    "personas": ("personas", "List the personas and the coding agents on PATH; --use one."),
    "config": ("config", "Show the configuration or its JSON Schema."),
    "serve": ("serve", "Start the language server (stdio, or --tcp PORT)."),
    "mcp": ("mcp", "Serve the gates and sessions to coding agents over MCP (stdio)."),
    "hook": ("hook", "Answer a coding agent's hook event (JSON on standard input)."),
    "install-hooks": ("install_hooks", "Install phasegate's hooks into an agent's settings."),
}


ERROR_PREFIX = "phasegate: error: "
WARNING_PREFIX = "phasegate: warning: "
EXIT_ERROR = 2


def error(message: str) -> None:
    """Print ``message`` as phasegate's error line on standard error."""
    click.echo(f"{ERROR_PREFIX}{message}", err=True)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print ``message`` as phasegate's error line and exit (2: a usage, configuration
    or state error)."""
    error(message)
    sys.exit(code)


def warning(message: str) -> None:
    """Print ``message`` as phasegate's warning line on standard error."""
    click.echo(f"{WARNING_PREFIX}{message}", err=True)


def suggest(name: str, choices: list[str]) -> str | None:
    """The one of ``choices`` ``name`` was most likely meant to be, if any."""
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if close:
        return close[0]
    prefixed = [c for c in choices if c.startswith(name)] if len(name) >= 2 else []
    return prefixed[0] if len(prefixed) == 1 else None


class StyledError(click.ClickException):
    """A click error shown in phasegate's style: the usage line and where to find help
    (usage errors), then ``phasegate: error: <message>``."""

    def __init__(self, original: click.ClickException) -> None:
        super().__init__(original.format_message())
        self.original = original
        # click's own class attribute, set per instance as click's errors do
        self.exit_code = original.exit_code  # type: ignore[misc]

    def show(self, file: Any = None) -> None:
        ctx = getattr(self.original, "ctx", None)
        color = ctx.color if ctx is not None else None
        lines = []
        if isinstance(self.original, click.UsageError) and ctx is not None:
            lines += [ctx.get_usage(), f"Try '{ctx.command_path} --help' for help."]
        lines.append(f"{ERROR_PREFIX}{self.format_message()}")
        for line in lines:
            click.echo(line, file=file, err=file is None, color=color)


# click >= 8.2 shows a group's help, not an error, when it is run without arguments
_SHOWN_AS_IS: tuple[type[Exception], ...] = tuple(
    t
    for t in (getattr(click.exceptions, "NoArgsIsHelpError", None),)
    if isinstance(t, type) and issubclass(t, Exception)
)


def _styled(exc: click.ClickException) -> click.ClickException:
    if isinstance(exc, (StyledError, *_SHOWN_AS_IS)):
        return exc
    return StyledError(exc)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and name not in SUBCOMMANDS and not name.startswith("-"):
            # no command module is imported for this: the names are SUBCOMMANDS' keys
            meant = suggest(name, sorted(SUBCOMMANDS))
            hint = f" Did you mean {meant!r}?" if meant else ""
            raise click.UsageError(f"No such command {name!r}.{hint}", ctx)
        return super().resolve_command(ctx, args)

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
            raise _styled(exc) from exc

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(f"phasegate.commands.{entry[0]}")
        cmd: Any = module.command
        assert isinstance(cmd, click.Command)
        return cmd

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            raise _styled(exc) from exc
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # stdout closed: click's own handling
            fail(_os_error_message(exc))
        except Exception as exc:
            from phasegate.statedir import StateDirError

            if isinstance(exc, StateDirError):
                fail(str(exc))
            raise

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _os_error_message(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    if exc.filename is None:
        return f"{what}; check the workspace and its .phasegate folder and run the command again"
    return f"cannot use {exc.filename}: {what}; fix or remove it and run the command again"


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="phasegate")
def cli() -> None:
    """phasegate: phased SDLC executor with progressive quality gates."""


# True while the ``phasegate`` program runs (``main``), False when a command is invoked
# in-process (tests, embedding): only then may a command end the process at once.
_process_entry = False


def finish(code: int) -> NoReturn:
    """End a command with exit status ``code``.

    Run as the ``phasegate`` program, the process ends at once once the output is
    flushed (``os._exit``): freeing the tens of thousands of objects a big run made would
    only delay the exit. Invoked in-process, this is ``sys.exit(code)``.
    """
    if _process_entry:
        for stream in (sys.stdout, sys.stderr):
            # closed or broken pipe: nothing more can be said
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)


def main() -> None:
    global _process_entry
    _process_entry = True
    cli()
