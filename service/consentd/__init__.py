"""consentd: marketing consent, cookie choices and opt-outs with proof, served over gRPC."""

import os

# consentd starts child processes (the embedded PostgreSQL, `serve --workers` children) while
# gRPC's threads run. gRPC's fork handlers, run in the forked child before its exec, can crash it
# (a segmentation fault: the child never becomes postgres). A fork that execs at once needs
# none of them: they are off unless the environment asks for them. Read when gRPC is first
# imported, which this package's import precedes.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
