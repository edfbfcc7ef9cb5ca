"""CLI subcommands: one module per subcommand."""
