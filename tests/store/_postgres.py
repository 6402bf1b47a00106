"""A throwaway PostgreSQL server for tests: initdb + pg_ctl into a temporary folder, unix socket only, free port.

Started by the tests themselves from the Debian packages (``bash scripts/system-deps.sh`` installs them). As root the
server runs as the ``postgres`` system user (PostgreSQL refuses to run as root). Stopped and deleted at the end.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["postgres_bindir", "postgres_server", "fresh_database", "NoPostgres"]


class NoPostgres(RuntimeError):
    """The PostgreSQL server binaries are not installed (the only reason the PostgreSQL tests may skip)."""


def postgres_bindir() -> Path | None:
    """Folder holding initdb and pg_ctl (newest /usr/lib/postgresql/*/bin, else on PATH), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3].split(".")[0]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl and shutil.which("initdb") else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server; yields the base URL ``postgresql+psycopg://fw@/{db}?host=<socket dir>&port=<port>`` template."""
    bindir = postgres_bindir()
    if bindir is None:
        raise NoPostgres("PostgreSQL server binaries (initdb, pg_ctl) not found; run `bash scripts/system-deps.sh`.")
    prefix: list[str] = []
    as_root = os.geteuid() == 0
    # As root the server runs as 'postgres', which must be able to reach its folder: use /tmp itself, not a private
    # TMPDIR (pytest's own temporary folders are mode 0700).
    base = Path(tempfile.mkdtemp(prefix="fw-pg-", dir="/tmp" if as_root and os.path.isdir("/tmp") else None))
    if as_root:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base, ignore_errors=True)
            raise RuntimeError("running as root and there is no 'postgres' user to run the server as.") from None
        os.chown(base, user.pw_uid, user.pw_gid)
        runuser = shutil.which("runuser")
        if not runuser:
            shutil.rmtree(base, ignore_errors=True)
            raise RuntimeError("running as root without `runuser` to start the server as 'postgres'.")
        prefix = [runuser, "-u", "postgres", "--"]
    data, sock, log = base / "data", base / "sock", base / "server.log"
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    try:
        run("mkdir", "-p", str(sock))
        run(str(bindir / "initdb"), "-D", str(data), "-U", "fw", "--auth=trust", "-E", "UTF8", "--no-locale", "-N")
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {port} -k {sock} -c listen_addresses='' -c fsync=off -c full_page_writes=off",
            "start",
        )
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace")[-500:]
        if log.exists():
            detail += log.read_text(errors="replace")[-500:]
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL is installed ({bindir}) but could not be started: {detail}") from None
    try:
        yield f"postgresql+psycopg://fw@/{{db}}?host={sock}&port={port}"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def fresh_database(url_template: str, template: str | None = None) -> Iterator[str]:
    """Create a database on the server (empty, or a copy of ``template``), yield its URL, drop it afterwards."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    admin = url_template.format(db="postgres").replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield url_template.format(db=name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
