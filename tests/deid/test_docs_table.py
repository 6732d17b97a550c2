"""docs/deidentification.md lists, for each option, the rows the generated table gives it."""

from __future__ import annotations

import pytest

from dicomframe.core.dictionary import name_for
from tests.deid.helpers import COLUMNS, ROWS
from tests.reference import ROOT

PATTERN_NAMES = {
    0x50000000: "Curve Data (50xx,xxxx)",
    0x60003000: "Overlay Data (60xx,3000)",
    0x60004000: "Overlay Comments (60xx,4000)",
}
WORDS = {"K": "Kept", "C": "Cleaned", "X": "Still removed"}


@pytest.mark.parametrize(("option", "letter"), COLUMNS.items())
def test_option_lists_match_the_table(option: str, letter: str) -> None:
    page = (ROOT / "docs" / "deidentification.md").read_text(encoding="utf-8")
    by_action: dict[str, list[str]] = {}
    for row in ROWS:
        if letter in row.options:
            name = PATTERN_NAMES.get(row.tag) or (
                f"{name_for(row.tag)} ({row.tag >> 16:04X},{row.tag & 0xFFFF:04X})"
            )
            by_action.setdefault(row.options[letter], []).append(name)
    assert by_action, f"{option} has no column entries"
    for action, names in by_action.items():
        line = f"{WORDS[action]} ({action}, {len(names)}): " + ", ".join(sorted(names)) + "."
        assert line in page, f"docs/deidentification.md is stale for {option} {action}"
    assert f"`{option}`" in page
