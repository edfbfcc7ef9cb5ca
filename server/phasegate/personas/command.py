"""The ``command`` persona: any program does the work — an agent or a fixer.

Configured with an argv list whose ``{placeholders}`` are filled from the task::

    [personas.backend_developer]
    kind = "command"
    options.command = ["claude", "-p", "--permission-mode", "acceptEdits"]

The prompt goes to the program's stdin (``stdin = true``, the default) and the task as
JSON to the file named by ``PHASEGATE_TASK_FILE``. Before the program runs, every
non-ignored workspace file is snapshotted (:class:`phasegate.backups.SnapshotStore`);
afterwards the files it created, modified or deleted are listed in ``files_changed`` and
their previous state is recorded in the backups, so ``phasegate undo`` can restore them.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from phasegate.personas.base import Persona, PersonaContext, PersonaResult, PersonaTask
from phasegate.personas.prompt import build_prompt, write_task_files
from phasegate.proc import run_tool

PLACEHOLDERS = ("prompt", "phase", "persona", "task_file", "workspace", "feedback_file")
_PLACEHOLDER_RE = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
TAIL_CHARS = 2000


class CommandOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: list[str] = Field(
        min_length=1,
        description="Program and arguments; {prompt}, {phase}, {persona}, {task_file}, "
        "{workspace} and {feedback_file} are replaced. No shell is involved.",
    )
    stdin: bool = Field(True, description="Send the prompt on the program's stdin.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables.")
    timeout: float | None = Field(
        None, gt=0, description="Seconds before the program (and its children) is killed."
    )
    success_codes: list[int] = Field(
        default_factory=lambda: [0], min_length=1, description="Exit codes meaning success."
    )


def expand(argv: list[str], values: dict[str, str]) -> list[str]:
    """Replace the known ``{placeholders}`` in each argument; other braces stay as they are."""
    return [_PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], a) for a in argv]


def tail(text: str, limit: int = TAIL_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def _short_arg(arg: str) -> str:
    """An argument as a title shows it: a path by its name, long text cut."""
    if "/" in arg and not arg.startswith("{"):
        arg = arg.rsplit("/", 1)[-1] or arg
    return arg if len(arg) <= 24 else arg[:23] + "…"


class CommandPersona(Persona):
    kind = "command"
    runs_workspace_code = True
    Options = CommandOptions

    def describe(self) -> str:
        opts = self.options
        assert isinstance(opts, CommandOptions)
        shown = [_short_arg(a) for a in opts.command[:2]]
        more = " …" if len(opts.command) > 2 else ""
        return f"runs `{' '.join(shown)}{more}`"

    async def run(self, task: PersonaTask, ctx: PersonaContext) -> PersonaResult:
        if not ctx.trusted:
            return PersonaResult(
                ok=False, error="untrusted workspace: the command persona runs programs"
            )
        import asyncio  # here, as the backups below: loading the configuration needs neither

        return await asyncio.to_thread(self._run_sync, task, ctx)

    def _run_sync(self, task: PersonaTask, ctx: PersonaContext) -> PersonaResult:
        from phasegate.backups import BackupError, BackupRecorder, SnapshotStore

        opts = self.options
        assert isinstance(opts, CommandOptions)
        ws = ctx.workspace
        recorder = ctx.backups or BackupRecorder.for_session(
            ws, task.session_id, f"{task.phase}-{self.name}-it{task.iteration}"
        )
        prompt = build_prompt(task, ws)
        tmp_root = ws.state_dir / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        tmpdir = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=tmp_root))
        try:
            task_file, feedback_file = write_task_files(task, ws, tmpdir)
            values = {
                "prompt": prompt,
                "phase": task.phase,
                "persona": self.name,
                "task_file": str(task_file),
                "workspace": str(ws.root),
                "feedback_file": str(feedback_file),
            }
            argv = expand(opts.command, values)
            env = {
                "PHASEGATE_TASK_FILE": str(task_file),
                "PHASEGATE_FEEDBACK_FILE": str(feedback_file),
                "PHASEGATE_PHASE": task.phase,
                "PHASEGATE_PERSONA": self.name,
                "PHASEGATE_ITERATION": str(task.iteration),
                "PHASEGATE_SESSION": task.session_id,
                "PHASEGATE_WORKSPACE": str(ws.root),
                **opts.env,
            }
            timeout = opts.timeout or ctx.timeout
            store = SnapshotStore(ws)
            try:
                with store.locked():
                    snap = store.take()
                    result = run_tool(
                        argv,
                        cwd=ws.root,
                        timeout=timeout,
                        env=env,
                        stdin=prompt if opts.stdin else None,
                    )
                    diff = store.diff(snap)
                    store.record(snap, diff, recorder)
            except (OSError, BackupError) as exc:
                return PersonaResult(ok=False, error=f"{self.name}: backup failed: {exc}")
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
        changed = [c.path for c in diff.changes]
        ws.notify_changed(changed)
        summary = ", ".join(f"{c.kind} {c.path}" for c in diff.changes) or "no file changed"
        if result.not_found:
            return PersonaResult(ok=False, error=f"{self.name}: {result.stderr}")
        if result.timed_out:
            return PersonaResult(
                ok=False,
                error=f"{self.name}: timed out after {timeout:g}s and was stopped"
                + _stderr_part(result.stderr),
                files_changed=changed,
                message=summary,
            )
        if result.returncode not in opts.success_codes:
            return PersonaResult(
                ok=False,
                error=f"{self.name}: {argv[0]} exited with code {result.returncode}"
                + _stderr_part(result.stderr or result.stdout),
                files_changed=changed,
                message=summary,
            )
        return PersonaResult(ok=True, files_changed=changed, message=summary)


def _stderr_part(text: str) -> str:
    t = tail(text)
    return f":\n{t}" if t else ""
