"""One module per CLI subcommand (pre-commit style)."""
