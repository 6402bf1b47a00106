"""Command-line adapter: parses arguments, calls the pipeline, prints. No clinical logic here.

Each command family lives in its own module and registers itself on :data:`app` when imported below.
"""

from __future__ import annotations

# Each command module registers its commands on `app` when imported.
from fusionwatch.cli import care, demo, detect, export, followup, measure, motion, simulate  # noqa: F401
from fusionwatch.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point ``fusionwatch``."""
    app()
