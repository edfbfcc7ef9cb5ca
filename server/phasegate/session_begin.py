"""Beginning a session: its first checkpoint on disk, before the engine is loaded.

A session exists once its checkpoint is written and it is the active one: ``phasegate
sessions`` lists it, ``phasegate status`` shows it, and a ``phasegate run`` killed from
then on is resumed with ``phasegate resume``. :func:`begin_session` does exactly that and
needs only three settings (:class:`SessionSettings`: the phases' names and whether the
session judges new code since its first commit), the session store and one ``git
rev-parse`` (the commit the session's new code is judged against).

``phasegate run`` begins the session before it even validates the configuration:
:func:`read_settings` takes those settings from the configuration file as plain TOML,
without the configuration models, the executor, the runner or the check plugins, so the
session exists in a fraction of the time loading them takes. The whole configuration is
validated right after; :meth:`phasegate.executor.Executor.start` begins sessions through
:func:`begin_session` too, so there is one way a session begins.

What is judged later and can still refuse the session (an invalid configuration, a
check that cannot be resolved, a new-code reference that cannot be used) leaves no
trace: :func:`discard_begun` removes the session that did no work and makes the session
active before it active again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phasegate.model_plain import SCHEMA_VERSION, PhaseStatus, SessionStatus
from phasegate.store import SessionStore, new_session_id, validate_session_id

if TYPE_CHECKING:
    from phasegate.config import Config
    from phasegate.model import SessionState

# The phases of the built-in pipeline (:func:`phasegate.config.default_phases`), in order.
DEFAULT_PHASE_NAMES = ("requirements", "design", "implementation", "testing", "deployment")


@dataclass(frozen=True)
class SessionSettings:
    """What a session needs from the configuration to begin."""

    phases: tuple[str, ...]  # the phases' names, in order
    # True: the session judges new code since the commit it starts from (a git work tree,
    # ``[new_code] sessions`` on, and neither ``since`` nor ``baseline`` set)
    from_start_commit: bool

    @classmethod
    def of(cls, config: Config) -> SessionSettings:
        """The settings of a validated configuration."""
        nc = config.new_code
        return cls(tuple(p.name for p in config.phases), nc.sessions and not nc.enabled)


def read_settings(root: Path) -> SessionSettings | None:
    """The :class:`SessionSettings` of the workspace's configuration file (the built-in
    defaults' without one), read as plain TOML; None when the file cannot be read that
    way (not TOML, a value of the wrong type): then validate the configuration first,
    which reports why. A file read here may still be invalid in other ways; the caller
    validates it right after the session begins."""
    from phasegate.rootdir import PYPROJECT_FILE, find_config

    source = find_config(root)
    if source is None:
        return SessionSettings(DEFAULT_PHASE_NAMES, True)
    from phasegate.toml_locate import TOMLDecodeError, toml_loads

    try:
        data: Any = toml_loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, TOMLDecodeError):
        return None
    if source.name == PYPROJECT_FILE:
        tool = data.get("tool")
        data = tool.get("phasegate") if isinstance(tool, dict) else None
    if not isinstance(data, dict):
        return None
    phases: Any = data.get("phases")
    if phases is None:
        names: tuple[str, ...] = DEFAULT_PHASE_NAMES
    elif isinstance(phases, list) and all(
        isinstance(p, dict) and isinstance(p.get("name"), str) for p in phases
    ):
        names = tuple(p["name"] for p in phases)
    else:
        return None
    nc: Any = data.get("new_code", {})
    if not isinstance(nc, dict):
        return None
    since, baseline, sessions = nc.get("since"), nc.get("baseline"), nc.get("sessions", True)
    if not isinstance(sessions, bool) or not all(
        v is None or isinstance(v, str) for v in (since, baseline)
    ):
        return None
    return SessionSettings(names, sessions and since is None and baseline is None)


class BeginError(Exception):
    """The session cannot begin (an empty requirement)."""


@dataclass
class Begun:
    """A session just begun (checkpoint written, lock held by the store that began it):
    its first checkpoint as JSON, and the session that was active before it (None: none
    was)."""

    checkpoint: dict[str, Any]
    previous_active: str | None
    # the folders made for it (the state folder, ``sessions``), deepest first
    made: tuple[Path, ...] = ()
    _state: SessionState | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return str(self.checkpoint["id"])

    @property
    def state(self) -> SessionState:
        """The session's state, as the checkpoint models read it (loads them)."""
        if self._state is None:
            from phasegate.model import SessionState

            self._state = SessionState.model_validate(self.checkpoint)
        return self._state

    def use_phases(self, names: Sequence[str]) -> None:
        """Make the session's phases ``names`` (every one pending), when the validated
        configuration's differ from those it began with."""
        state = self.state
        if [p.name for p in state.phases] != list(names):
            from phasegate.model import PhaseState

            state.phases = [PhaseState(name=n) for n in names]


def session_reference(root: Path, settings: SessionSettings) -> str | None:
    """The commit a new session starts from, its default new-code reference: in a git
    work tree with a commit, unless the configuration names its own reference (``[new_code]
    since``/``baseline``) or turns this off (``sessions = false``)."""
    if not settings.from_start_commit:
        return None
    from phasegate.changes import head_commit

    return head_commit(root)


def first_checkpoint(
    session_id: str, requirement: str, phases: Sequence[str], since: str | None
) -> dict[str, Any]:
    """The first checkpoint of a session, as the JSON object the checkpoint models write
    (:class:`phasegate.model.SessionState`, ``seq`` 1; a test keeps the two the same)."""
    now = time.time()
    return {
        "schema_version": SCHEMA_VERSION,
        "id": session_id,
        "requirement": requirement,
        "status": SessionStatus.RUNNING.value,
        "current_phase": None,
        "phases": [
            {
                "name": name,
                "status": PhaseStatus.PENDING.value,
                "iterations": [],
                "best_score": None,
                "last_score": None,
                "last_threshold": None,
                "message": "",
                "blocked_by": "",
                "last_gate": None,
            }
            for name in phases
        ],
        "global_iterations": 0,
        "created_at": now,
        "updated_at": now,
        "seq": 1,
        "new_code_since": since,
    }


def begin_session(
    store: SessionStore,
    settings: SessionSettings,
    requirement: str,
    session_id: str | None = None,
) -> Begun:
    """Write the first checkpoint of a new session for ``requirement`` (every configured
    phase pending) and make it the active session; the session's lock stays held by
    ``store``. Raises :class:`BeginError`, or the store's errors (``SessionExists``,
    ``SessionLocked``, an unsafe state folder)."""
    requirement = requirement.strip()
    if not requirement:
        raise BeginError("the requirement is empty")
    sid = validate_session_id(session_id) if session_id else new_session_id()
    checkpoint = first_checkpoint(
        sid, requirement, settings.phases, session_reference(store.workspace_root, settings)
    )
    made = tuple(d for d in (store.sessions_dir, store.state_dir) if not d.exists())
    store.lock(sid)
    previous = store.get_active()
    try:
        store.create_plain(checkpoint)
        store.set_active(sid)
    except BaseException:
        store.unlock(sid)
        raise
    return Begun(checkpoint, previous, made)


def discard_begun(store: SessionStore, begun: Begun) -> None:
    """Remove a session that was begun and did no work (refused before its first step):
    its folder goes (and the state folder, when it was made for it and holds nothing
    else), and the session active before it is active again."""
    store.discard(begun.id, begun.previous_active, begun.made)
