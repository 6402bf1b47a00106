"""The research pseudonym every de-identified export carries in place of the patient key.

``pseudonym(key, secret)`` is ``"FW-"`` + the first 16 hex digits of HMAC-SHA256(secret, key): the same patient gets
the same pseudonym in every export of one site (a research coordinator links a patient's films over time), and a
patient key (often an MRN) cannot be recovered from it, nor confirmed by hashing guessed MRNs, without the site secret.

The site secret (:func:`site_secret`), first match wins:

1. the environment variable ``FUSIONWATCH_DEID_SECRET`` (any non-empty text; give every export of a study the same);
2. for a SQLite database file, the file ``<database>.deid-secret`` beside it, created with 32 random bytes (owner
   read/write only, atomically) on the first de-identified export; a file others can read or write is refused. Keep
   it with the database and out of shared exports: whoever holds it can map keys to pseudonyms.

A PostgreSQL or in-memory database without the variable is refused (there is no file to keep the secret beside).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

from fusionwatch.errors import InputError

__all__ = ["SECRET_ENV", "pseudonym", "site_secret"]

SECRET_ENV = "FUSIONWATCH_DEID_SECRET"
_PROCESS_SECRET = secrets.token_bytes(32)  # for hand-built data without a site: unlinkable across runs


def pseudonym(key: str, secret: bytes | None) -> str:
    """``"FW-"`` + 16 hex digits of HMAC-SHA256(``secret``, ``key``); ``secret=None``: a random per-process secret
    (stable within one run only, never the key)."""
    digest = hmac.new(secret if secret is not None else _PROCESS_SECRET, key.encode("utf-8"), hashlib.sha256)
    return "FW-" + digest.hexdigest()[:16]


def site_secret(database_url: str) -> bytes:
    """The site's pseudonym secret for the store at ``database_url`` (rules in the module notes).

    Raises
    ------
    InputError
        For a database that is not a SQLite file when ``FUSIONWATCH_DEID_SECRET`` is not set; when the secret file
        cannot be created (read-only folder), can be read or written by others, or is empty.
    """
    if env := os.environ.get(SECRET_ENV, ""):
        return env.encode("utf-8")
    prefix = "sqlite:///"
    db_file = database_url[len(prefix):] if database_url.startswith(prefix) else ""
    if not db_file or db_file == ":memory:":
        raise InputError(f"De-identification needs a site secret for the pseudonyms: set {SECRET_ENV} (the same "
                         "value for every export of a study; keep it private) for a database that is not a SQLite "
                         "file.")
    path = Path(db_file + ".deid-secret")
    if not path.is_file():
        try:
            _create_secret_file(path)
        except OSError as exc:  # a read-only folder, a full disk: say which file and the way round
            raise InputError(f"Cannot create the pseudonym secret file {path}: {exc.strerror or exc}. Make its folder "
                             f"writable, or set {SECRET_ENV} (the same value for every export of a study; keep it "
                             "private).") from None
    # others could map keys to pseudonyms, or plant a secret they know (POSIX modes; Windows has none to check)
    if os.name == "posix" and (mode := path.stat().st_mode) & 0o077:
        raise InputError(f"The pseudonym secret file {path} can be read or written by others (mode {mode & 0o777:o}); "
                         f"make it owner-only (chmod 600 {path}) and check it is the site's secret.")
    text = path.read_text().strip()
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
