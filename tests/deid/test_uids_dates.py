"""Replacement UIDs and shifted dates, unit by unit."""

from __future__ import annotations

import pytest

from dicomframe.core.uids import is_valid_uid
from dicomframe.core.vr import VR
from dicomframe.deid import new_uid
from dicomframe.deid.dates import day_offset, shift_value
from tests.deid.helpers import expected_uid


def test_new_uid_is_a_valid_derived_2_25_uid() -> None:
    uid = new_uid("1.2.840.113619.2.1.1", b"k")
    assert uid == expected_uid("1.2.840.113619.2.1.1", b"k")
    assert uid.startswith("2.25.")
    assert len(uid) <= 44
    assert is_valid_uid(uid)
    assert new_uid("1.2.840.113619.2.1.1\0", b"k") == uid  # padding is no part of the UID
    assert new_uid("1.2.840.113619.2.1.1", b"j") != uid
    assert new_uid("1.2.840.113619.2.1.2", b"k") != uid


def test_day_offset_is_per_patient_and_salt() -> None:
    days = day_offset("PID-1", b"k")
    assert -3650 <= days <= -1
    assert day_offset("PID-1", b"k") == days
    assert {day_offset(f"PID-{i}", b"k") for i in range(20)} != {days}


@pytest.mark.parametrize(
    ("value", "vr", "expected"),
    [
        ("20200301", VR.DA, "20200229"),
        (["20200301", "20210301"], VR.DA, ["20200229", "20210228"]),
        ("20200301-20200302", VR.DA, "20200229-20200301"),
        ("20200301101112.5+0100", VR.DT, "20200229101112.5+0100"),
        ("101112", VR.TM, "101112"),
        ("", VR.DA, ""),
    ],
)
def test_shift_value(value: object, vr: VR, expected: object) -> None:
    assert shift_value(value, vr, -1) == expected


@pytest.mark.parametrize(("value", "vr"), [("2020", VR.DT), ("2020-03-01", VR.DA)])
def test_partial_dates_cannot_be_shifted(value: str, vr: VR) -> None:
    with pytest.raises(ValueError, match="20"):
        shift_value(value, vr, -1)
