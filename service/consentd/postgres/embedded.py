"""A private PostgreSQL run from the system binaries as our child, for ``consentd serve``
(persistent cluster) and the tests (``ephemeral=True``). As root ``initdb`` and ``postgres``
(never Python) run as the ``postgres`` system user (PostgreSQL refuses root), owner of the data
dir. The server has its own session: a Ctrl-C reaches only us; the caller decides when to stop."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

from consentd.postgres.cluster import (
    Cluster,
    failed,
    fast_shutdown,
    initdb,
    kill_cluster,
    kill_leftovers,
    prepare_dirs,
    remove_cluster,
    run_as,
    run_once_ready,
    socket_dir,
    still_serving,
)
from consentd.postgres.host import (
    EmbeddedPostgresError,
    clean_env,
    find_bindir,
    free_port,
    log_tail,
    parent_is_consentd,
    postmaster_of,
    remove_stale_pid,
    seconds_left,
    server_user,
    stop_orphan,
)
from consentd.postgres.tuning import EPHEMERAL, NO_SHARED_MEMORY, available_memory, sized

__all__ = ["EmbeddedPostgres", "EmbeddedPostgresError", "find_bindir"]


_DB_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_PORT_TAKEN = "Address already in use"
_CRASH_LEFTOVERS = ("pre-existing shared memory block", "lock file")


class EmbeddedPostgres:
    """A cluster in ``data_dir`` served on 127.0.0.1 by a ``postgres`` child process. Beside
    the data dir: ``<data_dir>.password`` (0600, the superuser's password) and
    ``<data_dir>.log`` (the server's output)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        ephemeral: bool = False,
        superuser: str = "consentd",
        settings: tuple[str, ...] = (),
    ) -> None:
        """ephemeral=True: fsync, synchronous_commit and full_page_writes off; the data dir,
        password and log files are deleted on stop(); else sized to the memory (tuning.py).
        `settings` (name=value) come last. port None: a free port on 127.0.0.1 is picked at
        each start. Raises EmbeddedPostgresError if find_bindir() does, or if we are root and
        there is no `postgres` user."""
        self.data_dir = Path(data_dir).absolute()
        self.ephemeral, self.superuser = ephemeral, superuser
        self._base = EPHEMERAL if ephemeral else sized(available_memory(), self.data_dir)
        self._given = settings
        self.password_file = self.data_dir.with_name(self.data_dir.name + ".password")
        self.log_file = self.data_dir.with_name(self.data_dir.name + ".log")
        self._fixed_port, self._port = port, port
        self._password: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._sockets = ""
        # A killed consentd's postmaster attach() stopped (killed: it did not stop in time).
        self.stopped_orphan: int | None = None
        self.orphan_killed = False
        self._bindir = find_bindir()
        self._user = server_user()

    @property
    def port(self) -> int:
        """The TCP port; EmbeddedPostgresError if it is still to be picked by start()."""
        if self._port is None:
            raise EmbeddedPostgresError("no port yet: call start() first")
        return self._port

    @property
    def settings(self) -> tuple[str, ...]:
        """What postgres starts with (`-c`): the sizing or ephemeral settings, then those given."""
        return (*self._base, *self._given)

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while our child runs, else None."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        """The superuser's URL over TCP (parts quoted); EmbeddedPostgresError before start()."""
        if self._password is None:
            raise EmbeddedPostgresError("no password yet: call start() first")
        auth = f"{quote(self.superuser, safe='')}:{quote(self._password, safe='')}"
        return f"{driver}://{auth}@127.0.0.1:{self.port}/{quote(database, safe='')}"

    def start(self, timeout: float = 30.0) -> None:
        """initdb if there is no PG_VERSION, drop a stale postmaster.pid, start postgres and
        wait until it accepts connections. Idempotent while running. Raises
        EmbeddedPostgresError if initdb fails (with its stderr), if a live postmaster holds the
        data dir, or if postgres exits during start-up or is not ready in `timeout` seconds
        (with its log's tail). On failure stop() is called."""
        if self.pid is not None:
            return
        deadline = time.monotonic() + timeout
        try:
            prepare_dirs(self.data_dir, self._user)
            if not (self.data_dir / "PG_VERSION").exists():
                initdb(self._cluster(), deadline)
            self._password = self._read_password()
            remove_stale_pid(self.data_dir, deadline)
            self._launch(deadline)
        except BaseException:
            self.stop()
            raise

    def attach(
        self, found: Callable[[int], object] = lambda pid: None, shared: bool = True
    ) -> bool:
        """Use a cluster another process of ours already runs in this data dir, without owning
        it (stop() will leave it running). True when attached; False when none is running (an
        orphan a killed consentd left is stopped, `found(pid)` told; with `shared`, not while
        a client uses it: a serve attached to it before)."""
        if (running := postmaster_of(self.data_dir)) is None:
            return False
        pid, port = running
        if not parent_is_consentd(pid) and not (shared and still_serving(pid, port)):
            # Its consentd was killed, none attached serves on it (probe JB): stop it, so that
            # start() runs ours (up to 30 s for a frozen one: said first; probe CB).
            found(pid)
            self.orphan_killed = stop_orphan(pid, self.data_dir, kill=kill_cluster)
            self.stopped_orphan = pid
            return False
        self._port = port
        self._password = self._read_password()
        return True

    @property
    def exit_status(self) -> int | None:
        """The postmaster's exit status once our child has exited (reaped here), else None."""
        proc = self._proc
        return proc.poll() if proc is not None else None

    def restart(self, timeout: float = 30.0) -> None:
        """Start again on the same port after the server exited on its own (crash recovery
        replays its WAL): the URLs given stay valid. Raises as start() does."""
        port, fixed = self._port, self._fixed_port
        self.stop()
        kill_leftovers(self.data_dir)  # frozen children of it ran on beside the new one
        self._fixed_port = port
        try:
            self.start(timeout)
        finally:
            self._fixed_port = fixed

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGINT (fast shutdown) and reap the child; after `timeout` seconds (frozen, stuck)
        SIGKILL it and its children (a backend left would hold the shared memory the next start
        needs); whether it was killed. Then an ephemeral cluster's files go. Safe twice."""
        proc, self._proc, killed = self._proc, None, False
        if proc is not None and proc.poll() is None:
            fast_shutdown(proc.pid)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                kill_cluster(proc.pid)
                proc.wait()
                killed = True
        if self.ephemeral:
            remove_cluster(self.data_dir, self.password_file, self.log_file)
        self._port = self._fixed_port
        return killed

    def create_database(self, name: str, stop: threading.Event | None = None) -> None:
        """CREATE DATABASE name unless it exists, with `psql` over TCP (killed once `stop` is set).

        Raises EmbeddedPostgresError if name does not match ^[a-z_][a-z0-9_]{0,62}$ or
        psql fails (with its stderr)."""
        if not _DB_NAME.fullmatch(name):
            raise EmbeddedPostgresError(f"bad database name {name!r}: not [a-z_][a-z0-9_]*")
        # name is checked against _DB_NAME above, so it cannot break out of the quotes.
        sql = (
            f"SELECT 'CREATE DATABASE \"{name}\"' WHERE NOT EXISTS "  # noqa: S608
            f"(SELECT FROM pg_database WHERE datname = '{name}')\\gexec\n"
        )
        argv = [self._bin("psql"), "-X", "-q", "-w", "-v", "ON_ERROR_STOP=1"]
        argv += ["-h", "127.0.0.1", "-p", str(self.port), "-U", self.superuser]
        env = clean_env(PGPASSWORD=self._password or "", PGCONNECT_TIMEOUT="10")
        err = run_once_ready([*argv, "-d", "postgres"], sql.encode(), env, stop)
        if err is not None:
            raise EmbeddedPostgresError(failed(f"creating database {name}", err))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:  # fmt: skip
        self.stop()

    def _cluster(self) -> Cluster:
        return Cluster(
            self._bindir, self.data_dir, self.password_file, self.superuser, self._user,
            self.ephemeral,
        )  # fmt: skip

    def _read_password(self) -> str:
        """The superuser's password; EmbeddedPostgresError if the file is missing."""
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError:
            raise EmbeddedPostgresError(
                f"{self.password_file} is missing but {self.data_dir} is initialised: "
                "restore it, or remove the data dir to start afresh"
            ) from None

    def _launch(self, deadline: float) -> None:
        """Spawn postgres until ready: once more on a new port if a picked port got taken,
        and again after a pause while a crashed server's orphans still hold its memory."""
        port_retries = 1 if self._fixed_port is None else 0
        while True:
            self._port = self._fixed_port or free_port()
            tail = self._wait_ready(self._spawn(), deadline)
            if tail is None:
                return
            if _PORT_TAKEN in tail and port_retries:
                port_retries -= 1
            elif any(m in tail for m in _CRASH_LEFTOVERS) and seconds_left(deadline) > 0.2:
                kill_leftovers(self.data_dir)  # a dead postmaster's children: they never go
                time.sleep(0.2)
            elif NO_SHARED_MEMORY in tail and not self.ephemeral and self._base:
                self._base = ()  # PostgreSQL's defaults, the settings given kept
            else:
                msg = f"postgres exited at start (port {self._port}); its log ends:\n"
                raise EmbeddedPostgresError(msg + tail)

    def _spawn(self) -> int:
        """Start postgres as our child (output to the log, socket in <data_dir>/run); return
        the log offset."""
        self._sockets = socket_dir(self.data_dir, self._user)
        argv = [self._bin("postgres"), "-D", str(self.data_dir), "-k", self._sockets]
        argv += ["-p", str(self.port), "-c", "listen_addresses=127.0.0.1"]
        for setting in self.settings:
            argv += ["-c", setting]
        fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as log:
            offset = log.seek(0, os.SEEK_END)
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/",
                env=clean_env(), start_new_session=True, **run_as(self._user),
            )  # fmt: skip
        return offset

    def _bin(self, name: str) -> str:
        """The path of PostgreSQL's program `name`."""
        return str(self._bindir / name)

    def _wait_ready(self, offset: int, deadline: float) -> str | None:
        """None once the server accepts connections; its log's tail if it exited first. Raises
        EmbeddedPostgresError (with the tail) when the deadline passes."""
        while seconds_left(deadline) > 0:
            if self.pid is None:
                self._proc = None
                return log_tail(self.log_file, offset)
            if self._is_ready():
                return None
            time.sleep(0.02)
        msg = f"postgres was not ready in time; its log ends:\n{log_tail(self.log_file, offset)}"
        raise EmbeddedPostgresError(msg)

    def _is_ready(self) -> bool:
        """pg_isready via our own unix socket, so no other server on the port answers."""
        host, port = self._sockets or "127.0.0.1", str(self.port)
        argv = [self._bin("pg_isready"), "-q", "-t", "1", "-h", host, "-p", port]
        try:
            done = subprocess.run(argv, check=False, env=clean_env(), timeout=5)
            return done.returncode == 0
        except subprocess.TimeoutExpired:
            return False
