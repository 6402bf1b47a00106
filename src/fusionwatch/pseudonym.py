"""The research pseudonym every de-identified export carries in place of the patient key (pure: no files, no
environment; the site secret is read by the export adapter :mod:`fusionwatch.export.secret` and passed in).

``pseudonym(key, secret)`` is ``"FW-"`` + the first 16 hex digits of HMAC-SHA256(secret, key): the same patient gets
the same pseudonym in every export of one site (a research coordinator links a patient's films over time), and a
patient key (often an MRN) cannot be recovered from it, nor confirmed by hashing guessed MRNs, without the site secret.
``secret_fingerprint(secret)`` is what a database records of its pseudonym series: an HMAC of a fixed label, which
tells two secrets apart and reveals neither the secret nor any pseudonym.
``uid_seed(key, secret)`` seeds a patient's exported UIDs and hashed film ids: HMAC-SHA256(secret, "uid|" + key), a
value no export shows. (Seeding them with the pseudonym, which every export prints, let anyone holding the original
UIDs, such as any PACS user, recompute them and re-identify the patient.)
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["FINGERPRINT_LABEL", "pseudonym", "secret_fingerprint", "uid_seed"]

FINGERPRINT_LABEL = b"fusionwatch/pseudonym-series-fingerprint/1"
_PROCESS_SECRET = secrets.token_bytes(32)  # for hand-built data without a site: unlinkable across runs


def pseudonym(key: str, secret: bytes | None) -> str:
    """``"FW-"`` + 16 hex digits of HMAC-SHA256(``secret``, ``key``); ``secret=None``: a random per-process secret
    (stable within one run only, never the key)."""
    digest = hmac.new(secret if secret is not None else _PROCESS_SECRET, key.encode("utf-8"), hashlib.sha256)
    return "FW-" + digest.hexdigest()[:16]


def secret_fingerprint(secret: bytes) -> str:
    """The fingerprint a database records for its pseudonym series: 64 hex digits of HMAC-SHA256(``secret``,
    ``FINGERPRINT_LABEL``). It tells whether two secrets are the same, and reveals neither the secret nor a pseudonym
    (a key is never hashed into it)."""
    return hmac.new(secret, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()




def uid_seed(key: str, secret: bytes | None) -> str:
    """The seed of a patient's exported UIDs and hashed film ids: 64 hex digits of HMAC-SHA256(``secret``, ``"uid|"``
    + ``key``), never written into an export, so an original UID or film id cannot be matched to its exported one
    without the site secret. ``secret=None``: the random per-process secret (stable within one run only)."""
    key_bytes = secret if secret is not None else _PROCESS_SECRET
    return hmac.new(key_bytes, f"uid|{key}".encode(), hashlib.sha256).hexdigest()
