"""What the contact-point history (migration 0012) costs consentd_check(): the same batches of
checks by e-mail against the same data, with 0008's function and with 0012's, called in turn.

    .venv/bin/python bench/check_history.py [--subjects 20000] [--batch 1000] [--rounds 30]

Starts a throwaway PostgreSQL, migrates to 0008, seeds subjects (one e-mail, one grant each),
upgrades to 0012 (a tenth of the addresses then get an earlier, erased holder), creates 0008's
function beside 0012's under another name, and times the same batches through each in turn, as
the runtime role (row-level security applies), so that a busy machine slows both alike. Prints
the median and p90 milliseconds per batch of each. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from consentd.store.database import migrate, provision_runtime_role
from consentd.store.embedded import EmbeddedPostgres

TENANT = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
SEED = """
DO $$
BEGIN
    PERFORM set_config('consentd.tenant_id', '{tenant}', true);
    INSERT INTO tenants (tenant_id, slug, name, processing_role, created_at)
    VALUES ('{tenant}', 'bench', 'bench', 'processor', now());
    INSERT INTO purposes (tenant_id, purpose_id, lawful_basis, display_name, description,
        max_validity_days, created_at, updated_at)
    VALUES ('{tenant}', 'newsletter', 'consent', '', '', 0, now(), now());
    CREATE TEMP TABLE seed AS SELECT i, gen_random_uuid() AS subject_id,
        gen_random_uuid() AS event_id, sha256(('bench-' || i)::bytea) AS digest
        FROM generate_series(1, {subjects}) i;
    INSERT INTO subjects (tenant_id, subject_id, created_at)
        SELECT '{tenant}', subject_id, now() - interval '2 days' FROM seed;
    INSERT INTO subject_identifiers (tenant_id, kind, digest, subject_id, created_at)
        SELECT '{tenant}', 'email', digest, subject_id, now() - interval '2 days' FROM seed;
    INSERT INTO consent_events (tenant_id, event_id, subject_id, purpose_id, channel, scope,
        state, source, actor, processing_role, recorded_at, evidence_reference)
        SELECT '{tenant}', event_id, subject_id, 'newsletter', 'email', 'first_party',
            'granted', 'import', 'bench', 'processor', now() - interval '1 day', '' FROM seed
        ORDER BY i;
    INSERT INTO current_consents (tenant_id, subject_id, purpose_id, channel, scope, state,
        event_id, sequence, updated_at)
        SELECT e.tenant_id, e.subject_id, e.purpose_id, e.channel, e.scope, e.state,
            e.event_id, e.sequence, e.recorded_at
        FROM consent_events e WHERE e.tenant_id = '{tenant}';
END
$$
"""
# After 0012: the open holdings came from the backfill; a tenth of the addresses also get an
# earlier holder, erased before the current one took the address.
EARLIER = """
DO $$
BEGIN
    PERFORM set_config('consentd.tenant_id', '{tenant}', true);
    CREATE TEMP TABLE earlier AS SELECT digest, gen_random_uuid() AS subject_id
        FROM subject_identifiers WHERE tenant_id = '{tenant}' AND get_byte(digest, 0) < 26;
    INSERT INTO subjects (tenant_id, subject_id, created_at, erased_at)
        SELECT '{tenant}', subject_id, now() - interval '4 days', now() - interval '3 days'
        FROM earlier;
    INSERT INTO contact_point_holdings (tenant_id, holding_id, kind, digest, subject_id,
        held_from, held_until)
        SELECT '{tenant}', gen_random_uuid(), 'email', digest, subject_id,
            now() - interval '4 days', now() - interval '3 days' FROM earlier;
END
$$
"""
CHECK = "SELECT * FROM {function}($1, 'newsletter', 'email', 'first_party', $2, $3, $4, NULL, $5)"


async def _time(url: str, batches: list[list[bytes]], rounds: int) -> dict[str, list[float]]:
    conn: Any = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    spent: dict[str, list[float]] = {"0008": [], "0012": []}
    functions = {"0008": "consentd_check_0008", "0012": "consentd_check"}
    try:
        for index in range(rounds):
            digests = batches[index % len(batches)]
            for name, function in functions.items():
                started = time.perf_counter()
                rows = await conn.fetch(
                    CHECK.format(function=function),
                    TENANT,
                    ["email"] * len(digests),
                    digests,
                    [None] * len(digests),
                    datetime.now(UTC),
                )
                spent[name].append((time.perf_counter() - started) * 1000)
                assert len(rows) == len(digests)
        return spent
    finally:
        await conn.close()


def _old_function() -> str:
    """0008's consentd_check under another name (from 0012's downgrade text)."""
    path = Path(__file__).parents[1] / "migrations/versions/0012_contact_point_history.py"
    spec = importlib.util.spec_from_file_location("consentd_migration_0012", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.CHECK_FUNCTION_0008
    return text.replace("CREATE FUNCTION consentd_check(", "CREATE FUNCTION consentd_check_0008(")


def _figures(name: str, spent: list[float]) -> str:
    ordered = sorted(spent)
    p90 = ordered[int(len(ordered) * 0.9)]
    return f"{name}: median {statistics.median(spent):.1f} ms, p90 {p90:.1f} ms per batch"


async def _run(args: argparse.Namespace, server: EmbeddedPostgres) -> None:
    server.create_database("bench")
    owner = server.url("bench")
    await migrate(owner, revision="0008")
    runtime = await provision_runtime_role(owner, "bench-runtime-password")
    conn: Any = await asyncpg.connect(owner.replace("postgresql+asyncpg://", "postgresql://"))
    await conn.execute(SEED.format(tenant=TENANT, subjects=args.subjects))
    digests = [
        r["d"]
        for r in await conn.fetch(
            "SELECT sha256(('bench-' || i)::bytea) d FROM generate_series(1, $1) i", args.subjects
        )
    ]
    batches = [digests[i : i + args.batch] for i in range(0, len(digests), args.batch)]
    await migrate(owner)
    await conn.execute(EARLIER.format(tenant=TENANT))
    await conn.execute(_old_function())
    await conn.execute("GRANT EXECUTE ON FUNCTION consentd_check_0008 TO consentd_app")
    await conn.execute("ANALYZE")
    await conn.close()
    await _time(runtime, batches, 5)  # warm up
    spent = await _time(runtime, batches, args.rounds)
    print(f"{args.subjects} subjects, batches of {args.batch}, {args.rounds} rounds")
    for name, figures in spent.items():
        print(_figures(name, figures))
    ratio = statistics.median(spent["0012"]) / statistics.median(spent["0008"])
    print(f"ratio of medians (0012 / 0008): {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="consentd-bench-"))
    base.chmod(0o711)
    server = EmbeddedPostgres(base / "pg", ephemeral=True)
    server.start()
    try:
        asyncio.run(_run(args, server))
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
