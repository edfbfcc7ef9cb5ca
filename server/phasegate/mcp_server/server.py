"""The MCP server: phasegate's tools and resources on the official ``mcp`` SDK
(``MCPServer``), over stdio.

Tools are async; the engine's blocking work runs in worker threads (gates one phase at a
time, so that progress goes out between phases) and sessions run the async executor on
the server's own event loop. One tool that runs checks or personas works at a time:
another waits for it (and says so in its progress). Every failure a client should read
comes back as a tool error with one sentence (``is_error``); a bug is logged with its
traceback on standard error and answered with one line. While the server runs, the SDK
points file descriptor 1 at standard error, so neither phasegate nor a program it starts
can write anything but the protocol on standard output.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from phasegate import __version__
from phasegate.cache import ResultCache
from phasegate.live.core import LiveCore
from phasegate.live.options import LiveOptions
from phasegate.mcp_server import answers
from phasegate.mcp_server.answers import ToolFailure
from phasegate.mcp_server.models import (
    CheckExplanation,
    FindingsResult,
    ReportAnswer,
    SessionSummary,
    TraceAnswer,
    ValidateDocument,
)
from phasegate.model import GateResult, SessionState

if TYPE_CHECKING:
    from phasegate.executor import Executor

log = logging.getLogger("phasegate.mcp")
T = TypeVar("T")

INSTRUCTIONS = """\
phasegate scores this workspace's quality gates (requirements, design, implementation,
testing, deployment) with real checks, and drives sessions that carry a requirement
through the phases. Start with gate_status; validate scores every gate exactly as
`phasegate validate` does (the same JSON); findings lists what to fix (new_only with
new-code mode); explain_check says what a check wants and how it is configured here;
trace_requirement says where a requirement is designed, implemented and tested.
start_session, resume_session and rework run personas and change files."""

_READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_SCORES = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
_DRIVES = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=True)


@contextmanager
def tool_errors(tool: str) -> Iterator[None]:
    """Turn what the engine refuses into a tool error with its sentence, and a bug into
    a tool error with one line (the traceback goes to standard error)."""
    try:
        yield
    except ToolFailure as exc:
        raise ToolError(str(exc)) from None
    except ToolError:
        raise
    except Exception as exc:
        log.exception("tool %s failed", tool)
        what = traceback.format_exception_only(type(exc), exc)[-1].strip()
        raise ToolError(
            f"{tool} failed unexpectedly ({what}); the server's standard error has the details"
        ) from None


class Progress:
    """``notifications/progress`` for one tool call (a no-op when the client asked for
    none): each notification's progress is above the last one's, as MCP requires."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.value: float | None = None

    async def __call__(
        self, message: str, *, value: float | None = None, total: float | None = None
    ) -> None:
        last = self.value
        if value is None or (last is not None and value <= last):
            value = 0.0 if last is None else last + 1
        self.value = value
        try:
            await self.ctx.report_progress(value, total, message)
        except Exception:  # a client gone or a broken pipe must not fail the work
            log.debug("progress notification not sent", exc_info=True)


class _Quiet:
    """What the live core says, for the log only: an MCP client asks, it is not told."""

    def show(self, paths: set[str]) -> None:
        pass

    def status_changed(self) -> None:
        pass

    def message(self, text: str, level: str) -> None:
        log.info("%s", text)

    def files_changed(self, paths: set[str]) -> None:
        pass

    def results_reset(self) -> None:
        pass


class Workbench:
    """The workspace, its trust, the one-at-a-time lock of the tools that run work, and
    the live core the server keeps while it runs: its engine (the result cache in memory,
    shared by every tool call) and the workspace's local socket, where the agent's hooks
    ask for the findings of an edited file instead of starting the engine themselves."""

    def __init__(self, root: Path, *, trusted: bool) -> None:
        self.root = root
        self.trusted = trusted
        self._lock = anyio.Lock()
        self._running: str | None = None
        self.core: LiveCore | None = None

    @asynccontextmanager
    async def lifespan(self, _server: object) -> AsyncIterator[None]:
        """While the server runs: the live core is open (see the class)."""
        await self.open_live()
        try:
            yield None
        finally:
            self.close_live()

    async def open_live(self) -> None:
        if self.core is not None:
            return
        try:
            core = LiveCore(_Quiet(), LiveOptions(trusted=self.trusted))
            core.open(self.root)
            await core.load()
            await core.serve_local()
        except Exception:  # the tools work without it, each reading the cache from disk
            log.warning("the live core could not be opened", exc_info=True)
            return
        self.core = core

    def close_live(self) -> None:
        core, self.core = self.core, None
        if core is not None:
            core.close()  # stops answering on the socket, writes the result cache

    @property
    def cache(self) -> ResultCache | None:
        """The live core's result cache (None when it is not open)."""
        eng = self.core.engine if self.core is not None else None
        return eng.cache if eng is not None else None

    async def exclusive(self, name: str, progress: Progress, work: Callable[[], Awaitable[T]]) -> T:
        if self._lock.locked():
            await progress(f"waiting for {self._running or 'another tool'} to finish")
        async with self._lock:
            self._running = name
            try:
                return await work()
            finally:
                self._running = None

    async def gates(
        self,
        progress: Progress,
        *,
        phase: str | None,
        since: str | None,
        baseline: str | None,
        iteration: int | None,
        all_code: bool,
    ) -> list[GateResult]:
        """Every phase's exit gate (or one's), phase by phase, as ``validate`` scores
        them; progress after each gate."""
        root = self.root
        loaded = await anyio.to_thread.run_sync(answers.load_workspace, root)
        config = loaded.config
        names = answers.phases_to_validate(config, phase)
        await anyio.to_thread.run_sync(
            partial(
                answers.prepare_validation,
                root,
                config,
                names,
                since=since,
                baseline=baseline,
                all_code=all_code,
            )
        )
        total = len(names)
        await progress(f"scoring {total} gate(s), {names[0]} first", value=0, total=total)
        gates: list[GateResult] = []
        for i, name in enumerate(names):
            gate = await anyio.to_thread.run_sync(
                partial(
                    answers.validate_phase,
                    root,
                    config,
                    name,
                    trusted=self.trusted,
                    iteration=iteration,
                    since=since,
                    baseline=baseline,
                    all_code=all_code,
                    cache=self.cache,
                )
            )
            gates.append(gate)
            line = answers.gate_line(gate)
            if i + 1 < total:
                line += f"; next: {names[i + 1]}"
            await progress(line, value=i + 1, total=total)
        return gates

    async def drive(
        self,
        progress: Progress,
        action: Callable[[Executor], Awaitable[SessionState]],
        session_id: str | None = None,
    ) -> SessionSummary:
        """Run a session action with a progress message per executor event."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()

        def post(message: str | None) -> None:  # from the loop or a worker thread
            loop.call_soon_threadsafe(queue.put_nowait, message)

        async def pump() -> None:
            while (message := await queue.get()) is not None:
                await progress(message)

        pumping = asyncio.ensure_future(pump())
        try:
            summary = await answers.drive(
                self.root,
                trusted=self.trusted,
                action=action,
                on_message=post,
                session_id=session_id,
            )
        except BaseException:
            pumping.cancel()
            raise
        post(None)  # after the messages already posted
        await pumping
        return summary


def build_server(root: Path, *, trusted: bool) -> MCPServer[Any]:
    """The MCP server for the workspace ``root``; ``trusted=False`` runs no check or
    persona that runs workspace code (as ``--untrusted`` does for the CLI)."""
    bench = Workbench(root, trusted=trusted)
    server: MCPServer[Any] = MCPServer(
        "phasegate",
        title="phasegate",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
        lifespan=bench.lifespan,
    )

    @server.tool(annotations=_READ_ONLY, structured_output=True)
    async def gate_status() -> SessionSummary:
        """The active session: its status, current phase, and each phase's status, score,
        threshold, iterations and failing checks, with the open findings of the phases
        not completed (their ids are what rework takes). Runs nothing: it reads the
        checkpoint and the result cache, like `phasegate status`. Without a session it
        says so (status null) and how many findings the cache holds."""
        with tool_errors("gate_status"):
            return await anyio.to_thread.run_sync(
                partial(answers.gate_status, root, trusted=trusted)
            )

    @server.tool(annotations=_SCORES, structured_output=True)
    async def validate(
        ctx: Context,
        phase: Annotated[
            str | None, Field(description="Score only this phase's gate (default: every phase).")
        ] = None,
        since: Annotated[
            str | None,
            Field(
                description="New-code mode: judge findings on lines changed since the merge "
                "base of this git reference and HEAD (e.g. origin/main)."
            ),
        ] = None,
        baseline: Annotated[
            str | None,
            Field(
                description="New-code mode: a baseline file (`phasegate baseline`), relative "
                "to the workspace; findings not in it are new."
            ),
        ] = None,
        iteration: Annotated[
            int | None,
            Field(ge=1, description="Score against threshold(K) instead of the last one."),
        ] = None,
        all_code: Annotated[
            bool,
            Field(
                description="Judge the whole code even when the configuration asks for new code."
            ),
        ] = False,
    ) -> ValidateDocument:
        """Score every phase's exit gate (or one phase's) without changing the workspace
        (only its result cache is written), exactly as `phasegate validate --format json`:
        the result is that JSON document (docs/validate-json.md), with each check's
        status, score and findings (0-based positions). Reports progress phase by phase."""
        with tool_errors("validate"):
            progress = Progress(ctx)
            gates = await bench.exclusive(
                "validate",
                progress,
                partial(
                    bench.gates,
                    progress,
                    phase=phase,
                    since=since,
                    baseline=baseline,
                    iteration=iteration,
                    all_code=all_code,
                ),
            )
            return answers.validate_document(root, gates)

    @server.tool(annotations=_SCORES, structured_output=True)
    async def findings(
        ctx: Context,
        path: Annotated[
            str | None,
            Field(description="Only findings in this file, or in this folder and below."),
        ] = None,
        phase: Annotated[str | None, Field(description="Only this phase's gate.")] = None,
        new_only: Annotated[
            bool,
            Field(
                description="Only findings on new code (new-code mode: since, baseline, or "
                "[new_code] in the configuration)."
            ),
        ] = False,
        since: Annotated[
            str | None, Field(description="New-code mode against this git reference.")
        ] = None,
        baseline: Annotated[
            str | None, Field(description="New-code mode against this baseline file.")
        ] = None,
        limit: Annotated[int, Field(ge=0, le=answers.MAX_LIMIT)] = 100,
    ) -> FindingsResult:
        """The open findings of the gates `phasegate validate` scores (the same run, from
        the result cache where nothing changed), in the order of its JSON document, each
        with its phase, check and id; filtered by path, phase and new_only, at most
        limit (total says how many matched)."""
        with tool_errors("findings"):
            if new_only and since is None and baseline is None:
                loaded = await anyio.to_thread.run_sync(answers.load_workspace, root)
                answers.require_new_code(loaded.config)
            progress = Progress(ctx)
            gates = await bench.exclusive(
                "findings",
                progress,
                partial(
                    bench.gates,
                    progress,
                    phase=phase,
                    since=since,
                    baseline=baseline,
                    iteration=None,
                    all_code=False,
                ),
            )
            return answers.select_findings(root, gates, path=path, new_only=new_only, limit=limit)

    @server.tool(annotations=_READ_ONLY, structured_output=True)
    async def explain_check(
        id: Annotated[str, Field(description="A check id, e.g. IMPL-STUB, or a check kind.")],
    ) -> CheckExplanation:
        """What a check judges (title, description, options, documentation URL) and, in
        this workspace, where it is configured (phase, weight, blocking, owner, inputs)
        and its last result from the result cache (nothing runs)."""
        with tool_errors("explain_check"):
            return await anyio.to_thread.run_sync(
                partial(answers.explain_check, root, id, trusted=trusted)
            )

    @server.tool(annotations=_READ_ONLY, structured_output=True)
    async def trace_requirement(
        id: Annotated[
            str, Field(description="A requirement id, e.g. REQ-001 (or feature/FR-001).")
        ],
    ) -> TraceAnswer:
        """Where a requirement is defined, which design sections mention it, which source
        files implement it and which tests test it, and its gaps (design, code, tests):
        its rows of the report's traceability matrix."""
        with tool_errors("trace_requirement"):
            return await anyio.to_thread.run_sync(partial(answers.trace_requirement, root, id))

    @server.tool(annotations=_DRIVES, structured_output=True)
    async def start_session(
        ctx: Context,
        requirement: Annotated[str, Field(description="What to build, in a sentence or more.")],
        session_id: Annotated[
            str | None, Field(description="Session id (default: generated).")
        ] = None,
    ) -> SessionSummary:
        """Start a session, as `phasegate run`: it carries the requirement through the
        phases, running each phase's personas until its gate passes or the session waits
        for a person. Changes files (backed up). Reports progress step by step."""
        with tool_errors("start_session"):
            from phasegate.store import InvalidSessionId, validate_new_session_id

            if session_id is not None:
                try:
                    validate_new_session_id(session_id)
                except InvalidSessionId as exc:
                    raise ToolFailure(str(exc)) from None
            progress = Progress(ctx)
            return await bench.exclusive(
                "start_session",
                progress,
                partial(
                    bench.drive,
                    progress,
                    lambda ex: ex.start(requirement, session_id),
                    session_id,
                ),
            )

    @server.tool(annotations=_DRIVES, structured_output=True)
    async def resume_session(
        ctx: Context,
        session_id: Annotated[
            str | None, Field(description="Session id (default: the active session).")
        ] = None,
    ) -> SessionSummary:
        """Resume a session where it stopped, as `phasegate resume`: waiting phases are
        scored again first (fixes that make a gate pass complete the phase), then the
        session goes on. Reports progress step by step."""
        with tool_errors("resume_session"):
            progress = Progress(ctx)
            return await bench.exclusive(
                "resume_session",
                progress,
                partial(bench.drive, progress, lambda ex: ex.resume(session_id), session_id),
            )

    @server.tool(annotations=_DRIVES, structured_output=True)
    async def rework(
        ctx: Context,
        phase: Annotated[str, Field(description="The phase to rework.")],
        personas: Annotated[
            list[str] | None,
            Field(description="Personas to run (default: the owners of the failed checks)."),
        ] = None,
        finding_ids: Annotated[
            list[str] | None,
            Field(
                description="Only these findings (ids from findings or gate_status) as "
                "feedback; their owners run unless personas are given."
            ),
        ] = None,
        session_id: Annotated[
            str | None, Field(description="Session id (default: the active session).")
        ] = None,
    ) -> SessionSummary:
        """Run personas on one phase of the session now (one more iteration), each with
        the findings it owns, then score the phase's gate. Reports progress."""
        with tool_errors("rework"):
            if personas:
                loaded = await anyio.to_thread.run_sync(answers.load_workspace, root)
                answers.check_personas(root, loaded.config, personas)
            progress = Progress(ctx)
            return await bench.exclusive(
                "rework",
                progress,
                partial(
                    bench.drive,
                    progress,
                    lambda ex: ex.rework(session_id, phase, personas or None, finding_ids or None),
                    session_id,
                ),
            )

    @server.tool(annotations=_SCORES, structured_output=True)
    async def report_path(
        ctx: Context,
        session_id: Annotated[
            str | None, Field(description="Session id (default: the active session).")
        ] = None,
        format: Annotated[
            Literal["html", "json"], Field(description="html (self-contained page) or json.")
        ] = "html",
    ) -> ReportAnswer:
        """Write the session's report (scores per iteration, traceability, open findings)
        into its folder, .phasegate/sessions/<id>/report.html, and return its path."""
        with tool_errors("report_path"):
            progress = Progress(ctx)

            async def work() -> ReportAnswer:
                return await anyio.to_thread.run_sync(
                    partial(answers.write_report, root, session_id, format)
                )

            return await bench.exclusive("report_path", progress, work)

    @server.resource(
        "phasegate://requirements",
        name="requirements",
        title="Requirements",
        description="The text of the workspace's requirements documents.",
        mime_type="text/markdown",
    )
    def requirements() -> str:
        try:
            return answers.requirements_text(root)
        except ToolFailure as exc:
            raise ResourceError(str(exc)) from None

    @server.resource(
        "phasegate://session",
        name="session",
        title="Active session",
        description="The active session's summary (gate_status's result) as JSON.",
        mime_type="application/json",
    )
    def session() -> str:
        try:
            return answers.gate_status(root, trusted=trusted).model_dump_json(indent=2)
        except ToolFailure as exc:
            raise ResourceError(str(exc)) from None

    return server


def serve(root: Path, *, trusted: bool) -> None:
    """Serve the workspace ``root`` over stdio until the client closes standard input."""
    build_server(root, trusted=trusted).run("stdio")
