"""A tenant's name heads the mails sent in its name: one line, changed by a rename only."""

from __future__ import annotations

from uuid import uuid4

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from consentd.app.admin import AdminUseCases
from consentd.bootstrap import App
from consentd.domain.errors import FailedPrecondition, InvalidInput, NotFound
from consentd.domain.tenancy import Scope
from consentd.store.tables import audit_entries
from consentd.store.uow import set_tenant
from tests.conftest import owner


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


async def test_a_name_is_changed_by_rename_not_dropped_by_create(
    admin: AdminUseCases, app: App
) -> None:
    """`tenants create acme --name X` on an existing tenant exited 0 and changed nothing: its
    mails stayed headed by the slug (probe IC). A different name is refused with the command
    that renames; the same name, or none, is the idempotent create; a rename is audited."""
    slug = f"t-{uuid4().hex[:12]}"
    made = await admin.create_tenant(slug)
    assert made.name == slug
    assert (await admin.create_tenant(slug)).name == slug
    with pytest.raises(FailedPrecondition, match=f"tenants rename {slug} NAME"):
        await admin.create_tenant(slug, "Acmetel SAS")
    assert (await admin.tenant(slug)).name == slug

    renamed = await admin.rename_tenant(slug, "Acmetel SAS")
    assert (renamed.tenant_id, renamed.name) == (made.tenant_id, "Acmetel SAS")
    assert (await admin.create_tenant(slug, "Acmetel SAS")).name == "Acmetel SAS"
    await admin.rename_tenant(slug, "Acmetel SAS")  # the same name: nothing more audited
    for wrong in ("", "Evil\r\nBcc: x@example.fr"):
        with pytest.raises(InvalidInput):
            await admin.rename_tenant(slug, wrong)
    with pytest.raises(NotFound):
        await admin.rename_tenant(f"t-{uuid4().hex[:12]}", "Nobody")

    await app.sequencer.drain(made.tenant_id)  # the entries are queued; it integrates them
    async with owner(app).connect() as conn:
        await set_tenant(conn, made.tenant_id)
        query = sa.select(audit_entries.c.payload).where(
            audit_entries.c.tenant_id == made.tenant_id,
            audit_entries.c.action == "tenant.renamed",
        )
        payloads = (await conn.execute(query)).scalars().all()
    assert payloads == [{"name": "Acmetel SAS"}]


async def test_a_key_name_is_one_line(admin: AdminUseCases) -> None:
    """A key's name is shown as it is in `keys list` and its audit entry: a line break or a
    bidi control in it was stored (probe WC)."""
    made = await admin.create_tenant(f"t-{uuid4().hex[:12]}")
    for name in ("ci\nroot", "ci\u202eyek"):
        with pytest.raises(InvalidInput, match=r"one line|format characters") as raised:
            await admin.issue_key(made.slug, [Scope.CHECK.value], name=name)
        assert raised.value.field == "name"
    _, stored = await admin.issue_key(made.slug, [Scope.CHECK.value], name="CRM sync (prod)")
    assert stored.name == "CRM sync (prod)"


async def test_an_issuers_name_and_audience_are_one_line(admin: AdminUseCases) -> None:
    """`issuers list` printed a forged second line from an issuer holding a line break and a
    bidi control (probe YA)."""
    made = await admin.create_tenant(f"t-{uuid4().hex[:12]}")
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    for issuer, audience in (("https://idp.example/\u202eevil", "aud"), ("https://i", "a\r\nx")):
        with pytest.raises(InvalidInput, match=r"one line|format characters"):
            await admin.put_issuer(made.slug, issuer, audience, pem)
    await admin.put_issuer(made.slug, "https://idp.example", "consentd", pem)
    assert [i.issuer for i in await admin.issuers(made.slug)] == ["https://idp.example"]
