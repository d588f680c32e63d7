"""The retention commands of the argparse tree: `retention run` and `purge` (its cookie
category alone)."""

from __future__ import annotations

from consentd.cli.arguments import Commands, command, positive, seconds


def add_purge(commands: Commands) -> None:
    """`purge [--batch-size N]`."""
    purge = command(
        commands,
        "purge",
        "retention's cookie category alone: delete choices past their expiry, keeping only "
        "counts (safe to rerun; the retention job's lock)",
        "  consentd purge\n  consentd purge --batch-size 200\n",
    )
    purge.add_argument(
        "--batch-size",
        type=positive,
        default=None,
        help="rows per transaction (CONSENTD_PURGE_BATCH_SIZE)",
    )


def add_retention(commands: Commands) -> None:
    """`retention run [--dry-run] [--batch-size N] [--pause S]`."""
    retention = command(
        commands,
        "retention",
        "enforce the retention limits (batched, restartable: rerun after an interruption)",
        "  consentd retention run --dry-run\n  consentd retention run --batch-size 200 "
        "--pause 0.05\n",
    )
    retention_commands = retention.add_subparsers(dest="action", required=True)
    run = retention_commands.add_parser(
        "run", help="run the retention job once, every category and tenant (JSON report)"
    )
    run.add_argument("--dry-run", action="store_true", help="report what would go; change nothing")
    run.add_argument("--batch-size", type=positive, default=500, help="rows per transaction")
    run.add_argument("--pause", type=seconds, default=0.0, help="seconds between batches")
