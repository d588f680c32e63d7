"""Statement spans on a real PostgreSQL: what they must never carry."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from consentd.store.database import provision_runtime_role
from consentd.telemetry import Tracing


async def test_the_runtime_role_password_is_never_in_a_span(owner_url: str) -> None:
    """provision_runtime_role's ALTER ROLE (the password is a literal in the SQL) makes no span
    even while statements are traced."""
    spans = InMemorySpanExporter()
    tracing = Tracing(spans, batch=False)
    try:
        await provision_runtime_role(owner_url, "runtime-role-test-password")
        assert spans.get_finished_spans()  # statements were traced...
        recorded = repr([dict(s.attributes or {}) for s in spans.get_finished_spans()])
        assert "runtime-role-test-password" not in recorded  # ...but not that one
    finally:
        tracing.close()
