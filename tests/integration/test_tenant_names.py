"""A tenant's name heads the mails sent in its name: one line."""

from __future__ import annotations

from uuid import uuid4

import pytest

from consentd.app.admin import AdminUseCases
from consentd.domain.errors import InvalidInput


@pytest.mark.parametrize("name", ["Evil\r\nBcc: victim@example.fr", "Acme\u202egnp.exe"])
async def test_a_tenant_name_with_a_line_break_or_a_bidi_control_is_refused(
    admin: AdminUseCases, name: str
) -> None:
    """`tenants create --name $'Evil\\r\\nBcc: ...'` was taken: every mail of the tenant then
    failed (the mail library refuses the header), a rights request answered INTERNAL."""
    with pytest.raises(InvalidInput, match=r"one line|format characters"):
        await admin.create_tenant(f"t-{uuid4().hex[:12]}", name)
    made = await admin.create_tenant(f"t-{uuid4().hex[:12]}", "Acme Télécom")
    assert made.name == "Acme Télécom"
