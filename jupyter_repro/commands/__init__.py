"""Subcommands of ``jupyter repro``: one module each, imported only when chosen."""
