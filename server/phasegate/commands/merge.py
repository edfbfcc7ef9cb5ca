"""``phasegate merge``: the verdict of the shards of one ``validate --shard I/N`` run.

Reads the outputs of every shard (JSON or SARIF, mixed as they come), refuses shards
that do not make one whole (:mod:`phasegate.shards`: another split, configuration,
commit, phasegate version, threshold, trust or new-code reference; a shard given twice or
missing), rebuilds every gate as a single ``validate`` would and writes it in any of
validate's formats. It runs no check and writes nothing in the workspace.

The workspace's checkout (``-w/--workspace``, also ``-C/--directory``; default: the
project root found from the current folder) gives the configuration, which
must be the one the shards ran with, and the lines SARIF fingerprints are computed from,
as ``validate`` does: run the merge in a checkout of the commit the shards validated.

Exit status: 0 every gate passed, 1 a gate failed, 2 shards that cannot be merged,
configuration error or bad usage.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from phasegate.cli import fail
from phasegate.commands._state import load_or_exit
from phasegate.commands._workspace import workspace_params

if TYPE_CHECKING:
    from phasegate.config_loader import LoadedConfig
    from phasegate.model import GateResult

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_ERROR = 2


@click.command("merge")
@click.argument(
    "files",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@workspace_params(positional=False, extra_names=("-C", "--directory"))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "sarif", "gitlab", "junit"]),
    default="text",
    show_default=True,
    help="Output format, as for validate.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the output to this file instead of standard output.",
)
@click.option(
    "--pretty/--compact",
    default=None,
    help="Indent JSON, SARIF, GitLab and JUnit output, or not. Default: indented on a "
    "terminal, compact otherwise.",
)
def command(
    files: tuple[Path, ...],
    workspace: Path,
    fmt: str,
    output: Path | None,
    pretty: bool | None,
) -> None:
    """Merge the outputs of `validate --shard I/N` (FILES: every shard, JSON or SARIF)
    into the verdict of one validate run. The workspace (-w DIR, or -C DIR) is the
    checkout of the commit the shards validated: its configuration must be theirs.

    Exit status: 0 all gates passed, 1 a gate failed, 2 shards that do not make one
    whole (another split, configuration or commit, a shard missing or given twice),
    configuration error or bad usage.
    """
    from phasegate.cache import gc_paused

    with gc_paused():
        _merge(files, workspace, fmt, output, pretty)


def _merge(
    files: tuple[Path, ...],
    root: Path,
    fmt: str,
    output: Path | None,
    pretty: bool | None,
) -> None:
    from phasegate.changes import head_commit
    from phasegate.runner import GateRunner
    from phasegate.shards import ShardMismatch, merge_shards, read_shard
    from phasegate.workspace import Workspace

    loaded = load_or_exit(root)
    try:
        inputs = [read_shard(str(path), path.read_bytes()) for path in files]
        trusted = bool(inputs[0].payload.get("trusted", True))
        runner = GateRunner(Workspace(root), loaded.config, trusted=trusted)
        gates = merge_shards(runner, inputs)
        commit = inputs[0].payload.get("commit")
        here = head_commit(root) if commit else None
        if commit and here and here != commit:
            raise ShardMismatch(
                f"the shards validated commit {commit[:12]} and {root} is at {here[:12]}: "
                "merge in a checkout of the commit the shards validated"
            )
    except ShardMismatch as exc:
        fail(f"cannot merge: {exc}")
    except OSError as exc:
        fail(f"cannot read {exc.filename}: {exc.strerror or exc}")

    out: IO[bytes] | None = None
    try:
        if output is not None:
            try:
                out = output.open("wb")
            except OSError as exc:
                fail(f"cannot write {output}: {exc.strerror or exc}")
        if pretty is None:
            pretty = output is None and sys.stdout.isatty()
        _write(root, gates, fmt, pretty, loaded, len(inputs), out)
    finally:
        if out is not None:
            out.close()
    from phasegate.cli import finish

    finish(EXIT_PASSED if all(g.passed for g in gates) else EXIT_FAILED)


def _emit(data: bytes, out: IO[bytes] | None) -> None:
    if out is not None:
        out.write(data + b"\n")
        return
    from phasegate.commands.validate import _write_stdout

    _write_stdout(data)


def _write(
    root: Path,
    gates: list[GateResult],
    fmt: str,
    pretty: bool,
    loaded: LoadedConfig,
    shards: int,
    out: IO[bytes] | None,
) -> None:
    """``gates`` in ``fmt``, as ``validate`` writes them."""
    from phasegate.commands._output import dump_json

    if fmt == "json":
        from phasegate.commands._newcode_output import new_code_json
        from phasegate.commands._output import gates_to_json

        doc = gates_to_json(root, gates)
        summary_json = new_code_json(gates)
        if summary_json is not None:
            doc["new_code"] = summary_json
        _emit(dump_json(doc, pretty=pretty), out)
    elif fmt == "sarif":
        from phasegate.sarif import gates_to_sarif

        _emit(dump_json(gates_to_sarif(root, gates), pretty=pretty), out)
    elif fmt == "gitlab":
        from phasegate.formats.gitlab import gates_to_gitlab

        blocking = loaded.config.new_code.blocking
        report = gates_to_gitlab(root, gates, config_file=loaded.source, blocking=blocking)
        _emit(dump_json(report, pretty=pretty), out)
    elif fmt == "junit":
        from phasegate.formats.junit import gates_to_junit

        _emit(gates_to_junit(gates, pretty=pretty), out)
    else:
        _write_text(root, gates, loaded, shards, out)


def _write_text(
    root: Path,
    gates: list[GateResult],
    loaded: LoadedConfig,
    shards: int,
    out: IO[bytes] | None,
) -> None:
    import io

    from rich.console import Console

    from phasegate.commands._newcode_output import new_code_summary
    from phasegate.commands._output import render_findings, render_gates

    text = io.StringIO() if out is not None else None
    console = Console(highlight=False, file=text) if text is not None else Console(highlight=False)
    render_findings(console, gates, root)
    render_gates(console, gates)
    summary = new_code_summary(gates)
    if summary:
        console.print(summary)
    passed = sum(1 for g in gates if g.passed)
    source = loaded.source.name if loaded.source else "built-in defaults"
    console.print(
        f"{passed}/{len(gates)} gates passed (config: {source}; merged from {shards} "
        f"shard{'s' if shards != 1 else ''})"
    )
    if out is not None and text is not None:
        out.write(text.getvalue().encode("utf-8"))
