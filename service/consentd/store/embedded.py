"""Moved: the embedded PostgreSQL is a process to supervise, not a store, and lives in
consentd.postgres now. This alias only keeps imports of branches written before the move (and
bench/) working; delete it once nothing imports consentd.store.embedded."""

from consentd.postgres.embedded import EmbeddedPostgres, EmbeddedPostgresError
from consentd.postgres.host import default_data_dir, find_bindir

__all__ = ["EmbeddedPostgres", "EmbeddedPostgresError", "default_data_dir", "find_bindir"]
