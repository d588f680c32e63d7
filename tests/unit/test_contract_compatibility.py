"""`buf breaking` against the committed baseline image (protos/baseline.binpb, what `make proto`
runs) refuses an edit that breaks released clients and lets a compatible addition through."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUF = ROOT / "node_modules" / ".bin" / "buf"
CONSENT = Path("protos/consent/v1/consent.proto")
CHECK_RESPONSE_FIELD = "  string subject_id = 5;\n"


def _copy(tmp_path: Path) -> Path:
    """A scratch copy of the module and its baseline, to edit freely."""
    shutil.copytree(ROOT / "protos", tmp_path / "protos")
    shutil.copy(ROOT / "buf.yaml", tmp_path / "buf.yaml")
    return tmp_path


def _edit(root: Path, old: str, new: str) -> None:
    path = root / CONSENT
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def _breaking(root: Path) -> subprocess.CompletedProcess[str]:
    if not BUF.exists():
        pytest.fail("node_modules/.bin/buf is missing: run `make setup`")
    return subprocess.run(
        [str(BUF), "breaking", "--against", "protos/baseline.binpb"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_committed_protos_match_the_baseline() -> None:
    """The contract as committed breaks nothing the baseline promised."""
    result = _breaking(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("old", "new", "reported"),
    [
        (CHECK_RESPONSE_FIELD, "  string subject_uuid = 5;\n", "subject_uuid"),
        (CHECK_RESPONSE_FIELD, "  bytes subject_id = 5;\n", "type"),
        (CHECK_RESPONSE_FIELD, "", "deleted"),
        (
            "  rpc GetSubjectConsents(GetSubjectConsentsRequest)"
            " returns (GetSubjectConsentsResponse) {\n"
            "    option idempotency_level = NO_SIDE_EFFECTS;\n  }\n",
            "",
            "GetSubjectConsents",
        ),
    ],
    ids=["renamed-field", "retyped-field", "deleted-field", "deleted-rpc"],
)
def test_a_breaking_edit_is_caught(tmp_path: Path, old: str, new: str, reported: str) -> None:
    """Renaming, retyping or deleting a field, or deleting an RPC, fails the check by name."""
    root = _copy(tmp_path)
    _edit(root, old, new)
    result = _breaking(root)
    assert result.returncode != 0
    assert reported in result.stdout + result.stderr


def test_an_added_field_is_compatible(tmp_path: Path) -> None:
    """A new field is what evolving the contract looks like: it passes."""
    root = _copy(tmp_path)
    _edit(root, CHECK_RESPONSE_FIELD, CHECK_RESPONSE_FIELD + "  string explanation = 7;\n")
    result = _breaking(root)
    assert result.returncode == 0, result.stdout + result.stderr
