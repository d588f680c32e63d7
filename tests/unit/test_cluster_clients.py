"""Which clients of a left-over PostgreSQL still hold their connection (probe JD: a killed
consentd's or psql's backend running on in a statement kept its cluster from being replaced)."""

from __future__ import annotations

import socket

from consentd.postgres.cluster import _CLIENT, _closed_ends


def test_a_client_end_open_on_this_host_is_held_and_a_closed_one_is_not() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        mine = client.getsockname()[1]
        try:
            assert _closed_ends(port, {mine, -1}) == set()  # -1: a unix socket, always held
            client.close()
            assert _closed_ends(port, {mine}) == {mine}
        finally:
            accepted.close()


def test_backend_titles_name_their_clients_port() -> None:
    found = _CLIENT.search(b"postgres: consentd_app consentd 127.0.0.1(40312) idle")
    assert found is not None
    assert found[1] == b"40312"
    local = _CLIENT.search(b"postgres: consentd postgres [local] idle")
    assert local is not None
    assert local[1] is None
    assert _CLIENT.search(b"postgres: checkpointer ") is None
    assert _CLIENT.search(b"postgres: autovacuum launcher ") is None
