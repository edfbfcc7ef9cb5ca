"""``phasegate baseline``: record every finding of every gate, to judge new code against.

Runs every phase's exit gate (or one phase's, with ``--phase``) on the whole code, as
``phasegate validate`` does but never in new-code mode (``[new_code]`` in the
configuration is ignored here), and writes the findings as a SARIF 2.1.0 log
(:func:`phasegate.sarif.gates_to_sarif`, indented) to ``-o FILE``, by default to the
configuration's ``[new_code] baseline``, else ``phasegate-baseline.sarif`` at the
workspace root. The file is replaced atomically. Commit it: later runs with
``phasegate validate --baseline FILE`` (or ``[new_code] baseline``) count a finding as
new only when it is not in it (:mod:`phasegate.baseline`).

The file is meant to be committed, so what would differ from one machine or one run to
the next without the findings changing is left out (:func:`portable`): the workspace's
absolute path (``originalUriBaseIds``), and of each check's evidence how this run got it
(ran or cached, duration, the programs run, with their paths on this machine).

A check that could not run (tool missing, timed out, crashed) has no findings to record,
or only some: once it runs again, every finding it has would be new and fail its gate
on code nobody touched. So the baseline is refused (exit 2) while a check could not run,
unless ``--allow-unknown``. Checks skipped as untrusted (``--untrusted``) are recorded without
findings too; that is said, not refused, since it was asked for.

Exit status: 0 written, 2 configuration error, bad usage, a state folder that cannot be
used, or a check that could not run.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import click

from phasegate.baseline import DEFAULT_BASELINE
from phasegate.cache import gc_paused
from phasegate.cli import fail, warning
from phasegate.commands._progress import CheckProgress, progress_wanted
from phasegate.commands._state import check_state, load_or_exit
from phasegate.commands._workspace import workspace_params
from phasegate.commands.validate import ValidationSetupError, run_validation
from phasegate.config import Config
from phasegate.model import GateResult

EXIT_WRITTEN = 0
EXIT_ERROR = 2


def whole_code(config: Config) -> Config:
    """``config`` with new-code mode off: a baseline records every finding."""
    nc = config.new_code.model_copy(update={"since": None, "baseline": None})
    return config.model_copy(update={"new_code": nc})


def baseline_path(root: Path, config: Config, output: Path | None) -> Path:
    """Where the baseline goes: ``output`` (relative to the current directory), else
    ``[new_code] baseline`` (relative to the workspace, as it is read), else the default
    file at the workspace root."""
    if output is not None:
        return Path.cwd() / output
    configured = config.new_code.baseline
    if configured is not None:
        path = Path(configured)
        return path if path.is_absolute() else root / path
    return root / DEFAULT_BASELINE


# what a check's evidence keeps in a committed baseline: what it judged, with which tool
# version, not how this run went (ran or cached, how long, which programs, where)
PORTABLE_EVIDENCE = ("id", "phase", "status", "toolVersion", "inputsHash")


def portable(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` without what differs between machines and runs for the same findings:
    the workspace's absolute path, and of each check's evidence all but
    :data:`PORTABLE_EVIDENCE`."""
    for run in document.get("runs", []):
        run.pop("originalUriBaseIds", None)
        for inv in run.get("invocations", []):
            props = inv.get("properties") or {}
            if "checks" in props:
                props["checks"] = [
                    {k: c[k] for k in PORTABLE_EVIDENCE if k in c} for c in props["checks"]
                ]
    return document


def _shown(path: Path) -> str:
    """``path`` as a person would type it from here: relative when it is below the
    current directory."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def _config_value(root: Path, path: Path) -> str:
    """``path`` as ``[new_code] baseline`` would name it (relative to the workspace)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


@click.command("baseline")
@workspace_params()
@click.option(
    "-o",
    "--output",
    "output",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Write the baseline here. Default: [new_code] baseline of the configuration, "
    f"else {DEFAULT_BASELINE} at the workspace root.",
)
@click.option("--phase", "phase", metavar="NAME", help="Record only this phase's findings.")
@click.option(
    "--untrusted",
    is_flag=True,
    help="Treat the workspace as untrusted: skip checks that run workspace code (their "
    "findings are then not recorded).",
)
@click.option(
    "--allow-unknown",
    is_flag=True,
    help="Write the baseline even when a check could not run. Refused by default: such a "
    "check records no findings, so once it runs again every finding it has counts as new "
    "and fails its gate, on code nobody changed.",
)
def command(
    workspace: Path,
    output: Path | None,
    phase: str | None,
    untrusted: bool,
    allow_unknown: bool,
) -> None:
    """Record every finding of the gates on the workspace (DIR or -w DIR: the project
    root found from there) as a SARIF baseline.

    Runs the gates on the whole code (never in new-code mode) and writes their findings,
    to judge new code against later: `phasegate validate --baseline FILE`, or
    `[new_code] baseline = "FILE"` in phasegate.toml. Commit the file.

    Exit status: 0 written, 2 configuration error, bad usage, a state folder that is a
    link or holds an entry of the wrong kind, or a check that could not run (see
    --allow-unknown).
    """
    with gc_paused():
        _baseline(workspace, output, phase, untrusted, allow_unknown)


def _baseline(
    root: Path,
    output: Path | None,
    phase: str | None,
    untrusted: bool,
    allow_unknown: bool,
) -> None:
    from phasegate.commands._output import dump_json
    from phasegate.fsutil import atomic_write_text
    from phasegate.sarif import gates_to_sarif

    check_state(root)
    loaded = load_or_exit(root)
    config = whole_code(loaded.config)
    target = baseline_path(root, loaded.config, output)
    progress = CheckProgress(title="recording") if progress_wanted() else None
    try:
        with progress or contextlib.nullcontext():
            gates = run_validation(
                root, config, phase=phase, trusted=not untrusted, observer=progress
            )
    except ValidationSetupError as exc:
        fail(str(exc))

    unknown = [
        (g.phase, c.id, c.error or "timed out")
        for g in gates
        for c in g.checks
        if c.error or (c.evidence is not None and c.evidence.timed_out)
    ]
    if unknown:
        listed = "".join(f"\n  {p}/{cid}: {why}" for p, cid, why in unknown)
        consequence = (
            "a baseline without their findings would count every one of them as new once "
            "they run, failing their gates on code nobody changed"
        )
        if not allow_unknown:
            fail(
                f"{len(unknown)} check(s) could not run:{listed}\n"
                f"{consequence}. Fix them and run again, or write the baseline anyway "
                "with --allow-unknown. Nothing was written."
            )
        warning(
            f"{len(unknown)} check(s) could not run, recorded without "
            f"findings (--allow-unknown):{listed}\n{consequence}."
        )
    skipped = [f"{g.phase}/{c.id}" for g in gates for c in g.checks if c.skipped]
    if skipped:
        click.echo(
            f"phasegate: note: skipped as untrusted, recorded without findings: "
            f"{', '.join(skipped)}",
            err=True,
        )

    document = portable(gates_to_sarif(root, gates))
    atomic_write_text(target, dump_json(document, pretty=True).decode("utf-8") + "\n")
    _report(root, loaded.config, target, gates, document, phase)
    from phasegate.cli import finish

    finish(EXIT_WRITTEN)


def _report(
    root: Path,
    config: Config,
    target: Path,
    gates: list[GateResult],
    document: dict[str, Any],
    phase: str | None,
) -> None:
    findings = sum(len(run.get("results", [])) for run in document["runs"])
    checks = sum(len(g.checks) for g in gates)
    shown = _shown(target)
    click.echo(f"wrote {findings} findings of {checks} checks to {shown}")
    if phase is not None:
        click.echo(
            f"only phase {phase!r} was recorded: findings of the other phases will count as new"
        )
    configured = config.new_code.baseline
    if configured is not None and baseline_path(root, config, None) == target:
        click.echo("new code is judged against it: [new_code] baseline names this file")
        return
    value = _config_value(root, target)
    click.echo(
        f"judge new code against it: phasegate validate --baseline {_quote(shown)}, "
        f"or set [new_code] baseline = {json.dumps(value)} in the configuration"
    )


def _quote(text: str) -> str:
    """``text`` as one shell word."""
    import shlex

    return shlex.quote(text)
