"""What reading from the synchronous standby would cost and give, measured with pgbench on the
local Patroni cluster (tools/ha_cluster.py): commit latency with synchronous_commit = on (the
default: the standby has the WAL on disk) versus remote_apply (the standby has applied it, so a
check there sees every acknowledged withdrawal), and select-only throughput on the primary versus
the synchronous standby. Not a test; prints one table.
Run: .venv/bin/python bench/ha_standby_reads.py [--seconds 10] [--clients 4]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from ha_cluster import SUPERUSER, HaCluster, Node


def pgbench(
    cluster: HaCluster, port: int, args: list[str], options: str = ""
) -> tuple[float, float]:
    """(transactions per second, mean latency in ms) of one pgbench run."""
    argv = [str(cluster.bindir / "pgbench"), "-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER]
    env = {**os.environ, "PGPASSWORD": cluster.password, "PGOPTIONS": options}
    done = subprocess.run(
        [*argv, *args, "postgres"], capture_output=True, env=env, timeout=600, check=True
    )
    out = done.stdout.decode()
    tps = re.search(r"tps = ([\d.]+)", out)
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    assert tps, out
    assert latency, out
    return float(tps.group(1)), float(latency.group(1))


def sync_standby(cluster: HaCluster) -> Node:
    member = next(m for m in cluster.members() if m.get("role") == "sync_standby")
    return cluster.node(member["name"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="length of each run")
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    cluster = HaCluster(synchronous=True)
    cluster.start()
    try:
        init = [str(cluster.bindir / "pgbench"), "-i", "-q", "-s", "5", "-h", "127.0.0.1"]
        init += ["-p", str(cluster.port), "-U", SUPERUSER, "postgres"]
        env = {**os.environ, "PGPASSWORD": cluster.password}
        subprocess.run(init, capture_output=True, env=env, timeout=600, check=True)
        cluster.wait_healthy()
        run = ["-c", str(args.clients), "-j", "2", "-T", str(args.seconds), "-n"]
        rows = []
        for mode in ("on", "remote_apply"):
            tps, ms = pgbench(cluster, cluster.port, [*run, "-N"], f"-c synchronous_commit={mode}")
            rows.append((f"writes (pgbench -N), synchronous_commit={mode}", tps, ms))
        standby = sync_standby(cluster)
        for name, port in (("primary", cluster.port), ("synchronous standby", standby.pg_port)):
            tps, ms = pgbench(cluster, port, [*run, "-S"])
            rows.append((f"reads (pgbench -S) on the {name}", tps, ms))
    finally:
        cluster.stop()
    print(f"{'run':<58} {'tps':>9} {'mean ms':>8}")
    for name, tps, ms in rows:
        print(f"{name:<58} {tps:>9.0f} {ms:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
