"""The repository stands alone: source and docs cite nothing outside it, and what they cite exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
TEXTS = [*sorted((ROOT / "src").rglob("*.py")), *sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
OUTSIDE = re.compile(
    r"spec-notes|wire doc|uipath-sdk-wire|\.\./shared|shared/reference|shared/seeds|/work/"
    r"|(?<!RFC \d{4} )(?<!RFC \d{3} )§\s*\d"
)
COMPAT = re.compile(r"(compat-(?:uipath|pipeliner)\.md)((?:#[a-z0-9-]+)(?:, #[a-z0-9-]+)*)")


def slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: str) -> set[str]:
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    return {slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def test_nothing_outside_the_repository_is_cited() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in TEXTS
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert found == []


def test_the_pattern_catches_outside_references() -> None:
    for line in ("see spec-notes §1.6", "(wire doc §2.3)", "`../shared/STYLE.md`", "§2.4 says"):
        assert OUTSIDE.search(line), line
    assert not OUTSIDE.search("rendered as RFC 6749 §5.2 (`error`)")


def test_every_compatibility_section_cited_exists() -> None:
    cited = [
        (path.relative_to(ROOT), page, anchor.lstrip("#"))
        for path in TEXTS
        for page, tail in COMPAT.findall(path.read_text(encoding="utf-8"))
        for anchor in tail.split(", ")
    ]
    assert len(cited) > 10
    missing = [(str(path), page, anchor) for path, page, anchor in cited if anchor not in anchors(page)]
    assert missing == []
