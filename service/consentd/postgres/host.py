"""The machine around the embedded PostgreSQL: where its binaries and data folder are, which
user runs it, free ports, live postmasters, a clean environment for its commands."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import stat
import time
from collections.abc import Callable
from pathlib import Path


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL could not be set up, started or used."""


def default_data_dir() -> Path:
    """$CONSENTD_DATA_DIR/postgres if set; as root /var/lib/consentd/postgres; else
    ${XDG_DATA_HOME:-~/.local/share}/consentd/postgres (relative XDG_DATA_HOME ignored)."""
    if configured := os.environ.get("CONSENTD_DATA_DIR"):
        return Path(configured) / "postgres"
    if os.geteuid() == 0:
        return Path("/var/lib/consentd/postgres")
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "consentd" / "postgres"


def find_bindir() -> Path:
    """$CONSENTD_PG_BINDIR, else the newest /usr/lib/postgresql/*/bin holding `postgres`,
    else the directory of `initdb` on PATH (symlinks resolved).

    Raises EmbeddedPostgresError when none holds `postgres` and `initdb`."""
    configured = os.environ.get("CONSENTD_PG_BINDIR")
    candidates = [Path(configured)] if configured else []
    if not configured:
        debian = Path("/usr/lib/postgresql").glob("*/bin")
        candidates = sorted(debian, key=version_key, reverse=True)
        initdb = shutil.which("initdb")
        candidates += [Path(initdb).resolve().parent] if initdb else []
    for bindir in candidates:
        if (bindir / "postgres").is_file() and (bindir / "initdb").is_file():
            return bindir
    raise EmbeddedPostgresError(
        f"no PostgreSQL server binaries in {configured or '/usr/lib/postgresql or PATH'}: "
        "install PostgreSQL server binaries, e.g. apt-get install postgresql-15"
    )


def version_key(bindir: Path) -> tuple[int, ...]:
    """Sort key for /usr/lib/postgresql/<version>/bin: "15" -> (15,), "9.6" -> (9, 6)."""
    parts = bindir.parent.name.split(".")
    return tuple(map(int, parts)) if all(p.isdigit() for p in parts) else (-1,)


def seconds_left(deadline: float) -> float:
    """Seconds until the time.monotonic() deadline."""
    return deadline - time.monotonic()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int, data_dir: Path) -> bool:
    """True if pid lives and may be data_dir's postmaster: a zombie, a non-postgres
    process or a postgres working in another directory (a reused pid) is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:  # vanished meanwhile, or no /proc: trust kill(2)
        return not Path("/proc/self/stat").exists()
    name, _, rest = text.partition(" (")[2].rpartition(") ")
    if rest[:1] == "Z" or name != "postgres":
        return False
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd")) == data_dir.resolve()
    except OSError:  # not ours to inspect: assume it is that postmaster
        return True


def parent_is_consentd(pid: int) -> bool:
    """False when /proc shows that pid's parent is not a consentd process: the postmaster of a
    consentd that was killed, adopted by init or a subreaper. True when it cannot be told."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ppid = int(stat.rpartition(") ")[2].split()[1])
        cmdline = Path(f"/proc/{ppid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return True
    return b"consentd" in cmdline


def clean_env(**extra: str) -> dict[str, str]:
    """Our environment minus PG* variables (PGDATA, PGOPTIONS...), with C messages."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return {**env, "LC_ALL": "C", **extra}


def check_searchable(path: Path, user: pwd.struct_passwd) -> None:
    """Raise EmbeddedPostgresError unless user can traverse every ancestor of path."""
    for parent in reversed(path.parents):
        st = parent.stat()
        mine, ours = st.st_uid == user.pw_uid, st.st_gid == user.pw_gid
        bit = stat.S_IXUSR if mine else stat.S_IXGRP if ours else stat.S_IXOTH
        if not st.st_mode & bit:
            raise EmbeddedPostgresError(
                f"user {user.pw_name!r}, which runs PostgreSQL when we are root, cannot "
                f"traverse {parent}: chmod o+x {parent}, or put the data dir elsewhere"
            )


def server_user() -> pwd.struct_passwd | None:
    """None unless root; then the `postgres` user, or EmbeddedPostgresError if missing."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise EmbeddedPostgresError(
            "PostgreSQL refuses to run as root and there is no 'postgres' user: create "
            "one (useradd --system postgres) or run consentd as a normal user"
        ) from None


def postmaster_of(data_dir: Path) -> tuple[int, int] | None:
    """The pid and port of the postmaster running in data_dir (its postmaster.pid), or None."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, PermissionError):
        return None
    if len(lines) < 4 or not lines[0].strip().isdigit() or not lines[3].strip().isdigit():
        return None
    pid = int(lines[0].strip())
    return (pid, int(lines[3].strip())) if pid_alive(pid, data_dir) else None


def stop_orphan(
    pid: int, data_dir: Path, timeout: float = 30.0, kill: Callable[[int], None] | None = None
) -> bool:
    """Fast shutdown (SIGINT) of data_dir's postmaster `pid`, which is not our child; after
    `timeout` seconds `kill(pid)` (SIGKILL to it alone by default; postgres/cluster.kill_cluster
    takes its children too: frozen ones left holding the shared memory kept the next start
    from running). Returns once it is gone: whether it had to be killed."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
    deadline, killed = time.monotonic() + timeout, False
    while pid_alive(pid, data_dir):
        if seconds_left(deadline) <= 0:
            with contextlib.suppress(ProcessLookupError):
                (kill or _sigkill)(pid)
            deadline, killed = time.monotonic() + timeout, True
        time.sleep(0.05)
    return killed


def _sigkill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


# Free space under which a failed start names it: the log saying why is on the same disk.
LOW_DISK_BYTES = 64 * 1024 * 1024


def log_tail(log_file: Path, offset: int, lines: int = 20) -> str:
    """The last `lines` lines the server logged in log_file after offset, and the free space
    of its disk when that is low (a full disk cut the log short of the reason: serve ended on
    "its log ends:" and nothing; probe N)."""
    try:
        with log_file.open("rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace").replace("\0", "").strip()
    except FileNotFoundError:
        text = ""
    tail = "\n".join(text.splitlines()[-lines:]) or "(empty)"
    try:
        free = shutil.disk_usage(log_file.parent).free
    except OSError:
        return tail
    if free < LOW_DISK_BYTES:
        tail += (
            f"\n(the disk holding {log_file.parent} has {free // 1024} KiB free: free some "
            "space, then start again)"
        )
    return tail


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid on the first line of data_dir's postmaster.pid (a single-user backend writes
    it negated); None without the file or a number there."""
    try:
        first = (data_dir / "postmaster.pid").read_text().split("\n", 1)[0].strip().lstrip("-")
    except OSError:
        return None
    return int(first) if first.isdigit() else None


def remove_stale_pid(data_dir: Path, deadline: float) -> None:
    """Delete data_dir's postmaster.pid once its pid is dead (a dying one gets up to 2 s);
    EmbeddedPostgresError if that postmaster still lives."""
    pid = postmaster_pid(data_dir)
    grace = time.monotonic() + min(2.0, seconds_left(deadline))
    while pid is not None and pid_alive(pid, data_dir):
        if time.monotonic() > grace:
            msg = f"{data_dir} is in use by postgres pid {pid}: stop it first"
            raise EmbeddedPostgresError(f"{msg} (kill -INT {pid})")
        time.sleep(0.05)
    (data_dir / "postmaster.pid").unlink(missing_ok=True)
