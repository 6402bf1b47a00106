"""The Typer application and the one place where domain errors become a message and an exit code."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from fusionwatch.errors import FusionwatchError
from fusionwatch.records import parse_date

if TYPE_CHECKING:
    from fusionwatch.store import Store

__all__ = [
    "app", "console", "err_console", "escape", "EXIT_USER_ERROR", "EXIT_SOME_REFUSED", "DbOption", "open_store",
    "optional_date",
]

EXIT_USER_ERROR = 2
EXIT_SOME_REFUSED = 1
"""A batch command stored what it could and refused some inputs (each named); 2 means nothing was done."""
console = Console()
err_console = Console(stderr=True)
# Rich fixes the width for good when COLUMNS is set as the console is made (at import); follow the terminal and
# COLUMNS at each print instead, as a console made later would (a width of None is computed when printing)
console.width = err_console.width = None  # type: ignore[assignment]


def _click_exceptions() -> Any:
    """Click's exception classes: vendored by Typer (``typer._click``, 0.2x) or Click's own (older Typer)."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - Typer before it vendored Click
        import click.exceptions as exceptions  # type: ignore[no-redef]
    return exceptions


_CLICK = _click_exceptions()
_NO_ARGS_IS_HELP = getattr(_CLICK, "NoArgsIsHelpError", ())
"""Raised for a group called without arguments to print its help (``no_args_is_help``): help, not an error."""


class _Group(TyperGroup):
    """Root command group: turns any FusionwatchError raised by a command into ``error: ...`` and exit code 2, as it
    does a missing, malformed or unknown option, an extra argument or an unknown command (Typer's usage box)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # the root's own options (`fusionwatch --jsno ...`) are parsed here, before invoke
        try:
            return super().parse_args(ctx, args)
        except _CLICK.UsageError as exc:
            if isinstance(exc, _NO_ARGS_IS_HELP):
                raise
            err_console.print(f"[bold red]error:[/] {escape(_usage_error(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_USER_ERROR) from None

    def invoke(self, ctx: Any) -> Any:
        from fusionwatch.cli._utf8 import check_context

        try:
            check_context(ctx)  # text that is not UTF-8 in any argument: one error line, before the command runs
            return super().invoke(ctx)
        except FusionwatchError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_USER_ERROR) from None
        except typer.BadParameter as exc:  # a missing or malformed option of any command (was Typer's usage box)
            err_console.print(f"[bold red]error:[/] {escape(_parameter_error(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_USER_ERROR) from None
        except _CLICK.UsageError as exc:  # an unknown option or command, an extra argument (was the usage box)
            if isinstance(exc, _NO_ARGS_IS_HELP):
                raise
            err_console.print(f"[bold red]error:[/] {escape(_usage_error(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_USER_ERROR) from None
        except OSError as exc:
            if exc.filename is None:  # not about a path the user gave: a real fault, keep its traceback
                raise
            # a folder or file the user named that cannot be read or written (--out /no/such/dir, --ics, ...)
            what = f"cannot use {exc.filename}: {exc.strerror or exc}; check the path and its permissions."
            err_console.print(f"[bold red]error:[/] {escape(what)}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_USER_ERROR) from None


def _parameter_error(exc: typer.BadParameter) -> str:
    """One line for a missing or malformed option: the command, what is wrong (Typer's own words, e.g. "Missing option
    '--reason'."), what the option is for, and where the options are listed. Nothing has run when this is raised."""
    path = getattr(exc.ctx, "command_path", "") or "fusionwatch"
    what = exc.format_message()
    param = exc.param
    helps = getattr(param, "help", None)
    if helps and type(exc).__name__ == "MissingParameter":  # say what the missing option is for
        what += f" ({helps.rstrip('.')}.)"
    what = what.rstrip() if what.rstrip().endswith((".", ".)")) else what.rstrip() + "."
    return _without_passwords(f"{path}: {what} Nothing was changed; `{path} --help` lists the options.")


def _usage_error(exc: Any) -> str:
    """One line for a usage mistake other than a missing or malformed option: the command, what is wrong - for a
    mistyped option its name and the nearest valid one when one is close (``--jsno``: did you mean ``--json``?) - and
    where the options are listed. Nothing has run when this is raised."""
    path = getattr(exc.ctx, "command_path", "") or "fusionwatch"
    if isinstance(exc, _CLICK.NoSuchOption):
        what = f"no such option {exc.option_name}"
        close = sorted(exc.possibilities or ())
        what += f"; did you mean {' or '.join(close)}?" if close else "."
    else:
        what = exc.format_message().rstrip()
        what = what if what.endswith((".", "?")) else what + "."
    return _without_passwords(f"{path}: {what} Nothing was changed; `{path} --help` lists the options.")


_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*):[^\s@]*@")


def _without_passwords(text: str) -> str:
    """``text`` with the password of any URL in it masked (``postgresql://fw:***@host/db``), as the database-open
    error masks it: a usage error quotes the arguments it could not place, and a --db URL left after an option
    without its value is one of them."""
    return _URL_PASSWORD.sub(r"\1:***@", text)


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", envvar="FUSIONWATCH_DB", help="Database URL or SQLite file [default: sqlite:///fusionwatch.db]."
    ),
]
"""The ``--db`` option shared by every command that reads or writes the care record."""


def open_store(db: str | None) -> Store:
    """The store behind ``--db`` (imported lazily so commands without a database start fast)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, DatabaseError

    from fusionwatch.errors import InputError
    from fusionwatch.store import Store

    try:
        return Store(db)
    except (DatabaseError, ArgumentError) as exc:  # a wrong --db or not a database: say which and why
        try:
            shown = make_url(db).render_as_string(hide_password=True) if db else "the default database"
        except ArgumentError:
            shown = repr(db)
        why = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise InputError(f"Cannot open the database {shown}: {why}. Check --db (or FUSIONWATCH_DB).") from None


def optional_date(text: str | None, what: str) -> dt.date | None:
    """``None`` for an absent option, else the parsed date (InputError naming ``what`` when it is not one)."""
    return None if text is None else parse_date(text, what)


app = typer.Typer(
    cls=_Group,
    name="fusionwatch",
    help="Radiographic follow-up and recovery care after L5-S1 spinal fusion.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Radiographic follow-up and recovery care after L5-S1 spinal fusion."""


@app.command()
def version() -> None:
    """Print the fusionwatch version."""
    from fusionwatch import __version__

    console.print(__version__)
