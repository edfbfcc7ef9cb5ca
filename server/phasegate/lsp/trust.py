"""Workspace trust: in an untrusted workspace nothing the workspace configures runs.

The runner and the executor get ``trusted=False``: checks that run workspace code (its
tests, configured commands) are skipped, personas that run programs are not started;
in-process checks and the built-in ``scaffold`` persona still work. A command that
would run workspace code is refused with a ``RequestFailed`` error that says which part
needs trust — before anything starts, so nothing half-runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from pygls.exceptions import JsonRpcException

from phasegate.config import Config

REQUEST_FAILED = -32803


class RequestFailed(JsonRpcException):
    CODE = REQUEST_FAILED
    MESSAGE = "Request failed"


def persona_runs_code(config: Config, name: str) -> tuple[bool, str]:
    """(runs workspace code?, kind) for a configured persona name."""
    from phasegate.personas.base import registered_personas

    kind = config.persona(name).kind
    cls = registered_personas().get(kind)
    if cls is None:
        return True, kind  # unknown kind: assume the worst
    return bool(cls.runs_workspace_code), kind


def require_trust(trusted: bool, config: Config, personas: Iterable[str], what: str) -> None:
    """Raise :class:`RequestFailed` when untrusted and one of ``personas`` runs code."""
    if trusted:
        return
    blocked = []
    for name in dict.fromkeys(personas):
        runs, kind = persona_runs_code(config, name)
        if runs:
            blocked.append(f"{name} ({kind})")
    if blocked:
        raise RequestFailed(
            f"{what} needs a trusted workspace: persona(s) {', '.join(blocked)} run programs "
            "the workspace configures. Trust the workspace to run them; in-process checks "
            "and the built-in scaffold persona work without trust."
        )


def phase_personas(config: Config, phases: Iterable[str] | None = None) -> list[str]:
    wanted = set(phases) if phases is not None else None
    out: list[str] = []
    for pc in config.phases:
        if wanted is None or pc.name in wanted:
            out += pc.personas
            for cc in [*pc.checks, *pc.entry_checks]:
                if cc.owner:
                    out.append(cc.owner)
    return out
