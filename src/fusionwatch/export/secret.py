"""The site's pseudonym secret, read for de-identified exports (an adapter: environment and files; the core
:mod:`fusionwatch.pseudonym` only takes the secret as an argument). Callers read it once per export and pass it on.

The site secret (:func:`site_secret`), first match wins:

1. the environment variable ``FUSIONWATCH_DEID_SECRET`` (text of at least :data:`MIN_SECRET_CHARS` characters; give
   every export of a study the same);
2. for a SQLite database file, the file ``<database>.deid-secret`` beside it, created holding 64 hexadecimal
   characters (32 random bytes; owner read/write only, atomically) on the first de-identified export; a file others
   can read or write is refused. Keep
   it with the database and out of shared exports: whoever holds it can map keys to pseudonyms.

A PostgreSQL or in-memory database without the variable is refused (there is no file to keep the secret beside).

The pseudonym series: the database records the fingerprint of the secret its de-identified exports use
(:func:`fusionwatch.pseudonym.secret_fingerprint`) on first use. Every later export must use the same secret: a missing
secret file is not silently re-created, and a variable that is not the recorded secret (or, in a database from before
fingerprints, differs from the file beside it) is refused, naming the way forward (restore the file, unset or correct
the variable). A new series is started only on purpose (``fusionwatch export pseudonym-series --start-new --reason
TEXT``), and recorded with its reason.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from fusionwatch.errors import InputError
from fusionwatch.pseudonym import secret_fingerprint

__all__ = ["MIN_SECRET_CHARS", "SECRET_ENV", "record_first_series", "site_secret", "start_new_series"]

SECRET_ENV = "FUSIONWATCH_DEID_SECRET"
MIN_SECRET_CHARS = 32
"""The shortest ``FUSIONWATCH_DEID_SECRET`` accepted: the database records an HMAC fingerprint of the secret
(:func:`fusionwatch.pseudonym.secret_fingerprint`), fast to compute, so a short secret could be found by trying
guesses offline against it."""
_EXPECTED = "64 hexadecimal characters when fusionwatch created it, or the value given to " + SECRET_ENV


def site_secret(store: Any, *, record: bool = True) -> bytes:
    """The site's pseudonym secret for ``store`` (a :class:`fusionwatch.store.Store`; rules in the module notes),
    checked against the pseudonym series recorded in it.

    The secret in use is the variable, else the file when it exists, else none. None: the file is created only while
    no series is recorded (else refused, phrased by where the series' secret came from). Before any series, a variable
    that differs from an existing file is refused. Then the fingerprints are compared; a mismatch is refused with a
    message built from where the secret in use came from, where the series' came from and whether the file exists.

    Parameters
    ----------
    record : bool
        ``False``: do not record the first series yet (an export that may still refuse its inputs or fail to write):
        the caller records it with :func:`record_first_series` once its files are written.

    Raises
    ------
    InputError
        For a database that is not a SQLite file when ``FUSIONWATCH_DEID_SECRET`` is not set; a variable under
        :data:`MIN_SECRET_CHARS` characters; a secret file that cannot be created, read, or can be read or written by
        others, or is empty; a missing secret or one that is not the current series' (the message says which and the
        way forward: restore the file, unset or correct the variable, or start a new series on purpose).
    """
    series = store.pseudonym_series()  # first: an export racing this one may record the series it creates the file for
    current = series[-1] if series else None
    secret, source, path = _secret_in_use(store)
    if secret is None:
        if current is not None:
            raise InputError(_missing_message(current, path))
        secret, source = _create_and_read(path), "file"  # type: ignore[arg-type]
    fingerprint = secret_fingerprint(secret)
    if current is None:
        if source == "environment" and path is not None and path.is_file() \
                and secret_fingerprint(_read_secret_file(path)) != fingerprint:
            # a database from before fingerprints were recorded: its exports may have used the file
            raise InputError(f"{SECRET_ENV} is set and differs from the pseudonym secret file {path} beside the "
                             "database, which earlier de-identified exports may have used: its pseudonyms would not "
                             f"link to theirs. Unset {SECRET_ENV} to use the file{_FORWARD}")
        if record:
            store.record_pseudonym_series(fingerprint, source, "first de-identified export")
        return secret
    if fingerprint != current.fingerprint:
        raise InputError(_mismatch_message(current, series, fingerprint, source, path))
    return secret


def start_new_series(store: Any, reason: str) -> bytes:
    """Start a new pseudonym series with the secret now in use (the variable, else the file, created when missing),
    recorded with ``reason``: every patient gets a new pseudonym, not linked to earlier exports.

    Raises
    ------
    InputError
        Without a reason; when the secret in use is already the current series' one; as :func:`site_secret` for a
        secret that cannot be found, created or read.
    """
    if not reason.strip():
        raise InputError("Give the reason for starting a new pseudonym series (it is recorded with it).")
    secret, source, path = _secret_in_use(store)
    if secret is None:
        secret, source = _create_and_read(path), "file"  # type: ignore[arg-type]
    series = store.pseudonym_series()
    current = series[-1] if series else None
    fingerprint = secret_fingerprint(secret)
    if current is not None and fingerprint == current.fingerprint:
        raise InputError(f"The secret in use (from {_from(source, path)}) is already the current pseudonym "
                         f"series' one, recorded {current.started_at:%Y-%m-%d %H:%M} UTC. To start a new series, "
                         f"first move the secret file away (keep it) or set {SECRET_ENV} to a new secret.")
    store.record_pseudonym_series(fingerprint, source, reason.strip())
    return secret


def _secret_in_use(store: Any) -> tuple[bytes | None, str, Path | None]:
    """(secret, where it came from, the secret file's path): the variable, else the file when it exists, else
    ``None``."""
    env = os.environ.get(SECRET_ENV, "")
    path = _secret_path(str(store.url))
    if env and len(env.strip()) < MIN_SECRET_CHARS:
        raise InputError(f"{SECRET_ENV} is too short ({len(env.strip())} characters; at least {MIN_SECRET_CHARS}): "
                         "the database records a fast keyed hash of the secret, so a short one can be guessed "
                         "offline. Use a long random value, e.g. `python -c 'import secrets; "
                         "print(secrets.token_hex(32))'` (the same for every export of a study; keep it private).")
    if env:
        return env.encode("utf-8"), "environment", path
    if path is None:
        raise InputError(f"De-identification needs a site secret for the pseudonyms: set {SECRET_ENV} (the same "
                         "value for every export of a study; keep it private) for a database that is not a SQLite "
                         "file.")
    if path.exists():
        return _read_secret_file(path), "file", path
    return None, "file", path


def _create_and_read(path: Path) -> bytes:
    try:
        _create_secret_file(path)
    except OSError as exc:  # a read-only folder, a full disk: say which file and the way round
        raise InputError(f"Cannot create the pseudonym secret file {path}: {exc.strerror or exc}. Make its "
                         f"folder writable, or set {SECRET_ENV} (the same value for every export of a study; "
                         "keep it private).") from None
    return _read_secret_file(path)


def _missing_message(current: Any, path: Path | None) -> str:
    """No secret in use (no variable, no file) but a series recorded: phrased by where its secret came from."""
    if current.source == "environment":
        return (f"This database's de-identified exports {_since(current)} used the secret in {SECRET_ENV}, which is "
                f"not set now: set it to that secret (a new secret file {path} would give every patient a new "
                f"pseudonym, not linked to earlier exports){_FORWARD}")
    return (f"The pseudonym secret file {path} is missing, but this database's de-identified exports "
            f"{_since(current)} used a secret: a new one would give every patient a new pseudonym, not linked to "
            f"earlier exports. Restore {path} from backup (chmod 600), or set {SECRET_ENV} to that secret{_FORWARD}")


def _mismatch_message(current: Any, series: list[Any], fingerprint: str, source: str, path: Path | None) -> str:
    """The secret in use is not the current series': built from where each came from and whether the file exists."""
    file_exists = path is not None and path.is_file()
    used = f"this database's de-identified exports {_since(current)} used (from {_from(current.source, path)})"
    if source == "environment":
        head = f"{SECRET_ENV} is not the secret {used}: its pseudonyms would not link to theirs. "
        if current.source == "environment":
            fix = "Correct it: set it to the secret used"
        elif file_exists:
            fix = f"Unset {SECRET_ENV} (the file {path} is then used), or set it to the secret used"
        else:
            fix = (f"Restore {path} from backup (chmod 600) and unset {SECRET_ENV}, or set it to the secret used "
                   f"(the file {path} is missing)")
    elif current.source == "environment":
        head = (f"{SECRET_ENV} is not set, and the pseudonym secret file {path} in use is not the secret {used}: its "
                "pseudonyms would not link to theirs. ")
        fix = f"Set {SECRET_ENV} to the secret used"
    else:
        head = (f"The pseudonym secret file {path} is not the secret {used}: it was replaced, and its pseudonyms would "
                "not link to theirs. ")
        fix = "Restore the original file from backup (chmod 600)"
    older = next((s for s in series[:-1] if s.fingerprint == fingerprint), None)
    note = (f" (The secret in use is that of an earlier pseudonym series, started {older.started_at:%Y-%m-%d}: an "
            "old backup?)") if older is not None else ""
    return head + fix + note + _FORWARD


def record_first_series(store: Any, secret: bytes) -> None:
    """Record ``secret`` (read with ``site_secret(store, record=False)``) as the database's first pseudonym series,
    once an export using it is written; nothing when a series is already recorded."""
    if store.pseudonym_series():
        return
    source = "environment" if os.environ.get(SECRET_ENV, "").encode("utf-8") == secret else "file"
    store.record_pseudonym_series(secret_fingerprint(secret), source, "first de-identified export")


_FORWARD = (". To start a new pseudonym series on purpose (every patient gets a new pseudonym; recorded in the "
            "database), run `fusionwatch export pseudonym-series --start-new --reason TEXT`.")


def _since(series: Any) -> str:
    return f"since {series.started_at:%Y-%m-%d}"


def _from(source: str, path: Path | None) -> str:
    return f"the variable {SECRET_ENV}" if source == "environment" else f"the file {path or 'beside it'}"


def _secret_path(database_url: str) -> Path | None:
    """``<database>.deid-secret`` for a SQLite file database, else ``None``."""
    prefix = "sqlite:///"
    db_file = database_url[len(prefix):] if database_url.startswith(prefix) else ""
    return None if not db_file or db_file == ":memory:" else Path(db_file + ".deid-secret")


def _read_secret_file(path: Path) -> bytes:
    if path.exists() and not path.is_file():
        raise InputError(f"The pseudonym secret file {path} is not a file (a folder?). It must be a text file holding "
                         f"the site secret ({_EXPECTED}); put the file from backup there.")
    # others could map keys to pseudonyms, or plant a secret they know (POSIX modes; Windows has none to check)
    if os.name == "posix" and (mode := path.stat().st_mode) & 0o077:
        raise InputError(f"The pseudonym secret file {path} can be read or written by others (mode {mode & 0o777:o}); "
                         f"make it owner-only (chmod 600 {path}) and check it is the site's secret.")
    try:
        text = path.read_bytes().decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:  # a folder, an unreadable or a binary file: a user's mistake
        why = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else (
            "it is a folder" if path.is_dir() else str(exc.strerror or exc))
        raise InputError(f"Cannot read the pseudonym secret file {path}: {why}. It must be a text file holding the "
                         f"site secret ({_EXPECTED}); restore it from backup (a new secret gives every patient a new "
                         "pseudonym).") from None
    if not text:
        raise InputError(f"The pseudonym secret file {path} is empty; restore it from backup (a new secret gives "
                         "every patient a new pseudonym).")
    return text.encode("utf-8")


def _create_secret_file(path: Path) -> None:
    """Create ``path`` holding a new random secret, owner read/write only, atomically: the secret is written to a
    private temporary file beside it, then hard-linked to ``path``, so no reader ever sees a partial or empty file, and
    when exports race only the first link wins (the others read the winner's secret)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:  # another export created it meanwhile: its secret is the site's
            pass
    finally:
        os.unlink(tmp)
