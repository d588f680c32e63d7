"""consentd's test suite."""

import os

# The tests start PostgreSQL, servers and tools as child processes while gRPC channels are open:
# gRPC's fork handlers could crash a forked child before its exec (see consentd/__init__.py).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
