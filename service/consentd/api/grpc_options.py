"""The gRPC port's transport limits (grpc.aio server options): messages, streams, windows,
connections, compression. Each is a bound a hostile client met before it was set."""

from __future__ import annotations

from consentd.api.http_guard import MAX_HEAD_BYTES, descriptor_share

# The largest message a caller may send: the largest the contract takes is a notice's text
# (200,000 characters, 800 KB at most) or 1,000 recipients of a bulk check (~270 KB). At 4 MiB,
# one connection's 100 calls each holding a message that never ended held 400 MiB (probe DH).
MAX_RECEIVE_BYTES = 1024 * 1024
# The largest answer (a page of history, of rights requests).
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
STREAM_WINDOW_BYTES = 64 * 1024
# A connection without a call for this long is closed (GOAWAY: its client reconnects when it
# calls again); calls in flight, streams included, keep a connection busy.
IDLE_CONNECTION_MS = 10 * 60 * 1000
# Calls in flight on one connection at most (HTTP/2's SETTINGS_MAX_CONCURRENT_STREAMS; Go's
# HTTP/2 server's own default): grpc refuses the rest (REFUSED_STREAM, UNAVAILABLE: consentd's
# Python client retries it, a plain grpc channel does not), so a client keeping more in flight
# opens more connections. At 1,000, one
# connection's calls each holding a message that never ended held 80 MB, then 400 MiB (probes
# DD, DH); at 100, a client with 128 in flight on one channel lost 25 (probe DK). Each waits
# READ_SECONDS at most for its message (api/handler_kinds.py).
MAX_STREAMS_PER_CONNECTION = 250
# A call's metadata (its request head) at most, as the browser port's head: grpc's own bound
# was a soft 8 KiB enforced by chance and a hard one past 12 MiB, parsed before the caller is
# known; 80 calls of one connection, each holding an 8 MiB header while its message never
# came, held 2 GB (probe TC). Advertised as HTTP/2's SETTINGS_MAX_HEADER_LIST_SIZE.
MAX_METADATA_BYTES = MAX_HEAD_BYTES
# A connection must send HTTP/2's preface and settings, and acknowledge the server's, within
# this (grpc's defaults held a connection that sent nothing for 60 s to 2 minutes: 170 new
# idle connections a second, no key needed, kept the port full and every client out; probe
# GC). Every HTTP/2 client does it at once.
HANDSHAKE_MS = 10_000


def grpc_connection_limit() -> int:
    """Connections the gRPC port holds at most: half the process's file descriptors (a quarter
    goes to the browser port, the rest to PostgreSQL and the logs), between 256 and 100,000."""
    return descriptor_share(2, 256, 100_000)


def grpc_options(*, reuse_port: bool) -> list[tuple[str, int]]:
    """`reuse_port`: several processes may listen on the same port (SO_REUSEPORT)."""
    return [
        ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.so_reuseport", 1 if reuse_port else 0),
        # A client holding thousands of connections took every file descriptor (20,000 here):
        # PostgreSQL connections and the browser port failed with them. Past half of them the
        # port closes new connections; connections left without a call are closed after a while
        # (clients reconnect on their own); one connection may not open streams without end.
        ("grpc.max_allowed_incoming_connections", grpc_connection_limit()),
        ("grpc.max_connection_idle_ms", IDLE_CONNECTION_MS),
        ("grpc.server_handshake_timeout_ms", HANDSHAKE_MS),
        ("grpc.http2.settings_timeout", HANDSHAKE_MS),
        ("grpc.max_concurrent_streams", MAX_STREAMS_PER_CONNECTION),
        ("grpc.max_metadata_size", MAX_METADATA_BYTES),
        ("grpc.absolute_max_metadata_size", MAX_METADATA_BYTES),
        # What a call not read yet may send ahead (HTTP/2's stream window), and no window grown
        # past it: grpc advertised 4 MiB a stream, so one connection's 100 calls held 400 MiB of
        # messages that never ended (probe DH).
        ("grpc.http2.lookahead_bytes", STREAM_WINDOW_BYTES),
        ("grpc.http2.bdp_probe", 0),
        # Requests uncompressed only (identity): a gzip body was inflated before the caller was
        # authenticated (a bomb of 8.8 KB to 4 MiB, 12x the CPU of a plain refused call) and
        # garbage in it was INTERNAL (probe O). Refused at once.
        ("grpc.compression_enabled_algorithms_bitset", 1),
    ]
