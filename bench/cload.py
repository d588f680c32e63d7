"""C load generators for the campaign benchmark: h2load (native gRPC) and wrk (Connect JSON),
plus pgbench (PostgreSQL's own C client) for the plain-INSERT baseline.

h2load posts one body file for every request, but it reads the file again (pread) for each
request: a rotator process (this module run as a script) rewrites the fixed-length bodies in
place a few thousand times a second (over all files), so successive requests mostly name new
subjects. Every
body of one file has the same length (e-mails are zero-padded), so any read is a whole message.

Each run returns the same figures as the Python load role of campaign.py: count, seconds, p50,
p99 (ms), errors, and `cpu`: the CPU seconds of the generator processes (h2load/wrk/pgbench and
the rotator), read from the children's rusage once they are reaped.

    .venv/bin/python bench/cload.py --rotate DIR   # the rotator (started by run_h2load)
"""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# A body maker: index -> serialized protobuf message (same length for every index).
Maker = Callable[[int], bytes]
ROTATE_EVERY = 0.0003  # seconds between two body rewrites (over all files)


def frame(message: bytes) -> bytes:
    """The gRPC length-prefixed message (uncompressed) h2load posts as the request body."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _quantiles(latencies: Sequence[float]) -> tuple[float, float]:
    """p50, p99 in ms from latencies in ms."""
    if len(latencies) < 2:
        return (latencies[0] if latencies else 0.0), 0.0
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49], cuts[98]


# --------------------------------------------------------------------------------------------
# h2load
# --------------------------------------------------------------------------------------------


class Target:
    """One h2load process: a URL, its headers and its body file, `streams` in flight."""

    def __init__(self, url: str, headers: dict[str, str], body: Path, streams: int) -> None:
        self.url, self.headers, self.body, self.streams = url, headers, body, streams


def grpc_headers(token: str) -> dict[str, str]:
    return {
        "content-type": "application/grpc",
        "te": "trailers",
        "authorization": f"Bearer {token}",
    }


def write_bodies(folder: Path, makers: Sequence[tuple[Maker, int]]) -> list[Path]:
    """One file per (maker, first index): the rotator's spec file beside them."""
    paths = []
    spec = []
    for number, (_, first) in enumerate(makers):
        path = folder / f"body{number}"
        paths.append(path)
        spec.append(f"{path}\t{first}")
    for path, (maker, first) in zip(paths, makers, strict=True):
        path.write_bytes(frame(maker(first)))
    (folder / "spec").write_text("\n".join(spec))
    return paths


def run_h2load(
    targets: Sequence[Target],
    seconds: float,
    warmup: float,
    rotate: str | None = None,
) -> dict[str, Any]:
    """Every target's h2load at once (one process each) for `seconds` after `warmup`; with
    `rotate` (a "module:function" the rotator imports, see _rotate), bodies change in place."""
    before = _children_cpu()
    with tempfile.TemporaryDirectory(prefix="consentd-h2load-") as tmp:
        rotator = None
        if rotate:
            folder = targets[0].body.parent
            argv = [sys.executable, __file__, "--rotate", str(folder), rotate]
            rotator = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        procs, logs = [], []
        for number, target in enumerate(targets):
            log = Path(tmp) / f"log{number}"
            logs.append(log)
            argv = ["h2load", "-c", "1", "-m", str(target.streams), "-t", "1"]
            argv += ["-D", f"{seconds:g}", f"--warm-up-time={warmup:g}"]
            argv += ["-d", str(target.body), f"--log-file={log}"]
            for name, value in target.headers.items():
                argv += ["-H", f"{name}: {value}"]
            procs.append(subprocess.Popen([*argv, target.url], stdout=subprocess.PIPE, text=True))
        outputs = [proc.communicate()[0] for proc in procs]
        if rotator is not None:
            rotator.terminate()
            rotator.wait()
        latencies, errors = _read_logs(logs)
    failed = sum(_h2load_failed(out) for out in outputs)
    p50, p99 = _quantiles(latencies)
    return {
        "count": len(latencies),
        "seconds": seconds,
        "p50": p50,
        "p99": p99,
        "errors": errors + failed,
        "cpu": _children_cpu() - before,
    }


def _read_logs(logs: Sequence[Path]) -> tuple[list[float], int]:
    """Latencies (ms) of the 200 answers the logs hold (measurement period only), non-200s."""
    latencies: list[float] = []
    errors = 0
    for log in logs:
        if not log.exists():
            continue
        for line in log.read_text().splitlines():
            fields = line.split("\t")
            if len(fields) < 3:
                continue
            if fields[1] == "200":
                latencies.append(int(fields[2]) / 1000)
            else:
                errors += 1
    return latencies, errors


def _h2load_failed(output: str) -> int:
    match = re.search(r"(\d+) failed, (\d+) errored", output)
    return int(match.group(1)) + int(match.group(2)) if match else 0


def _rotate(folder: Path, function: str) -> None:
    """Rewrite every body file of `folder` in place with the next index, until terminated."""
    import importlib

    module, name = function.split(":")
    sys.path.insert(0, str(Path(__file__).parent))
    makers: Callable[[int], Maker] = getattr(importlib.import_module(module), name)
    files = []
    for number, line in enumerate((folder / "spec").read_text().splitlines()):
        path, first = line.split("\t")
        files.append((os.open(path, os.O_WRONLY), makers(number), int(first)))
    index = 1
    while True:  # one file per step: the total rewrite rate (and CPU) is the same for 1 or 50
        for fd, maker, first in files:
            os.pwrite(fd, frame(maker(first + index)), 0)
            time.sleep(ROTATE_EVERY)
        index += 1


# --------------------------------------------------------------------------------------------
# wrk (Connect JSON over HTTP/1.1) and pgbench (plain INSERT)
# --------------------------------------------------------------------------------------------


def run_wrk(
    url: str, script: str, connections: int, seconds: float, warmup: float
) -> dict[str, Any]:
    """wrk with a Lua script (its own request bodies); a warm-up run first, then the measured
    one. wrk's `--latency` prints the percentiles."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        argv = ["wrk", "-t", "1", "-c", str(connections), "-s", lua.name, "--latency"]
        if warmup > 0:
            subprocess.run([*argv, "-d", f"{warmup:g}s", url], capture_output=True, check=True)
        before = _children_cpu()
        done = subprocess.run(
            [*argv, "-d", f"{seconds:g}s", url], capture_output=True, text=True, check=True
        )
        cpu = _children_cpu() - before
    finally:
        os.unlink(lua.name)
    return {**_wrk_figures(done.stdout, seconds), "cpu": cpu}


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _wrk_figures(output: str, seconds: float) -> dict[str, Any]:
    def percentile(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
        return float(match.group(1)) * _UNIT_MS[match.group(2)] if match else 0.0

    total = re.search(r"(\d+) requests in", output)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(bad.group(1)) if bad else 0
    errors += sum(int(x) for x in socket.groups()) if socket else 0
    count = int(total.group(1)) - (int(bad.group(1)) if bad else 0) if total else 0
    return {
        "count": count,
        "seconds": seconds,
        "p50": percentile("50"),
        "p99": percentile("99"),
        "errors": errors,
    }


def run_pgbench(
    dsn: str, script: str, clients: int, seconds: float, warmup: float
) -> dict[str, Any]:
    """pgbench running `script` (one statement = one durable transaction) with `clients`
    connections: a warm-up run, then a measured one with per-transaction latencies logged."""
    from consentd.store.embedded import find_bindir

    pgbench = str(Path(find_bindir()) / "pgbench")
    with tempfile.TemporaryDirectory(prefix="consentd-pgbench-") as tmp:
        path = Path(tmp) / "script.sql"
        path.write_text(script)
        argv = [pgbench, "-n", "-M", "prepared", "-c", str(clients), "-j", "1", "-f", str(path)]
        if warmup > 0:
            subprocess.run(
                [*argv, "-T", str(max(1, round(warmup))), dsn], check=True, capture_output=True
            )
        before = _children_cpu()
        argv += ["-T", str(max(1, round(seconds))), "-l", "--log-prefix", f"{tmp}/log"]
        done = subprocess.run([*argv, dsn], capture_output=True, text=True, check=True, cwd=tmp)
        cpu = _children_cpu() - before
        latencies = [
            int(line.split()[2]) / 1000
            for log in Path(tmp).glob("log*")
            for line in log.read_text().splitlines()
        ]
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    p50, p99 = _quantiles(latencies)
    return {
        "count": len(latencies),
        "seconds": float(max(1, round(seconds))),
        "p50": p50,
        "p99": p99,
        "errors": int(failed.group(1)) if failed else 0,
        "cpu": cpu,
    }


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--rotate":
        _rotate(Path(sys.argv[2]), sys.argv[3])
