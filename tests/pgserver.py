"""A throwaway PostgreSQL server for tests: initdb + pg_ctl in a temp folder, trust auth, 127.0.0.1, free port.

Usage::

    with PgServer() as pg:
        url = pg.url()            # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
        url = pg.create_db("x")   # a fresh database on the same server

The server refuses to run as root, so when the tests run as root (containers, CI) the data folder is chowned
to the ``postgres`` user and every server command runs through ``runuser -u postgres --``. When the server
binaries are missing the helper raises ``PgUnavailable``; ``require_pg()`` turns that into a test *failure*
(never a skip: the CI script installs Debian's postgresql, so a missing server is a broken environment, and
a skipped multi-instance test would hide exactly the bugs it exists for).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import pytest


class PgUnavailable(RuntimeError):
    pass


def find_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/*/bin holding initdb and pg_ctl, else the one on PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0
    )
    for path in reversed(candidates):
        if (Path(path) / "initdb").exists() and (Path(path) / "pg_ctl").exists():
            return Path(path)
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    raise PgUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; install Debian's postgresql package")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    def __init__(self, *, user: str = "postgres") -> None:
        self.bin = find_bin_dir()
        self.user = user
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="tpb-pg-"))
        self.data = self.tmp / "data"
        self.log = self.tmp / "server.log"
        self._as_root = os.geteuid() == 0
        self.running = False

    # --------------------------------------------------------------------------------------- commands
    def _cmd(self, *args: str) -> list[str]:
        if self._as_root:
            return ["runuser", "-u", "postgres", "--", *args]
        return list(args)

    def _run(self, *args: str, timeout: float = 60) -> None:
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr or proc.stdout}\n{log}")

    def start(self) -> PgServer:
        if self._as_root:
            shutil.chown(self.tmp, "postgres", "postgres")
        if not self.data.exists():
            self._run(
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            )
        # no unix socket dir outside our temp folder; fsync off: a test cluster need not survive a power cut
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.tmp} -c fsync=off -c max_connections=100"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "start")
        self.running = True
        return self

    def stop(self, mode: str = "fast") -> None:
        if self.running:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
            self.running = False

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------------------------------------- urls
    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{db}"

    def create_db(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def wait_ready(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def __enter__(self) -> PgServer:
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.cleanup()


def require_pg() -> PgServer:
    """A started server; a test failure (not a skip) when PostgreSQL is not installed here."""
    try:
        server = PgServer()
    except PgUnavailable as exc:
        where = " (CI must run the PostgreSQL tests)" if os.environ.get("CI") else ""
        pytest.fail(f"{exc}{where}; apt-get install postgresql")
    return server.__enter__()
