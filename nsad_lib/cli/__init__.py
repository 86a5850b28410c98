"""The ``nsad-lib`` command line: one typer app, one module per group of commands."""

from __future__ import annotations

from nsad_lib.cli._app import app, main

__all__ = ["app", "main"]
