"""consentd_check() reads every table by index again under row-level security.

Why: 0006's function joined current_consents, consent_events, subjects and the block tables on
`coalesce(i.subject_id, s.subject_id)`, the subject resolved from a digest or an id. Under the
forced row-level security of 0002 PostgreSQL may only push a condition into an index scan ahead
of the `tenant_isolation` policy if it cannot leak values, and it treats any COALESCE as leaky: as
the runtime role every per-subject lookup became a sequential scan (1,000 known subjects on 10,000
stored: 12 s per call instead of 0.07 s; the owner, who bypasses row-level security in a test,
never saw it). Materialising the resolved subjects turns the join key into a plain column, which
the planner may use in an index condition. Same answers, same signature, same grants (CREATE OR
REPLACE keeps them).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEAKY = "), subject AS ("
MATERIALISED = "), subject AS MATERIALIZED ("


def _check_function_of_0006() -> str:
    """0006's consentd_check, as CREATE OR REPLACE."""
    path = Path(__file__).with_name("0006_consent_change_feed.py")
    spec = importlib.util.spec_from_file_location("consentd_migration_0006", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.CHECK_FUNCTION
    if LEAKY not in text:
        raise RuntimeError("0006's check function changed: update 0008")
    return text.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def upgrade() -> None:
    op.execute(_check_function_of_0006().replace(LEAKY, MATERIALISED, 1))


def downgrade() -> None:
    op.execute(_check_function_of_0006())
