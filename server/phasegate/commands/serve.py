"""``phasegate serve``: the language server, on stdio (default) or TCP."""

from __future__ import annotations

import logging
import sys

import click


@click.command("serve")
@click.option("--stdio", "stdio", is_flag=True, help="Talk LSP on stdin/stdout (the default).")
@click.option("--tcp", "port", type=click.IntRange(1, 65535), help="Listen on this TCP port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address for --tcp.")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the server's log to this file (stderr otherwise).",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv: protocol messages).")
def command(stdio: bool, port: int | None, host: str, log_file: str | None, verbose: int) -> None:
    """Start the language server (stdio, or --tcp PORT)."""
    level = logging.WARNING - 10 * min(verbose, 2)
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler()
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    if verbose < 2:
        # pygls' warnings are about the client's routine messages (a $/cancelRequest for
        # a request already answered): noise in the editor's output unless asked for
        logging.getLogger("pygls").setLevel(logging.WARNING if verbose else logging.ERROR)

    from phasegate.lsp.server import create_server

    server = create_server()
    if port is not None and not stdio:
        click.echo(f"phasegate language server on {host}:{port}", err=True)
        server.start_tcp(host, port)
    else:
        server.start_io(sys.stdin.buffer, sys.stdout.buffer)
