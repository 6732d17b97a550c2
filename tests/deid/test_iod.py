"""The IOD attribute types the engine asks about, against facts of PS3.3 read by hand."""

from __future__ import annotations

import pytest

from dicomframe.core.vr import VR
from dicomframe.deid.actions import resolve
from dicomframe.deid.iod import Required, requirements_of

CT = "1.2.840.10008.5.1.4.1.1.2"
US = "1.2.840.10008.5.1.4.1.1.6.1"
MR = "1.2.840.10008.5.1.4.1.1.4"


@pytest.mark.parametrize(
    ("sop_class", "tag", "required"),
    [
        (CT, 0x00081110, Required.OPTIONAL),  # Referenced Study Sequence: General Study, Type 3
        (US, 0x00081111, Required.OPTIONAL),  # Referenced PPS Sequence: General Series, Type 3
        (CT, 0x00100020, Required.TYPE2),  # Patient ID: Patient module, Type 2
        (MR, 0x00180010, Required.TYPE2),  # Contrast/Bolus Agent: Type 2 in its module
        (CT, 0x00081030, Required.OPTIONAL),  # Study Description: Type 3
        (CT, 0x7FE00010, Required.OPTIONAL),  # not a choice row: never asked, reads as 3
    ],
)
def test_types_follow_ps3_3(sop_class: str, tag: int, required: Required) -> None:
    requirements = requirements_of(sop_class)
    assert requirements is not None
    assert requirements(tag) is required


def test_unknown_sop_classes_have_no_requirements() -> None:
    assert requirements_of("1.2.3.4") is None
    assert requirements_of(None) is None
    assert requirements_of(CT + "\0") is requirements_of(CT)  # padding is not the UID


@pytest.mark.parametrize(
    ("code", "vr", "required", "action"),
    [
        ("X/Z", VR.SQ, Required.OPTIONAL, "X"),
        ("X/Z", VR.SQ, Required.TYPE2, "Z"),
        ("X/Z", VR.SQ, Required.UNKNOWN, "Z"),
        ("X/Z/D", VR.LO, Required.TYPE1, "D"),
        ("X/Z/D", VR.LO, Required.TYPE2, "Z"),
        ("X/Z/D", VR.LO, Required.OPTIONAL, "X"),
        ("X/Z/D", VR.LO, Required.UNKNOWN, "D"),
        ("Z/D", VR.DA, Required.OPTIONAL, "Z"),
        ("X/D", VR.SH, Required.TYPE2, "D"),
        ("X/Z/U*", VR.UI, Required.OPTIONAL, "U"),
        ("X", VR.LO, Required.TYPE1, "X"),  # a single code is the code, whatever the type
    ],
)
def test_resolve_takes_the_iods_choice(code: str, vr: VR, required: Required, action: str) -> None:
    assert resolve(code, vr, required) == action
