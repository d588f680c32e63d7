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

# HAProxy 2.6's http-check cannot send the NUL bytes of a gRPC message, so the check is a
# tcp-check speaking HTTP/2 itself: the client preface, empty SETTINGS, one HEADERS frame (HPACK
# without Huffman) for POST /grpc.health.v1.Health/Check and one DATA frame holding an empty
# HealthCheckRequest (5 bytes of gRPC framing). A SERVING answer's DATA payload is the frame
# 00 00000002 then field 1 = 1 (08 01); NOT_SERVING (08 02), an error or a dead replica fail.
SERVING_REPLY = "00000000020801"


def _frame(kind: int, flags: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + (1).to_bytes(4, "big") + payload


def _literal(name: bytes, value: bytes) -> bytes:
    """An HPACK literal header field without indexing, with a new name (lengths < 127)."""
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def health_check_request() -> str:
    """The bytes of one gRPC Health/Check call over a fresh HTTP/2 connection, as hex."""
    headers = b"\x83\x86"  # :method POST, :scheme http (HPACK static table)
    headers += b"\x01" + bytes([9]) + b"localhost"  # :authority, indexed name
    headers += b"\x04" + bytes([28]) + b"/grpc.health.v1.Health/Check"  # :path, indexed name
    headers += _literal(b"content-type", b"application/grpc") + _literal(b"te", b"trailers")
    settings = len(b"").to_bytes(3, "big") + bytes([4, 0]) + bytes(4)
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + settings
    return (preface + _frame(1, 4, headers) + _frame(0, 1, bytes(5))).hex()


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
    option tcp-check
    tcp-check connect
    tcp-check send-binary {request}
    tcp-check expect binary {reply}
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
        config.write_text(
            HAPROXY_GRPC.format(
                port=self.port, servers=servers, request=health_check_request(), reply=SERVING_REPLY
            )
        )
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
