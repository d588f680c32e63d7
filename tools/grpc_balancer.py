"""HAProxy in HTTP/2 mode in front of several consentd replicas: it balances gRPC *calls* (not
connections) and checks each replica with the gRPC health service (grpc.health.v1.Health/Check
over h2, expecting SERVING in the answer). Standard library only; used by tests/ha.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ha_cluster import exe, free_port, stop_process, wait_for

# An empty HealthCheckRequest in gRPC framing: no compression, length 0. A SERVING answer holds
# field 1 = 1 (bytes 08 01); NOT_SERVING (08 02), an error or a dead replica fail the check.
HAPROXY_GRPC = """global
    maxconn 2000
defaults
    mode http
    timeout connect 1s
    timeout client 5m
    timeout server 5m
    timeout check 1s
frontend grpc
    bind 127.0.0.1:{port} proto h2
    default_backend consentd
backend consentd
    balance roundrobin
    retries 2
    option redispatch 1
    retry-on conn-failure empty-response
    option httpchk
    http-check connect proto h2
    http-check send meth POST uri /grpc.health.v1.Health/Check ver HTTP/2 \
hdr content-type application/grpc hdr te trailers body-lf "%[bin(0000000000)]"
    http-check expect binary 0801
    default-server inter 500ms fall 2 rise 2 on-marked-down shutdown-sessions
{servers}
"""


class GrpcBalancer:
    """HAProxy on 127.0.0.1:`port` balancing gRPC over h2 to the given replicas' ports."""

    def __init__(self, folder: Path, backends: list[int]) -> None:
        self.port, self.folder, self.backends = free_port(), folder, backends
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        """Start HAProxy; return once its port accepts connections."""
        servers = "\n".join(
            f"    server c{i} 127.0.0.1:{port} proto h2 check"
            for i, port in enumerate(self.backends)
        )
        config = self.folder / "haproxy-grpc.cfg"
        config.write_text(HAPROXY_GRPC.format(port=self.port, servers=servers))
        check = subprocess.run(
            [exe("haproxy"), "-c", "-q", "-f", str(config)],
            capture_output=True,
            check=False,
            timeout=30,
        )
        if check.returncode != 0:
            raise RuntimeError(f"haproxy config: {check.stderr.decode(errors='replace')}")
        with (self.folder / "haproxy-grpc.log").open("ab") as log:
            self._proc = subprocess.Popen(
                [exe("haproxy"), "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True,
            )  # fmt: skip
        wait_for("the gRPC balancer", self._accepts, timeout)

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None

    def _accepts(self) -> bool:
        import socket  # noqa: PLC0415

        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            time.sleep(0)
            return True
