"""``phasegate status``: the session's phases, scores and thresholds, from its checkpoint.

A phase the checkpoint records as ``completed`` is checked against the files as they are
now, from the result cache only (:func:`phasegate.recheck.recheck_completed`): ``status``
never runs a check, a tool or the workspace's code. When the gate fails now the phase is
shown ``regressed`` with the failing checks; the checkpoint is not changed. When an input
changed and the cache cannot tell, the phase stays ``completed`` with a note to run
``phasegate validate`` or ``resume``.

The answer is kept in ``.phasegate/status.json`` and given again, without loading
the engine, while nothing it was made from has changed: see
:mod:`phasegate.commands._status_memo` (``phasegate.__main__`` looks it up before the
command line is even loaded).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from phasegate.commands import _session_output as out

if TYPE_CHECKING:
    from phasegate.config import Config


@click.command("status")
@click.option("--session", "session_id", default=None, help="Session id (default: the active one).")
@out.workspace_option
@out.format_option
def command(session_id: str | None, workspace: Path, fmt: str) -> None:
    """Show the active session's phases, scores and thresholds (runs nothing).

    A completed phase whose gate fails now, as far as the result cache knows, is shown
    regressed. Exit code 0 when the session completed and no phase regressed, 1 when
    it is not (yet) completed or a phase regressed, 2 when there is no session or its
    checkpoint cannot be read.
    """
    from phasegate.cli import finish  # exit at once, output flushed: no interpreter teardown
    from phasegate.commands._status_memo import lookup

    root = workspace.resolve()
    hit = lookup(str(root), session_id, fmt)
    if hit is not None:
        hit.write()
        finish(hit.code)
    # imported here: `phasegate status --help` needs none of it
    from phasegate.commands._status_record import Recorder
    from phasegate.config_loader import ConfigError
    from phasegate.recheck import recheck_completed
    from phasegate.store import CheckpointRecovered, SessionStore, StoreError

    with Recorder(str(root)) as recorder:  # what the answer is made from
        out.check_state(root, session_id)
        store = SessionStore(root)
        try:
            sid = store.resolve(session_id)
            state = store.load(sid)
        except (CheckpointRecovered, StoreError) as exc:
            sys.exit(out.error(str(exc)))
        finally:
            store.unlock_all()
        config: Config | None
        try:
            config = out.load_workspace_config(root)
        except ConfigError:
            config = None  # titles only; the state itself does not need the configuration
        gates = {p.name: p.last_gate for p in state.phases if p.last_gate is not None}
        inputs: set[str] = set()
        rechecks = recheck_completed(root, state, config, inputs=inputs)
        recorder.capture()
        out.emit(state, gates, root, fmt, config, rechecks)
        output = recorder.release()
        regressed = any(r.status == "regressed" for r in rechecks.values())
        completed = state.status.value == "completed" and not regressed
        code = out.EXIT_OK if completed else out.EXIT_FAILED
        since = config.new_code.since if config is not None else None
        recorder.store(
            session=session_id,
            fmt=fmt,
            session_id=sid,
            output=output,
            code=code,
            inputs=inputs,
            refs=[since] if since else [],
        )
    finish(code)
