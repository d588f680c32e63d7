"""The README stays a short map of docs/: its links and the docs' links lead to files of the
repository, and docs/configuration.md lists every variable the service reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PAGES = sorted([ROOT / "README.md", ROOT / "migrations" / "README.md", *ROOT.glob("docs/*.md")])
LINK = re.compile(r"\]\(([^)\s]+)\)")
MAX_README_LINES = 200


def links(page: Path) -> list[str]:
    """The targets of the page's Markdown links, without their #fragment."""
    return [target.split("#", 1)[0] for target in LINK.findall(page.read_text(encoding="utf-8"))]


def broken_links(page: Path, root: Path) -> list[str]:
    """Links that leave the repository (absolute, ../ past the root, a URL) or lead nowhere."""
    found = []
    for target in links(page):
        resolved = (page.parent / target).resolve()
        if "://" in target or target.startswith("/") or not resolved.is_relative_to(root):
            found.append(f"{page.name}: {target} leaves the repository")
        elif target and not resolved.exists():
            found.append(f"{page.name}: {target} does not exist")
    return found


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_link_leads_to_a_file_of_the_repository(page: Path) -> None:
    """README, migrations/README.md and docs/ link only to files that exist in this repository."""
    assert broken_links(page, ROOT.resolve()) == []


def test_link_checker_reports_links_outside_the_repository_and_missing_files(
    tmp_path: Path,
) -> None:
    """A link to ../shared, to an absolute path or a URL, or to a missing file is reported."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "here.md").write_text("x")
    page = tmp_path / "README.md"
    page.write_text(
        "[a](../shared/DESIGN.md) [b](/etc/passwd) [c](https://example.org) "
        "[d](docs/missing.md) [e](docs/here.md#part)"
    )
    assert broken_links(page, tmp_path.resolve()) == [
        "README.md: ../shared/DESIGN.md leaves the repository",
        "README.md: /etc/passwd leaves the repository",
        "README.md: https://example.org leaves the repository",
        "README.md: docs/missing.md does not exist",
    ]


def test_readme_is_a_short_map() -> None:
    """The README says what consentd is, the two commands, first calls, clients and a map of
    docs/; details go to a page under docs/."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines: move details to docs/"


def test_configuration_page_lists_every_variable_the_service_reads() -> None:
    """Every CONSENTD_* variable named in the service's code, and DATABASE_URL, has a row in
    docs/configuration.md."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "service").rglob("*.py"))
    read = set(re.findall(r'"(CONSENTD_[A-Z_]+|DATABASE_URL)"', source))
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([A-Z_]+)`", page, re.MULTILINE))
    assert read, "no variable found in service/"
    assert read - listed == set()
