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

__all__ = ["MIN_SECRET_CHARS", "SECRET_ENV", "record_first_series", "site_secret"]

SECRET_ENV = "FUSIONWATCH_DEID_SECRET"
MIN_SECRET_CHARS = 32
"""The shortest ``FUSIONWATCH_DEID_SECRET`` accepted: the database records an HMAC fingerprint of the secret
(:func:`fusionwatch.pseudonym.secret_fingerprint`), fast to compute, so a short secret could be found by trying
guesses offline against it."""
_EXPECTED = "64 hexadecimal characters when fusionwatch created it, or the value given to " + SECRET_ENV


def site_secret(store: Any, *, new_series: str | None = None, record: bool = True) -> bytes:
    """The site's pseudonym secret for ``store`` (a :class:`fusionwatch.store.Store`; rules in the module notes),
    checked against the pseudonym series recorded in it.

    Parameters
    ----------
    new_series : str | None
        The reason to start a new pseudonym series with the secret now in use (recorded with it): every patient gets a
        new pseudonym, not linked to earlier exports. ``None`` (every export): the secret must be the current series'
        one; on first use it is recorded as the first series.
    record : bool
        ``False``: do not record the first series yet (an export that may still refuse its inputs or fail to write):
        the caller records it with :func:`record_first_series` once its files are written.

    Raises
    ------
    InputError
        For a database that is not a SQLite file when ``FUSIONWATCH_DEID_SECRET`` is not set; when the secret file
        cannot be created (read-only folder), can be read or written by others, or is empty; when the secret file is
        missing or the secret is not the current series' one (restore the file, unset or correct the variable, or start
        a new series on purpose); with ``new_series`` when the secret is the current series' one.
    """
    if new_series is not None and not new_series.strip():
        raise InputError("Give the reason for starting a new pseudonym series (it is recorded with it).")
    env = os.environ.get(SECRET_ENV, "")
    path = _secret_path(str(store.url))
    series = store.pseudonym_series()
    current = series[-1] if series else None
    if env and len(env.strip()) < MIN_SECRET_CHARS:
        raise InputError(f"{SECRET_ENV} is too short ({len(env.strip())} characters; at least {MIN_SECRET_CHARS}): "
                         "the database records a fast keyed hash of the secret, so a short one can be guessed "
                         "offline. Use a long random value, e.g. `python -c 'import secrets; "
                         "print(secrets.token_hex(32))'` (the same for every export of a study; keep it private).")
    if env:
        secret, source = env.encode("utf-8"), "environment"
    elif path is None:
        raise InputError(f"De-identification needs a site secret for the pseudonyms: set {SECRET_ENV} (the same "
                         "value for every export of a study; keep it private) for a database that is not a SQLite "
                         "file.")
    else:
        if not path.exists():
            if current is not None and new_series is None and current.source == "environment":
                raise InputError(f"This database's de-identified exports {_since(current)} used the secret in "
                                 f"{SECRET_ENV}, which is not set now: set it to that secret (a new secret file "
                                 f"{path} would give every patient a new pseudonym, not linked to earlier "
                                 f"exports){_FORWARD}")
            if current is not None and new_series is None:
                raise InputError(f"The pseudonym secret file {path} is missing, but this database's de-identified "
                                 f"exports {_since(current)} used a secret: a new one would give every patient a new "
                                 f"pseudonym, not linked to earlier exports. Restore {path} from backup (chmod 600), "
                                 f"or set {SECRET_ENV} to that secret{_FORWARD}")
            try:
                _create_secret_file(path)
            except OSError as exc:  # a read-only folder, a full disk: say which file and the way round
                raise InputError(f"Cannot create the pseudonym secret file {path}: {exc.strerror or exc}. Make its "
                                 f"folder writable, or set {SECRET_ENV} (the same value for every export of a study; "
                                 "keep it private).") from None
        secret, source = _read_secret_file(path), "file"
    fingerprint = secret_fingerprint(secret)
    if current is None and env and path is not None and path.is_file() and new_series is None:
        # a database from before fingerprints were recorded: its exports may have used the file
        if secret_fingerprint(_read_secret_file(path)) != fingerprint:
            raise InputError(f"{SECRET_ENV} is set and differs from the pseudonym secret file {path} beside the "
                             "database, which earlier de-identified exports may have used: its pseudonyms would not "
                             f"link to theirs. Unset {SECRET_ENV} to use the file{_FORWARD}")
    if current is not None and fingerprint != current.fingerprint and new_series is None:
        if env:
            raise InputError(f"{SECRET_ENV} is not the secret this database's de-identified exports "
                             f"{_since(current)} used (from {_where(current, path)}): its pseudonyms would not link "
                             f"to theirs. Unset {SECRET_ENV}"
                             + (f" (the file {path} is then used)" if current.source == "file" else "")
                             + f", or set it to the secret used{_FORWARD}")
        raise InputError(f"The pseudonym secret file {path} is not the secret this database's de-identified exports "
                         f"{_since(current)} used (from {_where(current, path)}): it was replaced, and its "
                         "pseudonyms would not link to theirs. Restore the original file from backup (chmod 600)"
                         + (f", or set {SECRET_ENV} to the secret used" if current.source == "environment" else "")
                         + _FORWARD)
    if current is not None and fingerprint == current.fingerprint:
        if new_series is not None:
            raise InputError(f"The secret in use (from {_where(current, path)}) is already the current pseudonym "
                             f"series' one, recorded {current.started_at:%Y-%m-%d %H:%M} UTC. To start a new series, "
                             f"first move the secret file away (keep it) or set {SECRET_ENV} to a new secret.")
        return secret
    if new_series is None and not record:
        return secret
    store.record_pseudonym_series(fingerprint, source, new_series.strip() if new_series is not None
                                  else "first de-identified export")
    return secret


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


def _where(series: Any, path: Path | None) -> str:
    return f"the variable {SECRET_ENV}" if series.source == "environment" else f"the file {path or 'beside it'}"


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
