"""``phasegate mcp``: serve the workspace's gates and sessions to MCP clients (coding
agents) over stdio. Needs the optional extra: ``pip install 'phasegate[mcp]'``.

Standard output carries the protocol only; the log goes to standard error (or
``--log-file``). Exit status: 0 when the client closed the connection, 2 when the SDK
is missing or the workspace is not a folder, 130 on Ctrl-C. Work a closed connection
abandoned is stopped as a cancelled tool call is: a session writes a ``stopped``
checkpoint and the programs it started are killed.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from phasegate.cli import fail
from phasegate.commands._workspace import workspace_params

EXIT_ERROR = 2


@click.command("mcp")
@workspace_params()
@click.option(
    "--untrusted",
    is_flag=True,
    help="Treat the workspace as untrusted: checks that run workspace code are skipped and "
    "sessions start no persona that runs programs the workspace configures.",
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the server's log to this file (stderr otherwise).",
)
@click.option("-v", "--verbose", count=True, help="More logging.")
def command(workspace: Path, untrusted: bool, log_file: str | None, verbose: int) -> None:
    """Serve the workspace's gates, findings and sessions over MCP (stdio); the
    workspace is DIR or -w DIR (the project root found from there)."""
    from phasegate.mcp_server import SDK_REQUIREMENT, sdk_problem

    problem = sdk_problem()
    if problem is not None:
        fail(
            f"phasegate mcp needs the MCP SDK ({problem}): install phasegate[mcp] "
            f"(pip install 'phasegate[mcp]', or pip install '{SDK_REQUIREMENT}')"
        )
    root = workspace
    level = logging.WARNING - 10 * min(verbose, 2)
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler()
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])  # before the SDK configures its own

    from phasegate.cli import finish
    from phasegate.mcp_server.server import serve

    try:
        serve(root, trusted=not untrusted)
    except KeyboardInterrupt:
        finish(130)
    # the client closed the connection: end now, without waiting for work it abandoned
    finish(0)
