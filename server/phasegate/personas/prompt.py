"""The task given to personas that do real work: as text (a prompt) and as JSON (a file).

The prompt says which requirement the session serves, the phase and the persona's role,
the iteration and why the persona runs, the findings it owns (one per line as
``path:line:col: CODE message``, 1-based like a compiler's) and the files to read. The
same data is written as JSON to the task file (``PHASEGATE_TASK_FILE``); the findings
alone, one per line, go to the feedback file (``PHASEGATE_FEEDBACK_FILE``) — the format
editors and agents already understand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from phasegate.model import Finding
from phasegate.personas.base import PersonaTask
from phasegate.workspace import Workspace

TASK_FORMAT_VERSION = 1
MAX_ARTIFACT_FILES = 200


def finding_line(f: Finding) -> str:
    """``path:line:col: CODE message`` with a 1-based line and column."""
    line = f.range.start.line + 1
    col = f.range.start.character + 1
    message = " ".join(f.message.split())
    return f"{f.path}:{line}:{col}: {f.code} {message}"


def artifact_files(task: PersonaTask, workspace: Workspace) -> list[str]:
    """The workspace files matching the task's artifact globs (sorted, bounded)."""
    if not task.artifacts:
        return []
    return workspace.glob(task.artifacts)[:MAX_ARTIFACT_FILES]


def task_payload(task: PersonaTask, workspace: Workspace) -> dict[str, Any]:
    """The task as JSON-ready data (the content of the task file)."""
    return {
        "version": TASK_FORMAT_VERSION,
        "session": task.session_id,
        "requirement": task.requirement,
        "phase": task.phase,
        "phase_title": task.phase_title,
        "persona": task.persona,
        "role": task.role,
        "iteration": task.iteration,
        "reason": task.reason,
        "workspace": task.workspace,
        "artifacts": task.artifacts,
        "files": artifact_files(task, workspace),
        "findings": [
            {
                "path": f.path,
                "line": f.range.start.line + 1,
                "column": f.range.start.character + 1,
                "end_line": f.range.end.line + 1,
                "end_column": f.range.end.character + 1,
                "code": f.code,
                "severity": f.severity.label,
                "message": f.message,
                "missing_file": f.missing_file,
                "text": finding_line(f),
            }
            for f in task.feedback
        ],
    }


def build_prompt(task: PersonaTask, workspace: Workspace) -> str:
    """The task as plain text, for a person or an agent."""
    lines = [
        f"You are the {task.persona} of a software project"
        + (f": {task.role}" if task.role else "."),
        "",
        f"Requirement of this session: {task.requirement or '(none given)'}",
        f"Phase: {task.phase_title} ({task.phase})",
        f"Iteration: {task.iteration} — {task.reason}",
        f"Workspace: {task.workspace} (all paths below are relative to it)",
        "",
    ]
    if task.feedback:
        lines.append(
            "The quality gate of this phase failed. Fix these findings (path:line:col: CODE "
            "message):"
        )
        lines += [f"  {finding_line(f)}" for f in task.feedback]
        if any(f.baseline_state for f in task.feedback):
            lines.append(
                "The gate judges new code: these findings are on what this session added "
                "or changed. Findings that were there before it are not listed; leave them "
                "unless you are asked to fix them."
            )
    elif task.iteration > 1:
        lines.append("The quality gate of this phase failed; improve the phase's artifacts.")
    else:
        lines.append(f"Do your part of the {task.phase_title} phase.")
    lines.append("")
    files = artifact_files(task, workspace)
    if files:
        lines.append("Files of this phase to read:")
        lines += [f"  {p}" for p in files]
    elif task.artifacts:
        lines.append(
            "This phase's files do not exist yet; expected at: " + ", ".join(task.artifacts)
        )
    lines += [
        "",
        "Change files in the workspace only. Do not touch .git/ or .phasegate/.",
        "When you are done, the phase's checks run again.",
    ]
    return "\n".join(lines) + "\n"


def write_task_files(task: PersonaTask, workspace: Workspace, directory: Path) -> tuple[Path, Path]:
    """Write ``task.json`` and ``feedback.txt`` into ``directory``; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    task_file = directory / "task.json"
    feedback_file = directory / "feedback.txt"
    task_file.write_text(json.dumps(task_payload(task, workspace), indent=2), encoding="utf-8")
    feedback_file.write_text(
        "".join(finding_line(f) + "\n" for f in task.feedback), encoding="utf-8"
    )
    return task_file, feedback_file
