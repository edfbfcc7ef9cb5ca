"""``phasegate validate``: run the gates on a workspace without changing it.

Every phase's exit gate (or one phase's, with ``--phase``) is scored against one
threshold: the last of the configured schedule (the strictest of a rising schedule), or
the one of iteration K with ``--iteration K``. Results are cached by content hash in
``DIR/.phasegate/cache/``, the only place this command writes. A state folder that is a
symbolic link or holds one, or an entry of the wrong kind (``.phasegate`` or ``cache``
a file...), is refused before anything runs (:mod:`phasegate.statedir`): exit 2, rather
than a gate that runs without its cache, so a broken workspace is seen, not papered over.

Exit status: 0 every gate passed, 1 a gate failed, 2 configuration error, bad usage or
a state folder that cannot be used.

``--shard I/N`` runs a deterministic share of the work and writes it (``--format json``
or ``sarif``) for ``phasegate merge``, which gives the verdict (:mod:`phasegate.shards`):
the shard exits 0 once its share ran, whatever it found.

On a terminal a progress line on standard error names the running check, its tool and
how many are done (:mod:`phasegate.commands._progress`); nothing of it reaches standard
output or a log that is not a terminal.

``--format sarif --include-suppressed`` also lists the findings suppression comments
silenced, as SARIF results with ``suppressions`` (kind ``inSource``); they never count in
a gate. Off by default: a code-scanning service that does not read ``suppressions``
(GitHub's, which dismisses alerts from them only through an action of its own) would
show them as open.

``--format gitlab`` writes a GitLab Code Quality report and ``--format junit`` JUnit XML
(:mod:`phasegate.formats`). JSON, SARIF, GitLab and JUnit output are indented on a
terminal and compact otherwise (``--pretty`` / ``--compact`` decide); JSON and SARIF
are encoded by pydantic's compiled encoder, so the output of a run with tens of
thousands of findings costs little next to the tools that found them.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from phasegate.cache import ResultCache, gc_paused
from phasegate.checks.base import UnknownCheck
from phasegate.cli import fail
from phasegate.commands._newcode_output import new_code_json, new_code_summary
from phasegate.commands._progress import (
    CheckObserver,
    CheckProgress,
    ObservedRunner,
    progress_wanted,
)
from phasegate.commands._state import check_state, load_or_exit
from phasegate.commands._workspace import workspace_params
from phasegate.config import Config
from phasegate.model import GateResult
from phasegate.newcode import NewCodeError, resolve_new_code
from phasegate.runner import GateRunner
from phasegate.workspace import STATE_DIR, Workspace

if TYPE_CHECKING:
    from phasegate.shards import Shard, ShardRun

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_ERROR = 2


class ValidationSetupError(Exception):
    """The gates could not be run (unknown phase, check not installed, bad options)."""


def validation_threshold(config: Config, iteration: int | None) -> float:
    """``threshold(K)`` with an iteration, else the last threshold of the schedule."""
    if iteration is not None:
        return config.threshold(iteration)
    return config.thresholds[-1]


def run_validation(
    root: Path,
    config: Config,
    *,
    phase: str | None = None,
    iteration: int | None = None,
    trusted: bool = True,
    since: str | None = None,
    baseline: str | Path | None = None,
    all_code: bool = False,
    cache: ResultCache | None = None,
    observer: CheckObserver | None = None,
    keep_suppressed: bool = False,
) -> list[GateResult]:
    """Score the exit gate of every phase (or of ``phase``). Writes only the result cache
    (``cache``: one a live process keeps in memory; else the workspace's on disk).
    ``observer`` is told how many checks will run, and when each starts and ends.
    ``keep_suppressed``: each check result carries the findings suppression comments
    silenced (``CheckResult.suppressed``, outside every score).

    New-code mode (:mod:`phasegate.newcode`) when ``since`` or ``baseline`` is given, or
    the configuration's ``[new_code]`` asks for it, unless ``all_code``."""
    runner, threshold, selected = _prepare(
        root,
        config,
        phase=phase,
        iteration=iteration,
        trusted=trusted,
        since=since,
        baseline=baseline,
        all_code=all_code,
        cache=cache,
        observer=observer,
    )
    runner.keep_suppressed = keep_suppressed
    if observer is not None:
        observer.planned(sum(len(runner.checks(name)) for name in selected))
    return [runner.evaluate(name, threshold) for name in selected]


def run_shard_validation(
    root: Path,
    config: Config,
    shard: Shard,
    *,
    phase: str | None = None,
    iteration: int | None = None,
    trusted: bool = True,
    since: str | None = None,
    baseline: str | Path | None = None,
    all_code: bool = False,
    observer: CheckObserver | None = None,
) -> ShardRun:
    """Shard ``shard`` of :func:`run_validation` (see :mod:`phasegate.shards`): its
    cache keeps the other shards' files."""
    from phasegate.shards import ShardCache, run_shard

    runner, threshold, selected = _prepare(
        root,
        config,
        phase=phase,
        iteration=iteration,
        trusted=trusted,
        since=since,
        baseline=baseline,
        all_code=all_code,
        cache=ShardCache(Path(root).resolve() / STATE_DIR / "cache"),
        observer=observer,
    )
    return run_shard(runner, selected, threshold, shard)


def _prepare(
    root: Path,
    config: Config,
    *,
    phase: str | None,
    iteration: int | None,
    trusted: bool,
    since: str | None,
    baseline: str | Path | None,
    all_code: bool,
    cache: ResultCache | None,
    observer: CheckObserver | None = None,
) -> tuple[GateRunner, float, list[str]]:
    """The runner, the threshold and the phases of a validation, every check resolved
    (a setup error runs nothing)."""
    names = [p.name for p in config.phases]
    if phase is not None and phase not in names:
        known = ", ".join(names) or "none"
        raise ValidationSetupError(f"unknown phase {phase!r} (phases: {known})")
    workspace = Workspace(root)
    new_code = None
    if not all_code:
        try:
            new_code = resolve_new_code(workspace, config, since=since, baseline=baseline)
        except NewCodeError as exc:
            raise ValidationSetupError(str(exc)) from None
    if cache is None:
        cache = ResultCache(workspace.root / STATE_DIR / "cache")
    runner_class = GateRunner if observer is None else ObservedRunner
    runner = runner_class(workspace, config, trusted=trusted, cache=cache, new_code=new_code)
    if isinstance(runner, ObservedRunner):
        runner.observer = observer
    if new_code is not None:
        new_code.auto_refresh = False  # read just now, and nothing changes the files
    threshold = validation_threshold(config, iteration)
    selected = [phase] if phase is not None else names
    try:
        for name in selected:  # resolve everything first: a setup error runs nothing
            runner.checks(name)
    except UnknownCheck as exc:
        raise ValidationSetupError(str(exc)) from None
    except ValueError as exc:  # check options rejected by the check's Options model
        raise ValidationSetupError(f"invalid check options: {exc}") from None
    return runner, threshold, selected


def _sarif(root: Path, gates: list[GateResult]) -> dict[str, Any]:
    try:  # imported by name: the SARIF writer is an optional module
        module = importlib.import_module("phasegate.sarif")
        gates_to_sarif = module.gates_to_sarif
    except (ImportError, AttributeError) as exc:
        raise ValidationSetupError(f"SARIF output is not available: {exc}") from None
    document = gates_to_sarif(root, gates)
    if not isinstance(document, dict):
        raise ValidationSetupError("the SARIF writer returned no document")
    return document


@click.command("validate")
@workspace_params()
@click.option("--phase", "phase", metavar="NAME", help="Validate only this phase.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif", "gitlab", "junit"]),
    default="text",
    show_default=True,
    help="Output format: gitlab is a GitLab Code Quality report, junit JUnit XML.",
)
@click.option(
    "--iteration",
    type=click.IntRange(min=1),
    metavar="K",
    help="Score against threshold(K) instead of the last (strictest) threshold.",
)
@click.option(
    "--untrusted",
    is_flag=True,
    help="Treat the workspace as untrusted: skip checks that run workspace code.",
)
@click.option(
    "--since",
    metavar="REF",
    help="New code: judge findings by whether they are on lines added or changed since "
    "the merge base of REF (a git reference) and HEAD. New findings of a blocking severity "
    "fail their gate whatever its score; inherited ones are reported apart.",
)
@click.option(
    "--baseline",
    "baseline",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="New code: findings not in this baseline (`phasegate baseline`) are new; "
    "baseline findings gone are reported fixed (absent). Works without git.",
)
@click.option(
    "--all-code",
    is_flag=True,
    help="Judge the whole code even when the configuration's [new_code] asks for new code.",
)
@click.option(
    "--pretty/--compact",
    default=None,
    help="Indent JSON, SARIF, GitLab and JUnit output, or not. Default: indented on a "
    "terminal, compact otherwise.",
)
@click.option(
    "--shard",
    metavar="I/N",
    help="Run shard I of N: a deterministic share of the files and of the project "
    "checks, written (--format json or sarif) for `phasegate merge`, which gives the "
    "verdict. Exits 0 once the share ran.",
)
@click.option(
    "--include-suppressed",
    is_flag=True,
    help="With --format sarif: also list the findings silenced by `phasegate: ignore` "
    "comments, as suppressed results (SARIF suppressions, kind inSource, the comment as "
    "justification). They never count in a gate.",
)
def command(
    workspace: Path,
    phase: str | None,
    fmt: str,
    iteration: int | None,
    untrusted: bool,
    since: str | None,
    baseline: Path | None,
    all_code: bool,
    pretty: bool | None,
    shard: str | None,
    include_suppressed: bool,
) -> None:
    """Run the gates on the workspace (DIR or -w DIR: the project root found from
    there; default: from the current folder) without changing it.

    Exit status: 0 all gates passed, 1 a gate failed, 2 configuration error, bad usage
    or a state folder that is a link or holds an entry of the wrong kind.
    """
    if include_suppressed and (fmt != "sarif" or shard is not None):
        fail(
            "--include-suppressed lists suppressed findings in SARIF: use it with "
            "--format sarif, without --shard"
        )
    # A short-lived run that makes many acyclic objects (findings): the cyclic garbage
    # collector's repeated scans would cost more than the work itself.
    with gc_paused():
        if shard is not None:
            _validate_shard(
                workspace,
                shard,
                phase,
                fmt,
                iteration,
                untrusted,
                pretty,
                since,
                baseline,
                all_code,
            )
        else:
            _validate(
                workspace,
                phase,
                fmt,
                iteration,
                untrusted,
                pretty,
                since,
                baseline,
                all_code,
                include_suppressed,
            )


def _write_stdout(data: bytes) -> None:
    stream = sys.stdout
    stream.flush()
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        stream.write(data.decode("utf-8"))
        stream.write("\n")
    else:
        buffer.write(data)
        buffer.write(b"\n")
    stream.flush()


def _validate_shard(
    root: Path,
    shard_text: str,
    phase: str | None,
    fmt: str,
    iteration: int | None,
    untrusted: bool,
    pretty: bool | None,
    since: str | None,
    baseline: Path | None,
    all_code: bool,
) -> None:
    """``validate --shard I/N``: run the share, write it for ``phasegate merge``."""
    from phasegate.commands._output import dump_json
    from phasegate.shards import Shard, ShardError, shard_json, shard_sarif

    if pretty is None:
        pretty = sys.stdout.isatty()
    try:
        shard = Shard.parse(shard_text)
    except ShardError as exc:
        fail(str(exc))
    if fmt not in ("json", "sarif"):
        fail(
            "--shard writes a part of a run for `phasegate merge`: "
            "use --format json or --format sarif"
        )
    check_state(root)
    loaded = load_or_exit(root)
    progress = CheckProgress(title="validating") if progress_wanted() else None
    try:
        if all_code and (since is not None or baseline is not None):
            raise ValidationSetupError("--all-code cannot be combined with --since or --baseline")
        with progress or contextlib.nullcontext():
            run = run_shard_validation(
                root,
                loaded.config,
                shard,
                phase=phase,
                iteration=iteration,
                trusted=not untrusted,
                since=since,
                baseline=Path.cwd() / baseline if baseline is not None else None,
                all_code=all_code,
                observer=progress,
            )
        if fmt == "sarif":
            try:
                document = shard_sarif(root, run)
            except ImportError as exc:
                raise ValidationSetupError(f"SARIF output is not available: {exc}") from None
        else:
            document = shard_json(root, run)
    except ValidationSetupError as exc:
        fail(str(exc))
    _write_stdout(dump_json(document, pretty=pretty))
    from phasegate.cli import finish

    finish(EXIT_PASSED)


def _validate(
    root: Path,
    phase: str | None,
    fmt: str,
    iteration: int | None,
    untrusted: bool,
    pretty: bool | None,
    since: str | None = None,
    baseline: Path | None = None,
    all_code: bool = False,
    include_suppressed: bool = False,
) -> None:
    from phasegate.commands._output import dump_json

    if pretty is None:
        pretty = sys.stdout.isatty()
    check_state(root)
    loaded = load_or_exit(root)
    progress = CheckProgress(title="validating") if progress_wanted() else None
    try:
        if all_code and (since is not None or baseline is not None):
            raise ValidationSetupError("--all-code cannot be combined with --since or --baseline")
        with progress or contextlib.nullcontext():
            gates = run_validation(
                root,
                loaded.config,
                phase=phase,
                iteration=iteration,
                trusted=not untrusted,
                since=since,
                baseline=Path.cwd() / baseline if baseline is not None else None,
                all_code=all_code,
                observer=progress,
                keep_suppressed=include_suppressed,
            )
        if fmt == "sarif":
            _write_stdout(dump_json(_sarif(root, gates), pretty=pretty))
    except ValidationSetupError as exc:
        fail(str(exc))

    from phasegate.commands._output import gates_to_json, render_findings, render_gates

    if fmt == "json":
        doc = gates_to_json(root, gates)
        summary_json = new_code_json(gates)
        if summary_json is not None:
            doc["new_code"] = summary_json
        _write_stdout(dump_json(doc, pretty=pretty))
    elif fmt == "gitlab":
        from phasegate.formats.gitlab import gates_to_gitlab

        blocking = loaded.config.new_code.blocking
        report = gates_to_gitlab(root, gates, config_file=loaded.source, blocking=blocking)
        _write_stdout(dump_json(report, pretty=pretty))
    elif fmt == "junit":
        from phasegate.formats.junit import gates_to_junit

        _write_stdout(gates_to_junit(gates, pretty=pretty))
    elif fmt == "text":
        from rich.console import Console

        console = Console(highlight=False)
        render_findings(console, gates, root)
        render_gates(console, gates)
        summary = new_code_summary(gates)
        if summary:
            console.print(summary)
        passed = sum(1 for g in gates if g.passed)
        source = loaded.source.name if loaded.source else "built-in defaults"
        console.print(f"{passed}/{len(gates)} gates passed (config: {source})")
    from phasegate.cli import finish

    finish(EXIT_PASSED if all(g.passed for g in gates) else EXIT_FAILED)
