"""Beginning a session: its first checkpoint on disk, before the engine is loaded.

A session exists once its checkpoint is written and it is the active one: ``phasegate
sessions`` lists it, ``phasegate status`` shows it, and a ``phasegate run`` killed from
then on is resumed with ``phasegate resume``. :func:`begin_session` does exactly that and
needs only the configuration, the session store and one ``git rev-parse`` (the commit
the session's new code is judged against). ``phasegate run`` calls it before importing
the executor, the runner and the check plugins, so the session exists in a fraction of
the time the first gate takes to start; :meth:`phasegate.executor.Executor.start` calls it
too, so there is one way a session begins.

What is judged later and can still refuse the session (a check that cannot be resolved,
a new-code reference that cannot be used) leaves no trace: :func:`discard_begun` removes
the session that did no work and makes the session active before it active again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from phasegate.store import SessionExists, SessionStore, new_session_id, validate_session_id

if TYPE_CHECKING:
    from phasegate.config import Config
    from phasegate.model import SessionState


class BeginError(Exception):
    """The session cannot begin (an empty requirement)."""


@dataclass
class Begun:
    """A session just begun: its state (checkpoint written, lock held by the store that
    began it) and the session that was active before it (None: none was)."""

    state: SessionState
    previous_active: str | None


def session_reference(root: Path, config: Config) -> str | None:
    """The commit a new session starts from, its default new-code reference: in a git
    work tree with a commit, unless the configuration names its own reference (``[new_code]
    since``/``baseline``) or turns this off (``sessions = false``)."""
    nc = config.new_code
    if nc.enabled or not nc.sessions:
        return None
    from phasegate.changes import head_commit

    return head_commit(root)


def begin_session(
    store: SessionStore, config: Config, requirement: str, session_id: str | None = None
) -> Begun:
    """Write the first checkpoint of a new session for ``requirement`` (every configured
    phase pending) and make it the active session; the session's lock stays held by
    ``store``. Raises :class:`BeginError`, or the store's errors (``SessionExists``,
    ``SessionLocked``, an unsafe state folder)."""
    from phasegate.model import PhaseState, SessionState

    requirement = requirement.strip()
    if not requirement:
        raise BeginError("the requirement is empty")
    sid = validate_session_id(session_id) if session_id else new_session_id()
    if store.exists(sid):
        raise SessionExists(
            f"session {sid} already exists; resume it with `phasegate resume {sid}`"
        )
    since = session_reference(store.workspace_root, config)
    store.lock(sid)
    state = SessionState(
        id=sid,
        requirement=requirement,
        phases=[PhaseState(name=p.name) for p in config.phases],
        new_code_since=since,
    )
    previous = store.get_active()
    try:
        store.create(state)
        store.set_active(sid)
    except BaseException:
        store.unlock(sid)
        raise
    return Begun(state, previous)


def discard_begun(store: SessionStore, begun: Begun) -> None:
    """Remove a session that was begun and did no work (refused before its first step):
    its folder goes, and the session active before it is active again."""
    store.discard(begun.state.id, begun.previous_active)
