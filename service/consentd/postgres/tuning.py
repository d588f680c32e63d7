"""The server settings an embedded cluster starts with (`postgres -c name=value`).

A durable cluster (`consentd serve`'s, the benchmark's) is sized to the memory it may use:
`shared_buffers` a quarter of it, between PostgreSQL's own default (128 MB) and 1 GB, and
`max_wal_size` 4 GB (an eighth of a disk under 32 GB). PostgreSQL's defaults fit a small shared
machine; with them, an import of a million rows outgrew the buffers (indexes on random keys:
digests, subject and event ids) and checkpointed every 1 GB of WAL, each checkpoint followed by
full-page images of every page touched again. Measured (bench/campaign.py --lines import --import-
rows 1000000, one run each, this 2-core 24 GiB machine): 5,767 rows/s with the defaults, 6,206 with
max_wal_size 4 GB, 6,980 with shared_buffers 512 MB as well, 7,215 with 1 GB. The memory is the
machine's, or its control group's limit when lower (a container). A test cluster (ephemeral) keeps
the defaults and gives up durability instead. `CONSENTD_EMBEDDED_PG_SETTINGS` (config.py) adds or
overrides any setting.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

EPHEMERAL = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
# What postgres says when the kernel refuses the shared memory asked for: started again
# without the sizing (the settings given still apply).
NO_SHARED_MEMORY = "could not map anonymous shared memory"
_MB = 1 << 20
_BUFFERS_MB = (128, 1024)
_WAL_MB = (64, 4096)
_LIMITS = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))


def available_memory(limits: Iterable[Path] = _LIMITS) -> int:
    """Bytes of memory this process may use: the machine's, or a lower control-group limit."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in limits:
        try:
            limit = path.read_text().strip()
        except OSError:
            continue
        if limit.isdigit():
            memory = min(memory, int(limit))
    return memory


def sized(memory: int, folder: Path | None = None) -> tuple[str, ...]:
    """The settings of a durable cluster that may use `memory` bytes, in `folder` (None: on a
    disk of no known size): max_wal_size 4 GB, or an eighth of a smaller disk (64 MB at least).
    On a 200 MB volume the write-ahead log grew to 96 MB, not recycled before the disk was full,
    and nothing else could be freed (probe DH)."""
    disk = None if folder is None else disk_size(folder)
    low, high = _BUFFERS_MB
    buffers = max(low, min(high, memory // 4 // _MB))
    wal = _WAL_MB[1] if disk is None else max(_WAL_MB[0], min(_WAL_MB[1], disk // 8 // _MB))
    size = f"{wal // 1024}GB" if wal % 1024 == 0 else f"{wal}MB"
    return (f"shared_buffers={buffers}MB", f"max_wal_size={size}")


def disk_size(folder: Path) -> int | None:
    """The size of the disk `folder` is (or would be) on; None when none can be read."""
    for place in (folder, *folder.parents):
        if place.exists():
            try:
                return shutil.disk_usage(place).total
            except OSError:
                return None
    return None
