"""What a face tells the live core: trust, interpreter, throttling, what runs when.

The language server's :class:`phasegate.lsp.settings.Settings` extends it with what only
an editor needs (diagnostics mode, file watching, how inherited findings are shown).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LiveOptions:
    # False: checks that run workspace code (tests, configured commands) are skipped.
    trusted: bool = True
    # The workspace's interpreter, instead of the configuration's ``interpreter``.
    interpreter: str | None = None
    # Seconds a burst of changes is collected before the checks re-run.
    debounce: float = 0.15
    # Run the in-process checks when the workspace opens without a session.
    run_on_open: bool = True
    # Re-run checks that run workspace code (its tests, configured commands) on changes.
    run_workspace_checks_on_change: bool = True
    # Run them when a trusted workspace opens without a session too, so that the editor
    # judges it as ``phasegate validate`` does (else only their cached results are shown).
    run_workspace_checks_on_open: bool = True
    # A workspace of more files than this is not analysed whole when it opens: only the
    # documents shown, the files that change and the project checks that read few files,
    # until the whole workspace is asked for (LiveCore.analyse_workspace).
    max_eager_files: int = 20_000
    # An invalid configuration when the workspace opens: run the built-in defaults until
    # it is fixed, so that the other findings are shown beside its errors (the language
    # server). False: nothing runs until it is fixed (``phasegate watch`` stops).
    defaults_while_invalid: bool = False
    # Why a check shown without a result has none (checks that run workspace code are
    # only looked up in the cache when a workspace opens without a session).
    not_run: str = "not run yet"
