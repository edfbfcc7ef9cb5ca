"""``workspace/executeCommand``: exactly the commands of docs/lsp-protocol.md.

Every command takes one optional object argument. Long commands (start, resume,
validate, runGates, remediate, rework) go through :class:`phasegate.lsp.sessions.Sessions`
(progress, cancellation, one at a time) and answer with the status object.

A command that arrives before the workspace's initial load is over (right after
``initialized``) waits for it, bounded by :data:`phasegate.lsp.core.STARTUP_WAIT`.
"""

from __future__ import annotations

import re
from typing import Any

from pygls.exceptions import JsonRpcInvalidParams

from phasegate.lsp.core import PhasegateServer  # resolved at run time: pygls reads the hints
from phasegate.lsp.progress import WorkDone
from phasegate.lsp.sessions import RunningChecks
from phasegate.lsp.status import build_status
from phasegate.lsp.trust import RequestFailed, phase_personas, require_trust

COMMANDS = (
    "phasegate.startSession",
    "phasegate.resumeSession",
    "phasegate.listSessions",
    "phasegate.validate",
    "phasegate.runGates",
    "phasegate.remediate",
    "phasegate.rework",
    "phasegate.status",
    "phasegate.stopSession",
    "phasegate.report",
    "phasegate.analyseWorkspace",
)
SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _arg(args: tuple[Any, ...]) -> dict[str, Any]:
    """The one optional object argument (``null`` and no argument mean ``{}``)."""
    if not args or args[0] is None:
        return {}
    if len(args) > 1 or not isinstance(args[0], dict):
        raise JsonRpcInvalidParams("phasegate commands take one optional object argument")
    return args[0]


def _str(a: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    v = a.get(key)
    if v is None:
        if required:
            raise JsonRpcInvalidParams(f"missing argument {key!r}")
        return None
    if not isinstance(v, str):
        raise JsonRpcInvalidParams(f"argument {key!r} must be a string")
    return v


def _session_id(a: dict[str, Any]) -> str | None:
    sid = _str(a, "sessionId")
    if sid is not None and not SESSION_ID_RE.match(sid):
        raise JsonRpcInvalidParams(
            f"invalid session id {sid!r}: use 1-64 letters, digits, '-' or '_'"
        )
    return sid


def _ready(ls: PhasegateServer) -> None:
    eng = ls.engine
    if eng is None:
        raise RequestFailed("the server has no workspace folder")
    if not ls.ready:
        raise RequestFailed("phasegate is still loading the workspace; try again in a moment")
    if eng.config is None or eng.live is None or eng.config_fallback:
        # (the built-in defaults shown meanwhile judge nothing a command may act on)
        where = eng.config_path or "the configuration"
        raise RequestFailed(f"{where} has errors; fix them first (see its diagnostics)")


def _phase(ls: PhasegateServer, a: dict[str, Any], *, required: bool = False) -> str | None:
    name = _str(a, "phase", required=required)
    eng = ls.engine
    assert eng is not None and eng.config is not None
    if name is not None and name not in [p.name for p in eng.config.phases]:
        known = ", ".join(p.name for p in eng.config.phases)
        raise JsonRpcInvalidParams(f"unknown phase {name!r} (phases: {known})")
    return name


def register(server: PhasegateServer) -> None:
    @server.command("phasegate.status")
    async def status(ls: PhasegateServer, *args: Any) -> dict[str, Any]:
        _arg(args)
        await ls.wait_loaded()
        return build_status(ls)

    @server.command("phasegate.listSessions")
    async def list_sessions(ls: PhasegateServer, *args: Any) -> list[dict[str, Any]]:
        _arg(args)
        await ls.wait_loaded()
        if ls.engine is None:
            return []
        return [
            {
                "id": s.id,
                "requirement": s.requirement,
                "status": s.status,
                "updated_at": s.updated_at,
                "active": s.active,
                "current_phase": s.current_phase,
                "error": s.error,
            }
            for s in ls.sessions.store().list()
        ]

    @server.command("phasegate.analyseWorkspace")
    async def analyse_workspace(ls: PhasegateServer, *args: Any) -> dict[str, Any]:
        """Analyse the whole workspace, whatever its size (``maxEagerFiles``), and keep
        it analysed; answers with the status once the results are in."""
        _arg(args)
        await ls.wait_loaded()
        _ready(ls)
        title = "phasegate: analysing the whole workspace"
        async with WorkDone(ls, title, cancellable=False) as wd:
            await ls.core.analyse_workspace(wd)
        return build_status(ls)

    @server.command("phasegate.stopSession")
    async def stop_session(ls: PhasegateServer, *args: Any) -> dict[str, Any]:
        _arg(args)
        await ls.wait_loaded()
        ls.sessions.stop()
        return build_status(ls)

    @server.command("phasegate.report")
    async def report(ls: PhasegateServer, *args: Any) -> dict[str, Any]:
        a = _arg(args)
        fmt = _str(a, "format") or "html"
        if fmt not in ("html", "json"):
            raise JsonRpcInvalidParams(f"unknown report format {fmt!r}: use html or json")
        await ls.wait_loaded()
        if ls.engine is None:
            raise RequestFailed("the server has no workspace folder")
        path = await ls.sessions.write_report(fmt)
        return {"path": str(path)}

    @server.command("phasegate.validate")
    async def validate(ls: PhasegateServer, *args: Any) -> dict[str, Any]:
        a = _arg(args)
        await ls.wait_loaded()
        _ready(ls)
        phase = _phase(ls, a)

        async def body(progress: WorkDone) -> None:
            phases = [phase] if phase else None
            running = RunningChecks(ls, progress, phases)
            try:
                await ls.core.refresh(phases, running)
            finally:
                running.close()

        await ls.sessions.run(
            "validate", "phasegate: validating", body, refresh_after=False, phase=phase
        )
        return build_status(ls)

    @server.command("phasegate.runGates")
    async def run_gates(ls: PhasegateServer, *args: Any) -> dict[str, Any]:
        _arg(args)
        await ls.wait_loaded()
        _ready(ls)

        async def body(progress: WorkDone) -> None:
            if ls.sessions.active_id() is None:
                running = RunningChecks(ls, progress)
                try:
                    await ls.core.refresh(None, running)
                finally:
                    running.close()
                return
            await ls.sessions.executor().run_gates(None)

        await ls.sessions.run("runGates", "phasegate: running the gates", body)
        return build_status(ls)

    @server.command("phasegate.startSession")
    async def start_session(ls: PhasegateServer, *args: Any) -> dict[str, Any]:
        a = _arg(args)
        await ls.wait_loaded()
        _ready(ls)
        requirement = _str(a, "requirement", required=True) or ""
        if not requirement.strip():
            raise JsonRpcInvalidParams("the requirement is empty")
        sid = _session_id(a)
        assert ls.engine is not None and ls.engine.config is not None
        require_trust(
            ls.settings.trusted, ls.engine.config, phase_personas(ls.engine.config), "a session"
        )

        async def body(progress: WorkDone) -> None:
            await ls.sessions.executor().start(requirement, sid)

        await ls.sessions.run("startSession", "phasegate: session", body)
        return build_status(ls)

    @server.command("phasegate.resumeSession")
    async def resume_session(ls: PhasegateServer, *args: Any) -> dict[str, Any]:
        a = _arg(args)
        await ls.wait_loaded()
        _ready(ls)
        sid = _session_id(a)
        assert ls.engine is not None and ls.engine.config is not None
        require_trust(
            ls.settings.trusted, ls.engine.config, phase_personas(ls.engine.config), "a session"
        )
        if sid is None and ls.sessions.active_id() is None:
            raise RequestFailed("no active session to resume; start one (phasegate.startSession)")

        async def body(progress: WorkDone) -> None:
            await ls.sessions.executor().resume(sid)

        await ls.sessions.run("resumeSession", "phasegate: session", body)
        return build_status(ls)

    @server.command("phasegate.rework")
    async def rework(ls: PhasegateServer, *args: Any) -> dict[str, Any]:
        a = _arg(args)
        await ls.wait_loaded()
        _ready(ls)
        phase = _phase(ls, a, required=True)
        assert phase is not None and ls.engine is not None and ls.engine.config is not None
        persona = _str(a, "persona")
        ids = a.get("findingIds")
        if ids is not None and (
            not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)
        ):
            raise JsonRpcInvalidParams("argument 'findingIds' must be a list of strings")
        personas = [persona] if persona else phase_personas(ls.engine.config, [phase])
        require_trust(ls.settings.trusted, ls.engine.config, personas, "rework")
        if ls.sessions.active_id() is None:
            raise RequestFailed(
                "rework needs a session; start one (phasegate.startSession) "
                "or use phasegate.remediate"
            )

        async def body(progress: WorkDone) -> None:
            await ls.sessions.executor().rework(
                None, phase, personas=[persona] if persona else None, finding_ids=ids
            )

        await ls.sessions.run("rework", f"phasegate: rework {phase}", body, phase=phase)
        return build_status(ls)

    @server.command("phasegate.remediate")
    async def remediate(ls: PhasegateServer, *args: Any) -> dict[str, Any]:
        a = _arg(args)
        await ls.wait_loaded()
        _ready(ls)
        phase = _phase(ls, a)
        eng = ls.engine
        assert eng is not None and eng.config is not None
        require_trust(
            ls.settings.trusted,
            eng.config,
            phase_personas(eng.config, [phase] if phase else None),
            "remediation",
        )

        async def body(progress: WorkDone) -> None:
            from phasegate.remediate import Remediation

            assert eng.config is not None
            rem = Remediation(
                eng.workspace,
                eng.config,
                trusted=ls.settings.trusted,
                on_progress=ls.sessions.report,
            )
            result = await rem.run(phase)
            for pr in result.phases:
                ls.sessions.personas_failed(pr.phase, pr.iterations)

        await ls.sessions.run("remediate", "phasegate: remediation", body, phase=phase)
        return build_status(ls)
