"""CLI helpers shared by ``prom``, ``symptoms`` and ``override``: entry ids, marking an entry entered in error.

An adapter: the rules (who may retract what, what a retracted entry still counts for) live in
:meth:`fusionwatch.store.Store.retract`; this module parses and prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from fusionwatch.cli._app import console, escape, open_store
from fusionwatch.errors import InputError

__all__ = ["AllOption", "ByOption", "IdOption", "ReasonOption", "entry_table", "print_entries", "retract_entry",
           "status_text", "parse_entry_id"]

IdOption = Annotated[str, typer.Option("--id", help="The entry's id, as the `list` subcommand shows it.")]
ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why the entry is wrong (e.g. 'wrong patient', 'wrong date'); required.")
]
ByOption = Annotated[
    str, typer.Option("--by", "--author", help="Who marks it entered in error (stored with the time).")
]
AllOption = Annotated[
    bool, typer.Option("--all", help="Also list entries marked entered in error, with who, when and why (the audit).")
]

_ADD = {"prom": "fusionwatch prom add", "symptoms": "fusionwatch symptoms add", "override": "fusionwatch override add"}


def entry_table(title: str, columns: Sequence[str], ids: Iterable[int]) -> Table:
    """A listing table readable at 80 columns: the id and date columns never wrap nor shrink below their content
    (the id is what `retract --id` takes, a date cut in two is misread); every other column folds."""
    id_width = max((len(str(i)) for i in ids), default=2)
    table = Table(title=title)
    for col in columns:
        if col == "id":
            table.add_column(col, no_wrap=True, min_width=max(id_width, 2))
        elif col == "date":
            table.add_column(col, no_wrap=True, min_width=10)
        else:
            table.add_column(col, overflow="fold")
    return table


def print_entries(what: str, patient: str, show_all: bool, columns: Sequence[str], records: Sequence[Any],
                  row: Callable[[Any], Sequence[str]], none: str) -> None:
    """Print a patient's entries as an :func:`entry_table` titled "``what`` of ``patient``" (with ``--all``: "with
    those entered in error"), one ``row(record)`` each, retracted ones dimmed; ``none`` (e.g. "no PROM entries")
    when there are none."""
    title = f"{what} of {escape(patient)}" + (" (with those entered in error)" if show_all else "")
    table = entry_table(title, columns, (r.id for r in records))
    for r in records:
        table.add_row(*row(r), style="dim" if r.retracted else None)
    console.print(table if records else f"{none} for {escape(patient)}", highlight=False, soft_wrap=True)


def parse_entry_id(text: str) -> int:
    """The ``--id`` value as an int (read as text: a wrong value is an ``error:`` line, not a usage box)."""
    value = text.strip()
    if not value.isdecimal() or not value.isascii():
        raise InputError(f"--id must be the entry's number as the `list` subcommand shows it, got {text!r}.")
    return int(value)


def status_text(record: Any) -> str:
    """``standing``, or ``entered in error YYYY-MM-DD by WHO: WHY`` for a retracted entry (``record.retracted``)."""
    r = record.retracted
    if r is None:
        return "standing"
    return f"entered in error {r.at:%Y-%m-%d %H:%M} UTC by {r.by}: {r.reason}"


def retract_entry(kind: str, patient: str, entry_id: str, reason: str, by: str, db: str | None) -> None:
    """Mark one entry entered in error (:meth:`Store.retract`) and say what was done and how to correct it."""
    from fusionwatch.store import ENTRY_LISTS, ENTRY_NAMES  # the store's names (lazy: the store loads SQLAlchemy)

    number = parse_entry_id(entry_id)
    store = open_store(db)
    try:
        rec = store.retract(patient, kind, number, reason=reason, author=by)
    finally:
        store.close()
    where = f" ({rec.visit_label}, {rec.visit_date.isoformat()})" if rec.visit_date else ""
    console.print(f"marked {ENTRY_NAMES[kind]} {rec.id} of {escape(patient)}{escape(where)} entered in error by "
                  f"{escape(by.strip())}: {escape(reason.strip())}", highlight=False, soft_wrap=True)
    console.print(f"It is kept for the audit (`{ENTRY_LISTS[kind]} {escape(patient)} --all`) and left out of reports, "
                  "care advice, red-flag triage, trends and exports. To correct it, add the right entry with "
                  f"`{_ADD[kind]}`.",
                  highlight=False, soft_wrap=True)
