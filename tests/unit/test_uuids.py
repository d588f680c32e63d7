"""Ids read back as consentd wrote them (probe WA: uuid.UUID took other scripts' digits)."""

from __future__ import annotations

from uuid import UUID

import pytest

from consentd.domain.uuids import uuid_in

ID = "6c964932-1b2a-4c3d-8e9f-0a1b2c3d4e5f"


@pytest.mark.parametrize("written", [ID, ID.upper(), ID.replace("-", "")])
def test_the_forms_consentd_reads(written: str) -> None:
    assert uuid_in(written) == UUID(ID)


@pytest.mark.parametrize(
    "written",
    [
        "\uff16" + ID[1:],  # a full-width six
        "\u0666" + ID[1:],  # an Arabic-Indic six
        f"urn:uuid:{ID}",
        f"{{{ID}}}",
        ID.replace("-", "")[:8] + "-" + ID.replace("-", "")[8:],  # one hyphen
        "6c96-4932" + ID[8:],
        f" {ID}",
        f"{ID}\n",
        "",
    ],
    ids=repr,
)
def test_other_spellings_are_refused(written: str) -> None:
    with pytest.raises(ValueError, match="not a UUID"):
        uuid_in(written)
