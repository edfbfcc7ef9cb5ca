"""``phasegate config``: show the effective configuration, or its JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import click

from phasegate.commands._state import config_failed, print_warnings
from phasegate.commands._workspace import workspace_params
from phasegate.config import Config
from phasegate.config_loader import ConfigError, load
from phasegate.docgen import config_to_toml


@click.command("config")
@workspace_params()
@click.option("--schema", is_flag=True, help="Print the JSON Schema of the configuration.")
@click.option("--show", is_flag=True, help="Print the effective configuration (the default).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["toml", "json"]),
    default="toml",
    show_default=True,
    help="Format of --show.",
)
def command(workspace: Path, schema: bool, show: bool, fmt: str) -> None:
    """Show the configuration of the workspace (DIR or -w DIR: the project root found
    from there) or the JSON Schema of Config.

    Exit status: 0, or 2 when the configuration has errors (printed as
    file:line:col: key: message; warnings as file:line:col: warning: key: message).
    """
    if schema and show:
        raise click.UsageError("--schema and --show are mutually exclusive")
    if schema:
        click.echo(json.dumps(Config.model_json_schema(), indent=2))
        return
    root = workspace
    try:
        loaded = load(root)
    except ConfigError as exc:
        config_failed(exc)
    print_warnings(loaded.warnings)
    if fmt == "json":
        click.echo(json.dumps(loaded.config.model_dump(mode="json"), indent=2))
        return
    source = str(loaded.source) if loaded.source else "built-in defaults"
    click.echo(f"# effective configuration (from {source})")
    click.echo(config_to_toml(loaded.config, comments=False, full_items=True), nl=False)
