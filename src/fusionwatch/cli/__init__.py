"""Command-line adapter: parses arguments, calls the pipeline, prints. No clinical logic here.

Each command family lives in its own module and registers itself on :data:`app` when imported below.
"""

from __future__ import annotations

from fusionwatch.cli._app import app
# command modules register themselves on import:
from fusionwatch.cli import detect as _detect  # noqa: F401,E402
from fusionwatch.cli import followup as _followup  # noqa: F401,E402
from fusionwatch.cli import measure as _measure  # noqa: F401,E402
from fusionwatch.cli import motion as _motion  # noqa: F401,E402
from fusionwatch.cli import care as _care  # noqa: F401,E402
from fusionwatch.cli import simulate as _simulate  # noqa: F401,E402
from fusionwatch.cli import demo as _demo  # noqa: F401,E402

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point ``fusionwatch``."""
    app()
