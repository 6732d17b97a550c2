"""The generated table: parsed rows, known facts of PS3.15 Table E.1-1, option precedence."""

from __future__ import annotations

from dicomframe.deid.options import Option
from dicomframe.deid.table import rule_for, rules
from tests.deid.helpers import ROWS


def test_every_row_parses() -> None:
    assert len(rules()) == len(ROWS) > 600
    codes = {r.basic for r in rules()}
    assert codes == {"D", "Z", "X", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"}


def test_known_rows() -> None:
    def row(tag: int) -> tuple[str, dict[str, str]]:
        rule = rule_for(tag)
        assert rule is not None
        return rule.basic, dict(rule.options)

    assert row(0x00100010) == ("Z", {})  # Patient's Name
    assert row(0x00080018) == ("U", {"U": "K"})  # SOP Instance UID
    assert row(0x00081030) == ("X", {"D": "C"})  # Study Description
    assert row(0x00100040) == ("Z", {"P": "K"})  # Patient's Sex
    assert row(0x00080020) == ("Z", {"F": "K", "M": "C"})  # Study Date
    assert rule_for(0x00280010) is None  # Rows: not listed, kept


def test_repeating_groups() -> None:
    for tag in (0x50000010, 0x501E3000, 0x60003000, 0x601E4000):
        rule = rule_for(tag)
        assert rule is not None
        assert rule.is_pattern
    assert rule_for(0x60000010) is None  # Overlay Rows: no row of its own


def test_most_protective_option_wins() -> None:
    allergies = rule_for(0x00102110)
    assert allergies is not None
    assert allergies.action([Option.RETAIN_PATIENT_CHARACTERISTICS]) == "C"
    assert allergies.action() == "X"
    sex = rule_for(0x00100040)
    assert sex is not None
    assert sex.action([Option.RETAIN_PATIENT_CHARACTERISTICS]) == "K"
    assert sex.action([Option.RETAIN_UIDS]) == "Z"
