"""Command-line text that is not UTF-8, refused with one line before a command runs.

A terminal set to Latin-1 sends ``café`` as the bytes ``caf\\xe9``; Python keeps the byte that is not UTF-8 as a lone
surrogate (``'caf\\udce9'``), which nothing can store or print: before, a note, a flag or a patient key typed so ended
in a traceback from the database driver ("surrogates not allowed"). :func:`check_context` is called by the root
command group (:class:`fusionwatch.cli._app._Group`) on the raw arguments of every command and raises
:class:`~fusionwatch.errors.InputError` naming the option, the byte and its position, so nothing runs.

Paths are the exception: a film or folder whose name is not UTF-8 exists on disk and can be read (the commands that
take paths deal with such names themselves, e.g. ``ingest`` refuses such a film by name with a rename hint), so an
argument naming an existing path, or a new one in an existing folder (``--out``), is let through.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from fusionwatch.errors import InputError

__all__ = ["check_arguments", "check_context", "non_utf8_byte", "printable"]


def non_utf8_byte(text: str) -> tuple[int, int] | None:
    """``(byte, position)`` of the first byte of ``text`` that was not UTF-8 (a lone surrogate), else ``None``."""
    for i, ch in enumerate(text):
        if 0xDC80 <= ord(ch) <= 0xDCFF:  # surrogateescape: one undecodable byte 0x80-0xff
            return ord(ch) - 0xDC00, i
        if 0xD800 <= ord(ch) <= 0xDFFF:
            return ord(ch), i
    return None


def printable(text: str) -> str:
    """``text`` with its bytes that are not UTF-8 shown as ``\\xNN`` (as :func:`fusionwatch.io.display_name`)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") if non_utf8_byte(text) else text


def _is_path(text: str) -> bool:
    parent = os.path.dirname(text)
    return os.path.lexists(text) or (bool(parent) and os.path.isdir(parent))


def _option_names(command: Any) -> set[str]:
    """Names of ``command``'s options that take a value (duck-typed: Typer vendors its own click)."""
    return {n for p in getattr(command, "params", ()) if getattr(p, "param_type_name", "") == "option"
            and not getattr(p, "is_flag", False) and not getattr(p, "count", False) for n in getattr(p, "opts", ())}


def _value_options(ctx: Any, args: Sequence[str]) -> set[str]:
    """Names of the options that take a value, of the command ``args`` invoke below the group of ``ctx``."""
    command, names = ctx.command, set()
    for arg in args:
        names |= _option_names(command)
        if not hasattr(command, "get_command") or arg.startswith("-"):
            continue
        sub = command.get_command(ctx, arg)
        if sub is None:
            break
        command = sub
    return names | _option_names(command)


def check_arguments(args: Sequence[str], ctx: Any = None) -> None:
    """Refuse the first argument holding text that is not UTF-8 (see the module's doc); ``ctx`` is the root group's
    click context, used to name the option the text was given to.

    Raises
    ------
    InputError
        "--note is not UTF-8 text ('caf\\xe9': byte 0xe9 at position 3): set the terminal to UTF-8 and type it
        again. Nothing was changed."
    """
    for k, arg in enumerate(args):
        option, value = (arg.split("=", 1) if arg.startswith("--") and "=" in arg else ("", arg))
        bad = non_utf8_byte(value)
        if bad is None or _is_path(value):
            continue
        if not option and k > 0 and args[k - 1].startswith("-"):
            option = args[k - 1] if ctx is None or args[k - 1] in _value_options(ctx, args[:k]) else ""
        what = option or "A command-line argument"
        byte, at = bad
        raise InputError(
            f"{what} is not UTF-8 text ('{printable(value)}': byte 0x{byte:02x} at position {at}): set the terminal "
            "to UTF-8 and type it again. Nothing was changed."
        )


def check_context(ctx: Any) -> None:
    """:func:`check_arguments` on the arguments the root group ``ctx`` is about to hand to a command (Typer keeps the
    command's name apart from the rest, in ``_protected_args`` in the click it vendors, ``protected_args`` in click)."""
    first = getattr(ctx, "_protected_args", None)
    if first is None:
        first = getattr(ctx, "protected_args", ())
    check_arguments([*first, *ctx.args], ctx)
