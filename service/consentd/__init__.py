"""consentd: marketing consent, cookie choices and opt-outs with proof, served over gRPC."""

import os

# consentd starts child processes (the embedded PostgreSQL, `serve --workers` children) while
# gRPC's threads run. gRPC's fork handlers, run in the forked child before its exec, can crash it
# (a segmentation fault: the child never becomes postgres). A fork that execs at once needs
# none of them: they are off unless the environment asks for them. Read when gRPC is first
# imported, which this package's import precedes.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
# gRPC's core writes its own plain-text lines to stderr, some for every call a client sends
# (`Compression algorithm 'gzip' is disabled`: 300 calls without a key, 300 lines outside the
# JSON log, no rate limit; probe BQ). Off unless the environment asks (GRPC_VERBOSITY=ERROR):
# every refusal is answered, logged and counted by consentd itself.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
