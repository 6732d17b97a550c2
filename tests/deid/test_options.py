"""Each option changes what its column of Table E.1-1 says, and nothing else.

A synthetic dataset holds every attribute the table lists by tag (with a value
valid for its dictionary VR); it is de-identified with no option and with each
option alone, and every row is checked against the table text read here.
"""

from __future__ import annotations

from typing import Any

import pytest

import dicomframe as dcf
from dicomframe.core.dictionary import lookup
from dicomframe.deid import deidentify_with_report, verify_deidentified
from dicomframe.deid.options import OPTION_FACTS, Option, parse_options
from tests.deid.helpers import (
    COLUMNS,
    ROWS,
    SALT,
    element_or_none,
    expected_uid,
    iod_type,
    one_action,
)

NAME = "Doe^John"
VALUES: dict[str, Any] = {
    "AE": "STATION7",
    "AS": "042Y",
    "CS": "VALUE",
    "DA": "20200315",
    "DS": "1.5",
    "DT": "20200315101112",
    "IS": "7",
    "LO": "Doe clinic note",
    "LT": "seen by Doe",
    "PN": NAME,
    "SH": "SHORT",
    "ST": "text for Doe",
    "TM": "101112",
    "UC": "Doe unlimited",
    "UR": "http://example.com/Doe",
    "UT": "long text Doe",
    "US": 3,
    "SS": -3,
    "UL": 3,
    "SL": -3,
    "FL": 1.5,
    "FD": 1.5,
    "AT": dcf.Tag(0x00100010),
    "OB": b"\x01\x02",
    "OW": b"\x01\x02",
    "UN": b"\x01\x02",
}


def _vr(tag: int) -> str | None:
    entry = lookup(tag)
    return None if entry is None else entry.vrs[0]


def _element(tag: int, vr: str, index: int) -> dcf.DataElement:
    if vr == "UI":
        return dcf.DataElement(tag, vr, f"1.2.826.0.1.3680043.99.{index}")
    if vr == "SQ":
        item = dcf.Dataset([
            dcf.DataElement(0x00080100, "SH", "CODE1"),
            dcf.DataElement(0x0040A123, "PN", NAME),
        ])  # fmt: skip
        return dcf.DataElement(tag, vr, [item])
    return dcf.DataElement(tag, vr, VALUES[vr])


def synthetic() -> dcf.Dataset:
    ds = dcf.Dataset()
    for index, row in enumerate(ROWS):
        vr = _vr(row.tag)
        if row.mask != 0xFFFFFFFF or vr not in {*VALUES, "UI", "SQ"} or row.tag >> 16 <= 4:
            continue  # patterns, command and meta groups, VRs with no sample value
        ds.add(_element(row.tag, vr, index))
    ds.PatientName = NAME
    return ds


@pytest.fixture(scope="module")
def source() -> dcf.Dataset:
    return synthetic()


def _check_row(
    before: dcf.DataElement, after: dcf.DataElement | None, action: str, days: int | None
) -> None:
    tag = before.tag
    if action == "X":
        assert after is None, f"{tag} should be removed"
        return
    assert after is not None, f"{tag} removed under {action}"
    if before.vr == "SQ" and action in ("K", "C", "D"):
        # Items walked: codes stay, the Person Name row (D) inside is replaced.
        (item,) = after.sequence
        assert item.CodeValue == "CODE1"
        assert item.PersonName == "ANONYMOUS"
    elif action == "K":
        assert after == before, f"{tag} should be kept"
    elif action == "Z":
        assert after.value in (None, "", b"", []), f"{tag} should be empty"
    elif action in ("U", "D") and before.vr == "UI":
        assert after.value == expected_uid(before.value)
    elif action == "D" and before.vr != "SQ":
        assert after.value not in (None, "", b"")
        assert after.value != before.value
    elif action == "C" and before.vr in ("DA", "DT") and days is not None:
        assert after.value != before.value, f"{tag} date not shifted"
    elif action == "C" and before.vr in ("LO", "LT", "ST", "UC", "UT", "UR"):
        assert "Doe" not in str(after.value), f"{tag} not cleaned: {after.value!r}"
        assert after.value != before.value


@pytest.mark.parametrize("option", [None, *COLUMNS], ids=str)
def test_every_row_follows_its_column(source: dcf.Dataset, option: str | None) -> None:
    options = [] if option is None else [option]
    result = deidentify_with_report(source, salt=SALT, options=options)
    out = result.dataset
    letter = COLUMNS.get(option or "")
    changed = 0
    for element in source:
        row = next(r for r in ROWS if r.tag == element.tag)
        if element.tag in (0x00120062, 0x00120063, 0x00120064, 0x00280303):
            continue
        code = row.options.get(letter, row.basic) if letter else row.basic
        changed += code != row.basic
        after = element_or_none(out, element.tag)
        action = one_action(code, element.vr, iod_type(source, (), element.tag))
        _check_row(element, after, action, result.day_offset)
    if option is not None:
        assert changed > 0, f"{option} changed no row present"
    assert verify_deidentified(source, out, salt=SALT, options=options) == []


def test_modified_dates_move_by_one_offset_per_patient(source: dcf.Dataset) -> None:
    result = deidentify_with_report(
        source, salt=SALT, options=["retain-longitudinal-modified-dates"]
    )
    days = result.day_offset
    assert days is not None
    assert -3650 <= days <= -1
    assert result.dataset.StudyDate != source.StudyDate
    again = deidentify_with_report(
        source, salt=SALT, options=["retain-longitudinal-modified-dates"]
    )
    assert again.day_offset == days
    other = source.__deepcopy__({})
    other.PatientID = "SOMEONE-ELSE"
    assert (
        deidentify_with_report(
            other, salt=SALT, options=["retain-longitudinal-modified-dates"]
        ).day_offset
        != days
    )
    assert result.dataset.LongitudinalTemporalInformationModified == "MODIFIED"


def test_full_dates_keep_dates(source: dcf.Dataset) -> None:
    out = dcf.deidentify(source, salt=SALT, options=["retain-longitudinal-full-dates"])
    assert out.StudyDate == source.StudyDate
    assert out.LongitudinalTemporalInformationModified == "UNMODIFIED"


def test_clean_descriptors_overwrites_the_patient_name(source: dcf.Dataset) -> None:
    ds = source.__deepcopy__({})
    ds.StudyDescription = "CT of Doe chest"
    out = dcf.deidentify(ds, salt=SALT, options=["clean-descriptors"])
    assert out.StudyDescription == "CT of *** chest"
    assert "StudyDescription" not in dcf.deidentify(ds, salt=SALT)
    custom = dcf.deidentify(
        ds, salt=SALT, options=["clean-descriptors"], cleaner=lambda text: text.upper()
    )
    assert custom.StudyDescription == "CT OF DOE CHEST"


def test_codes_match_cid_7050() -> None:
    """Our codes against pydicom's copy of PS3.16 CID 7050, an independent transcription."""
    codedict = pytest.importorskip("pydicom.sr.codedict")
    theirs = {c.value: c.meaning for c in codedict.codes.cid7050.concepts.values()}
    for facts in OPTION_FACTS.values():
        assert theirs[facts.code.value] == facts.code.meaning
    assert theirs["113100"] == "Basic Application Confidentiality Profile"


def test_option_names() -> None:
    assert parse_options(["Retain_UIDs", Option.CLEAN_GRAPHICS]) == {
        Option.RETAIN_UIDS,
        Option.CLEAN_GRAPHICS,
    }
    assert parse_options("retain-uids") == {Option.RETAIN_UIDS}
