"""A local highly available PostgreSQL: one etcd, three Patroni-managed PostgreSQL 15 nodes with
synchronous replication, and HAProxy routing to the primary with Patroni's REST checks.

Standard library only, so an operator runs it with the system Python (`tools/ha-cluster up`);
the HA tests (tests/ha) import HaCluster. Everything listens on 127.0.0.1, lives in one
temporary folder, and every process is started here as our child and stopped by its own pid.
As root, Patroni (and the PostgreSQL it starts) runs as the `postgres` user.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCOPE = "consentd-ha"
SUPERUSER = "consentd"
# Failover in seconds: leader key TTL 20 s (Patroni's minimum), a loop every 2 s; a crashed
# primary is failed over at once (primary_start_timeout 0) instead of restarted in place.
DCS = {"ttl": 20, "loop_wait": 2, "retry_timeout": 5, "primary_start_timeout": 0}
PG_PARAMETERS = {
    "max_connections": 100,
    "shared_buffers": "32MB",
    "wal_level": "replica",
    "hot_standby": "on",
    "wal_log_hints": "on",  # pg_rewind brings a failed primary back as a standby
    "max_wal_senders": 10,
    "max_replication_slots": 10,
    "wal_keep_size": "64MB",
    "synchronous_commit": "on",
}
HAPROXY_PRIMARY = """global
    maxconn 1000
defaults
    mode tcp
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 1s
listen primary
    bind 127.0.0.1:{port}
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
{servers}
"""


class ClusterError(RuntimeError):
    """The cluster did not start, or did not reach the state asked for in time."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def exe(name: str) -> str:
    """The program's full path on PATH; ClusterError naming the Debian package if missing."""
    found = shutil.which(name)
    if found is None:
        raise ClusterError(f"{name} not found: apt-get install patroni etcd-server haproxy")
    return found


def wait_for(what: str, test: Callable[[], Any], timeout: float, every: float = 0.2) -> Any:
    """test()'s first truthy answer (exceptions count as no), or ClusterError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = test()
        except Exception:  # noqa: BLE001 - not up yet
            answer = None
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise ClusterError(f"{what}: not within {timeout:.0f} s")
        time.sleep(every)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM our child, SIGKILL it after `timeout` seconds; reaped either way."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Node:
    """One Patroni member: its ports, folder and config, and its process once started."""

    def __init__(self, base: Path, name: str) -> None:
        self.name, self.dir = name, base / name
        self.pg_port, self.rest_port = free_port(), free_port()
        self.data_dir = self.dir / "data"
        self.config = self.dir / "patroni.yml"
        self.log = self.dir / "patroni.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def rest(self, path: str, timeout: float = 2.0) -> Any:
        """GET the member's Patroni REST endpoint, parsed JSON."""
        url = f"http://127.0.0.1:{self.rest_port}{path}"
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return json.load(reply)

    def postmaster_pid(self) -> int | None:
        """The pid in the data folder's postmaster.pid, if any."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0].strip()
        except FileNotFoundError:
            return None
        return int(first) if first.isdigit() else None

    def backend_pids(self, kind: bytes) -> list[int]:
        """The pids of the postmaster's children whose title holds `kind` (b"walsender")."""
        parent = self.postmaster_pid()
        if parent is None:
            return []
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        return [int(pid) for pid in children if kind in _cmdline(int(pid))]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


class HaCluster:
    """etcd + 3 Patroni/PostgreSQL nodes + HAProxy to the primary, in `base` (a new temporary
    folder by default, removed by stop() unless CONSENTD_HA_KEEP is set, to read its logs).
    `synchronous=False` runs the same cluster with asynchronous replication (the harness's
    control run: it must lose writes)."""

    def __init__(self, base: Path | None = None, *, synchronous: bool = True, nodes: int = 3):
        self._own_base = base is None
        self.base = Path(base or tempfile.mkdtemp(prefix="consentd-ha-")).absolute()
        self.base.chmod(0o711)  # the postgres user must traverse it
        self.synchronous = synchronous
        self.password = secrets.token_urlsafe(18)
        self.etcd_port, self.etcd_peer_port, self.port = free_port(), free_port(), free_port()
        self.nodes = [Node(self.base, f"n{i}") for i in range(nodes)]
        self.bindir = _pg_bindir()
        self._etcd: subprocess.Popen[bytes] | None = None
        self._haproxy: subprocess.Popen[bytes] | None = None
        user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        self._user = user

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        """The superuser's URL through HAProxy: always the current primary."""
        return f"{driver}://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 120.0) -> None:
        """Start etcd, the nodes and HAProxy; return once a primary and every standby (the
        synchronous one named) stream and HAProxy reaches the primary. On failure, stop()."""
        deadline = time.monotonic() + timeout
        try:
            self._start_etcd(deadline)
            for node in self.nodes:
                self._start_node(node)
            self.wait_healthy(max(deadline - time.monotonic(), 1))
            self._start_haproxy(deadline)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop HAProxy, every Patroni (which stops its PostgreSQL), any postmaster left behind
        (by its own pid), then etcd; remove the folder if we made it. Safe to call twice."""
        if self._haproxy is not None:
            stop_process(self._haproxy)
        for node in self.nodes:
            if node.proc is not None:
                stop_process(node.proc, timeout=30)
            self._stop_orphan_postmaster(node)
        if self._etcd is not None:
            stop_process(self._etcd)
        if self._own_base and not os.environ.get("CONSENTD_HA_KEEP"):
            shutil.rmtree(self.base, ignore_errors=True)

    def members(self) -> list[dict[str, Any]]:
        """Patroni's view of the cluster (name, role, state, lag...), from any member."""
        for node in self.nodes:
            try:
                return list(node.rest("/cluster", timeout=1)["members"])
            except OSError:
                continue
        return []

    def leader(self) -> Node | None:
        """The member holding the leader key and running, or None."""
        for member in self.members():
            if member.get("role") == "leader" and member.get("state") == "running":
                return self.node(member["name"])
        return None

    def node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def standbys(self) -> list[Node]:
        leader = self.leader()
        return [node for node in self.nodes if leader is None or node.name != leader.name]

    def wait_healthy(self, timeout: float = 60.0) -> Node:
        """Wait for a leader and every other member running as a replica (one of them the
        synchronous standby when synchronous); the leader."""

        def healthy() -> Node | None:
            members = self.members()
            roles = [m.get("role") for m in members]
            running = all(m.get("state") in ("running", "streaming") for m in members)
            want_sync = not self.synchronous or "sync_standby" in roles
            full = len(members) == len(self.nodes) and roles.count("leader") == 1
            return self.leader() if full and running and want_sync else None

        leader: Node = wait_for("a leader and streaming standbys", healthy, timeout)
        return leader

    def kill_postmaster(self, node: Node) -> int:
        """kill -9 the node's postmaster (the machine's database dies; Patroni lives on)."""
        pid = node.postmaster_pid()
        if pid is None:
            raise ClusterError(f"{node.name} has no postmaster")
        os.kill(pid, signal.SIGKILL)
        return pid

    def switchover(self, candidate: Node | None = None) -> None:
        """patronictl switchover from the current leader (to `candidate`, else Patroni's pick)."""
        leader = self.leader()
        if leader is None:
            raise ClusterError("no leader to switch over from")
        argv = [exe("patronictl"), "-c", str(leader.config), "switchover", "--force"]
        argv += (
            ["--leader", leader.name] if _patronictl_says_leader() else ["--master", leader.name]
        )
        argv += ["--candidate", candidate.name] if candidate else []
        done = subprocess.run(argv, check=False, capture_output=True, timeout=60)
        if done.returncode != 0:
            raise ClusterError(f"switchover failed: {done.stderr.decode(errors='replace')}")

    def psql(self, sql: str, node: Node | None = None) -> str:
        """Run SQL with psql as the superuser (through HAProxy, or on one node); its output."""
        port = node.pg_port if node else self.port
        argv = [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
        argv += ["-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER, "-d", "postgres"]
        env = {**os.environ, "PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "5"}
        done = subprocess.run(
            argv, input=sql.encode(), capture_output=True, env=env, timeout=60, check=False
        )
        if done.returncode != 0:
            raise ClusterError(f"psql failed: {done.stderr.decode(errors='replace')}")
        return done.stdout.decode().strip()

    def _start_etcd(self, deadline: float) -> None:
        data = self.base / "etcd"
        peer = f"http://127.0.0.1:{self.etcd_peer_port}"
        client = f"http://127.0.0.1:{self.etcd_port}"
        argv = [exe("etcd"), "--name", "e0", "--data-dir", str(data), "--listen-peer-urls", peer]
        argv += ["--initial-advertise-peer-urls", peer, "--initial-cluster", f"e0={peer}"]
        argv += ["--listen-client-urls", client, "--advertise-client-urls", client]
        argv += ["--logger", "zap", "--log-outputs", str(self.base / "etcd.log")]
        self._etcd = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )

        def up() -> bool:
            with urllib.request.urlopen(f"{client}/health", timeout=1) as reply:  # noqa: S310
                return bool(json.load(reply).get("health") == "true")

        wait_for("etcd", up, deadline - time.monotonic())

    def _start_node(self, node: Node) -> None:
        node.dir.mkdir(mode=0o700)
        node.config.write_text(json.dumps(self._patroni_config(node), indent=2))
        if self._user is not None:
            os.chown(node.dir, self._user.pw_uid, self._user.pw_gid)
            os.chown(node.config, self._user.pw_uid, self._user.pw_gid)
        as_user: dict[str, Any] = {}
        if self._user is not None:
            as_user = {"user": "postgres", "group": self._user.pw_gid, "extra_groups": []}
        with node.log.open("ab") as log:
            node.proc = subprocess.Popen(
                [exe("patroni"), str(node.config)], stdout=log, stderr=subprocess.STDOUT,
                cwd=node.dir, start_new_session=True, env=_clean_env(), **as_user,
            )  # fmt: skip

    def _patroni_config(self, node: Node) -> dict[str, Any]:
        dcs: dict[str, Any] = {**DCS, "synchronous_mode": self.synchronous}
        dcs["synchronous_mode_strict"] = self.synchronous
        # Async control run: promote a standby however far behind (what async risks).
        dcs["maximum_lag_on_failover"] = 1 << 20 if self.synchronous else 1 << 40
        dcs["postgresql"] = {"use_pg_rewind": True, "parameters": PG_PARAMETERS}
        auth = {"username": SUPERUSER, "password": self.password}
        return {
            "scope": SCOPE,
            "name": node.name,
            "log": {"level": "WARNING"},
            "restapi": {
                "listen": f"127.0.0.1:{node.rest_port}",
                "connect_address": f"127.0.0.1:{node.rest_port}",
            },
            "etcd3": {"hosts": [f"127.0.0.1:{self.etcd_port}"]},
            "bootstrap": {
                "dcs": dcs,
                "initdb": [{"encoding": "UTF8"}, {"locale": "C"}],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{node.pg_port}",
                "connect_address": f"127.0.0.1:{node.pg_port}",
                "data_dir": str(node.data_dir),
                "bin_dir": str(self.bindir),
                "pgpass": str(node.dir / "pgpass"),
                "authentication": {
                    "superuser": auth,
                    "replication": {"username": "replicator", "password": self.password},
                    "rewind": auth,
                },
                "parameters": {"unix_socket_directories": str(node.dir)},
                "pg_hba": [
                    "local all all trust",
                    "host replication replicator 127.0.0.1/32 scram-sha-256",
                    "host all all 127.0.0.1/32 scram-sha-256",
                ],
                "remove_data_directory_on_rewind_failure": True,
                "remove_data_directory_on_diverged_timelines": True,
            },
        }

    def _start_haproxy(self, deadline: float) -> None:
        servers = "\n".join(
            f"    server {n.name} 127.0.0.1:{n.pg_port} maxconn 200 check port {n.rest_port}"
            for n in self.nodes
        )
        config = self.base / "haproxy-primary.cfg"
        config.write_text(HAPROXY_PRIMARY.format(port=self.port, servers=servers))
        with (self.base / "haproxy-primary.log").open("ab") as log:
            self._haproxy = subprocess.Popen(
                [exe("haproxy"), "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True,
            )  # fmt: skip
        # HAProxy starts every server UP until its checks fail: wait until it only ever
        # reaches the primary (several connections in a row, across its check interval).
        streak = [0]

        def primary_only() -> bool:
            writable = self.psql("SELECT NOT pg_is_in_recovery()") == "t"
            streak[0] = streak[0] + 1 if writable else 0
            return streak[0] >= 8

        wait_for("HAProxy to the primary only", primary_only, deadline - time.monotonic(), 0.25)

    def _stop_orphan_postmaster(self, node: Node) -> None:
        """A postmaster that outlived its Patroni (Patroni killed): SIGQUIT it by its pid."""
        pid = node.postmaster_pid()
        if pid is None or b"postgres" not in _cmdline(pid):
            return
        try:
            if Path(os.readlink(f"/proc/{pid}/cwd")) != node.data_dir.resolve():
                return
            os.kill(pid, signal.SIGQUIT)
        except (FileNotFoundError, ProcessLookupError):
            return
        wait_for(f"{node.name}'s postmaster to exit", lambda: not _cmdline(pid), 20)


def _patronictl_says_leader() -> bool:
    """Patroni 3.x takes --leader; older releases --master."""
    done = subprocess.run(
        [exe("patronictl"), "switchover", "--help"], capture_output=True, check=False, timeout=30
    )
    return b"--leader" in done.stdout


def _pg_bindir() -> Path:
    configured = os.environ.get("CONSENTD_PG_BINDIR")
    candidates = (
        [Path(configured)] if configured else sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    )
    for bindir in reversed(candidates):
        if (bindir / "postgres").is_file():
            return bindir
    raise ClusterError("no PostgreSQL server binaries: apt-get install postgresql-15")


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "PATRONI"))}
    return {**env, "LC_ALL": "C", "HOME": "/tmp"}  # noqa: S108 - the postgres user's scratch


def _interrupt(*_: object) -> None:
    """SIGTERM ends `tools/ha-cluster` as Ctrl-C does: through the cleanup."""
    raise KeyboardInterrupt


def main() -> int:
    """`tools/ha-cluster [--async]`: start the cluster, print how to reach it, run until Ctrl-C
    (or SIGTERM), then stop every process and remove the folder."""
    import sys  # noqa: PLC0415 - only the command line needs it

    cluster = HaCluster(synchronous="--async" not in sys.argv[1:])
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        cluster.start()
        leader = cluster.leader()
        print(f"folder:   {cluster.base}")
        print(f"primary:  {cluster.url(driver='postgresql')}  (HAProxy, follows failovers)")
        print(f"leader:   {leader.name if leader else '?'}; members:")
        for node in cluster.nodes:
            pid = node.proc.pid if node.proc else None
            print(f"  {node.name}: postgres :{node.pg_port}, REST :{node.rest_port}, pid {pid}")
        print(f"patronictl -c {cluster.nodes[0].config} list    # Ctrl-C stops everything")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    raise SystemExit(main())
