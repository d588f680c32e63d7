"""Making a cluster on disk: the data folder and its parents, initdb with a random superuser
password (kept 0600 beside the data folder), and the user PostgreSQL's programs run as."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from consentd.postgres.host import (
    EmbeddedPostgresError,
    check_searchable,
    clean_env,
    pid_alive,
    seconds_left,
)


class RunAs(TypedDict):
    """Popen keywords choosing the user that runs PostgreSQL's binaries."""

    user: str | None
    group: int | None
    extra_groups: list[int] | None


@dataclass(frozen=True)
class Cluster:
    """Where a cluster lives and who runs it (user None: ourselves, as we are not root)."""

    bindir: Path
    data_dir: Path
    password_file: Path
    superuser: str
    user: pwd.struct_passwd | None
    ephemeral: bool


def run_as(user: pwd.struct_passwd | None) -> RunAs:
    """Popen keywords running a child as the postgres user (no extra groups) as root."""
    if user is None:
        return {"user": None, "group": None, "extra_groups": None}
    return {"user": user.pw_name, "group": user.pw_gid, "extra_groups": []}


# A unix socket path is at most 107 bytes.
_SOCKET_DIR_MAX = 107 - len("/.s.PGSQL.65535")


def socket_dir(data_dir: Path, user: pwd.struct_passwd | None) -> str:
    """<data_dir>/run, made for the server, or "" (no unix socket) if too long."""
    run = data_dir / "run"
    if len(os.fsencode(run)) > _SOCKET_DIR_MAX:
        return ""
    run.mkdir(mode=0o700, exist_ok=True)
    if user is not None:
        os.chown(run, user.pw_uid, user.pw_gid)
    return str(run)


def remove_cluster(data_dir: Path, password_file: Path, log_file: Path) -> None:
    """Delete the data dir (only if it holds a cluster or nothing), password and log."""
    empty = data_dir.is_dir() and not any(data_dir.iterdir())
    if empty or (data_dir / "PG_VERSION").exists():
        shutil.rmtree(data_dir, ignore_errors=True)
    password_file.unlink(missing_ok=True)
    log_file.unlink(missing_ok=True)


def prepare_dirs(data_dir: Path, user: pwd.struct_passwd | None) -> None:
    """Create missing parents (0711 as root, else 0700) and a 0700 data dir; as root,
    check the postgres user can reach the data dir and give it to that user."""
    for parent in reversed(data_dir.parents):
        if not parent.exists():
            parent.mkdir(exist_ok=True)
            parent.chmod(0o711 if user else 0o700)
    data_dir.mkdir(mode=0o700, exist_ok=True)
    if user is not None:
        check_searchable(data_dir, user)
        if data_dir.stat().st_uid != user.pw_uid:
            os.chown(data_dir, user.pw_uid, user.pw_gid)


def initdb(cluster: Cluster, deadline: float) -> None:
    """Run initdb with a new random password, then save it in the password file."""
    password = secrets.token_urlsafe(24)
    fd, pwfile = tempfile.mkstemp(prefix=".pwfile-", dir=cluster.data_dir.parent)
    try:
        os.write(fd, password.encode() + b"\n")
        if cluster.user is not None:  # initdb reads it as the postgres user
            os.fchown(fd, cluster.user.pw_uid, cluster.user.pw_gid)
        os.close(fd)
        _run_initdb(cluster, pwfile, deadline)
    finally:
        os.unlink(pwfile)
    fd = os.open(cluster.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")


def _run_initdb(cluster: Cluster, pwfile: str, deadline: float) -> None:
    """initdb UTF8/C/scram-sha-256; EmbeddedPostgresError with its stderr on failure."""
    data_dir = cluster.data_dir
    argv = [str(cluster.bindir / "initdb"), f"--pgdata={data_dir}", "--locale=C"]
    argv += [f"--username={cluster.superuser}", f"--pwfile={pwfile}"]
    argv += ["--encoding=UTF8", "--auth=scram-sha-256", "--no-instructions"]
    argv += ["--no-sync"] if cluster.ephemeral else []
    try:
        done = subprocess.run(
            argv, check=False, capture_output=True, timeout=max(seconds_left(deadline), 1),
            cwd="/", env=clean_env(), **run_as(cluster.user),
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise EmbeddedPostgresError(f"initdb of {data_dir} timed out") from None
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip()
        raise EmbeddedPostgresError(f"initdb of {data_dir} failed: {err}")


def fast_shutdown(postmaster: int) -> None:
    """SIGINT (fast shutdown) to a postmaster, woken first with its children (SIGCONT): one
    stopped with SIGSTOP never acted on it, and serve's SIGTERM waited the stop's whole bound
    to kill it (probe HA)."""
    for pid in (postmaster, *children_of(postmaster)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGCONT)
    os.kill(postmaster, signal.SIGINT)


def kill_cluster(postmaster: int) -> None:
    """SIGKILL a postmaster and every child of it. Each child is in a session of its own
    (PostgreSQL calls setsid): killing the postmaster's group left frozen backends holding the
    shared memory, and the next start waited on them. Listed first: once it dies they are
    init's."""
    children = children_of(postmaster)
    os.killpg(postmaster, signal.SIGKILL)  # its own session (start_new_session)
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def children_of(pid: int) -> list[int]:
    """The pids of pid's children (the postmaster's: checkpointer, writers, backends)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def still_serving(postmaster: int, port: int) -> bool:
    """Whether a client holds a connection to the postmaster: a backend titled with its
    client's address (`postgres: user db 127.0.0.1(40312) idle`) whose client end is still open
    on this host (a killed consentd's, or psql's, closed as it died though its backend may run
    on in a statement; probe JD), or a `[local]` one."""
    clients = set()
    for pid in children_of(postmaster):
        with contextlib.suppress(OSError):
            if found := _CLIENT.search(Path(f"/proc/{pid}/cmdline").read_bytes()):
                clients.add(int(found[1]) if found[1] else -1)
    return bool(clients - _closed_ends(port, clients))


_CLIENT = re.compile(rb"^postgres: \S+ \S+ (?:\S+\((\d+)\)|\[local\])")


def _closed_ends(port: int, clients: set[int]) -> set[int]:
    """Those of the clients' ports (-1: a unix socket, never) with no open TCP connection to
    `port` on this host (/proc/net/tcp and tcp6: local port, remote port, state 01)."""
    open_ends = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, state = fields[1], fields[2], fields[3]
                if state == "01" and int(remote.rsplit(":", 1)[1], 16) == port:
                    open_ends.add(int(local.rsplit(":", 1)[1], 16))
    return {c for c in clients if c != -1 and c not in open_ends}


def kill_leftovers(data_dir: Path) -> list[int]:
    """SIGKILL what is left in data_dir of a postmaster that died (SIGKILL, the OOM killer):
    its children, adopted by init, hold its shared memory and no server starts while they live
    (frozen ones never exit: every restart failed, then the next `consentd serve`; probe BB).
    None while postmaster.pid names a live postmaster: that server runs. Returns the pids."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
        if pid_alive(pid, data_dir):
            return []
    home = data_dir.resolve()
    found = [int(entry.name) for entry in Path("/proc").glob("[0-9]*") if _works_in(entry, home)]
    for pid in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return found


def _works_in(process: Path, data_dir: Path) -> bool:
    """Whether the /proc entry is a child of a postmaster working in data_dir: a backend or an
    auxiliary process, titled `postgres: ...` (never a postmaster, whose command line is the
    binary's: one just starting, before it writes postmaster.pid, is left alone). One that
    cannot be inspected is not."""
    try:
        titled = (process / "cmdline").read_bytes().startswith(b"postgres: ")
        return titled and Path(os.readlink(process / "cwd")) == data_dir
    except OSError:
        return False


# What PostgreSQL says while it recovers or starts, and how long a command waits for it.
_RECOVERING = ("not yet accepting connections", "the database system is starting up")
RECOVERY_SECONDS = 120.0


def run_once_ready(
    argv: list[str], given: bytes, env: dict[str, str], stop: threading.Event | None = None
) -> str | None:
    """Run a client command (psql) with `given` on its stdin; None once it succeeds, else its
    stderr. A cluster another consentd process restarted may still be recovering: waited for,
    RECOVERY_SECONDS at most (a server started then exited 1 "not yet accepting connections";
    probe VC). `stop` set (the caller was cancelled: a signal) kills the command at once: a
    CLI command's SIGTERM waited for psql's 10 s connection timeout on a frozen cluster (PA)."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        code, err = _run(argv, given, env, stop)
        if code == 0:
            return None
        if not any(words in err for words in _RECOVERING) or time.monotonic() > deadline:
            return err
        if stop is not None and stop.wait(0.5):
            return "stopped"


def _run(
    argv: list[str], given: bytes, env: dict[str, str], stop: threading.Event | None
) -> tuple[int, str]:
    """The command's exit code and stderr; killed after 60 s or once `stop` is set."""
    pipe = subprocess.PIPE
    with subprocess.Popen(argv, stdin=pipe, stdout=pipe, stderr=pipe, env=env) as child:
        ends = time.monotonic() + 60
        data: bytes | None = given
        while True:
            try:
                _, err = child.communicate(data, timeout=0.2)
                return child.returncode, err.decode(errors="replace").strip()
            except subprocess.TimeoutExpired:
                data = None  # sent already
                stopped = stop is not None and stop.is_set()
                if stopped or time.monotonic() > ends:
                    child.kill()
                    child.communicate()
                    return -9, "stopped" if stopped else "timed out"


def failed(what: str, said: str) -> str:
    """`what` failed, as `said` by the client; its connection timeout in an operator's words
    ("creating database consentd failed: ... timeout expired" was said of a cluster that
    existed, frozen; probe PA)."""
    if "timeout expired" not in said:
        return f"{what} failed: {said}"
    return (
        "PostgreSQL did not answer within 10 s (frozen, overloaded or still starting; its log "
        f"is in the data folder): retry once it answers ({said})"
    )
