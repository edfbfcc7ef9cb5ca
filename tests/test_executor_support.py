"""Test plugins for the session engine: a check whose score a file controls and a persona
that writes scripted files, logging every call. Imported by the executor and CLI tests,
and run as a script (``python tests/test_executor_support.py run ...``) it is the
``phasegate`` CLI with these plugins registered, for the subprocess tests.

The check ``T-SCORE`` reads its ``file`` option: the first line is the score; when the
score is below ``pass_at`` each further line is a finding (``@owner text`` hands it to
another persona). The persona ``t-script`` applies ``edits[iteration - 1]`` (the last
entry for later iterations), optionally sleeps, fails or crashes, and logs each call.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from phasegate.checks.base import (
    Check,
    CheckContext,
    CheckOutcome,
    register_check,
    registered_checks,
)
from phasegate.config import CheckConfig, Config, PersonaConfig, PhaseConfig
from phasegate.model import Finding
from phasegate.personas.base import (
    Persona,
    PersonaContext,
    PersonaResult,
    PersonaTask,
    register_persona,
    registered_personas,
)

CALLS: list[dict[str, Any]] = []


class ScoreOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str
    pass_at: float = 1.0


class FileScore(Check):
    id = "T-SCORE"
    scope = "project"
    Options: ClassVar[type[BaseModel]] = ScoreOptions

    def run(self, ctx: CheckContext) -> CheckOutcome:
        opts = ctx.options
        assert isinstance(opts, ScoreOptions)
        text = ctx.workspace.read_text(opts.file)
        if text is None:
            f = ctx.finding(opts.file, f"{opts.file} is missing", missing_file=True)
            return CheckOutcome(findings=[f], score=0.0, passed=False)
        lines = text.splitlines() or ["0"]
        try:
            score = min(1.0, max(0.0, float(lines[0])))
        except ValueError:
            score = 0.0
        if score >= opts.pass_at:
            return CheckOutcome(findings=[], score=score, passed=True)
        findings: list[Finding] = []
        for i, line in enumerate(lines[1:], start=1):
            if not line.strip():
                continue
            owner = None
            if line.startswith("@"):
                owner, _, line = line[1:].partition(" ")
            findings.append(ctx.finding(opts.file, line, line=i, owner=owner))
        if not findings:
            findings.append(ctx.finding(opts.file, f"score {score}", line=0))
        return CheckOutcome(findings=findings, score=score, passed=False)


class CodeScore(FileScore):
    """The same, but it counts as running workspace code (skipped when untrusted)."""

    id = "T-CODE"
    runs_workspace_code = True


class ScriptOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    edits: list[dict[str, str]] = Field(default_factory=list)
    sleep: float = 0.0
    fail: str | None = None
    crash: bool = False
    log: str | None = None


class ScriptPersona(Persona):
    kind = "t-script"
    runs_workspace_code = False
    Options: ClassVar[type[BaseModel]] = ScriptOptions

    async def run(self, task: PersonaTask, ctx: PersonaContext) -> PersonaResult:
        opts = self.options
        assert isinstance(opts, ScriptOptions)
        call = {
            "persona": task.persona,
            "phase": task.phase,
            "iteration": task.iteration,
            "reason": task.reason,
            "feedback": [f.message for f in task.feedback],
            "feedback_ids": [f.id for f in task.feedback],
            "codes": sorted({f.code for f in task.feedback}),
            "requirement": task.requirement,
        }
        CALLS.append(call)
        if opts.log:
            with open(opts.log, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(call) + "\n")
        if opts.sleep:
            await asyncio.sleep(opts.sleep)
        if opts.crash:
            raise RuntimeError("persona exploded")
        if opts.edits:
            edits = opts.edits[min(task.iteration, len(opts.edits)) - 1]
            for path, content in edits.items():
                ctx.write_text(path, content, overwrite=True)
        if opts.fail:
            return PersonaResult(ok=False, error=opts.fail, files_changed=list(ctx.written))
        return PersonaResult(ok=True, files_changed=list(ctx.written))


class CodePersona(ScriptPersona):
    kind = "t-code"
    runs_workspace_code = True


CHECKS: dict[str, type[Check]] = {"T-SCORE": FileScore, "T-CODE": CodeScore}
PERSONAS: dict[str, type[Persona]] = {"t-script": ScriptPersona, "t-code": CodePersona}


def register() -> None:
    for name, cls in CHECKS.items():
        register_check(name, cls)
    for kind, pcls in PERSONAS.items():
        register_persona(kind, pcls)


def unregister() -> None:
    for name in CHECKS:
        registered_checks().pop(name, None)
    for kind in PERSONAS:
        registered_personas().pop(kind, None)


@contextmanager
def plugins() -> Iterator[None]:
    """The test plugins registered for the duration of a test only, so that tests of
    the registries themselves never see them."""
    register()
    try:
        yield
    finally:
        unregister()


# -- config builders --------------------------------------------------------------------
def score_check(
    cid: str, file: str, owner: str, *, kind: str = "T-SCORE", **kw: Any
) -> CheckConfig:
    opts: dict[str, Any] = {"file": file}
    if "pass_at" in kw:
        opts["pass_at"] = kw.pop("pass_at")
    return CheckConfig(id=cid, kind=kind, inputs=[file], owner=owner, options=opts, **kw)


def persona(kind: str = "t-script", **options: Any) -> PersonaConfig:
    return PersonaConfig(kind=kind, options=options)


def make_config(phases: list[PhaseConfig], personas: dict[str, PersonaConfig], **kw: Any) -> Config:
    return Config(phases=phases, personas=personas, **kw)


def write_scores(root: Path, scores: dict[str, str]) -> None:
    for rel, text in scores.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    from phasegate.cli import cli

    register()
    cli(sys.argv[1:], prog_name="phasegate")
