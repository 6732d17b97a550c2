"""Two files of one series, de-identified one at a time with one salt, still refer to each other."""

from __future__ import annotations

from pathlib import Path

import dicomframe as dcf
from dicomframe.deid import verify_deidentified
from tests.deid.helpers import SALT, read


def _series() -> tuple[dcf.Dataset, dcf.Dataset]:
    first = read("CT_small.dcm")
    second = first.__deepcopy__({})
    second.SOPInstanceUID = first.SOPInstanceUID + ".2"
    assert second.meta is not None
    second.meta.MediaStorageSOPInstanceUID = second.SOPInstanceUID
    reference = dcf.Dataset([
        dcf.DataElement(0x00081150, "UI", first.SOPClassUID),
        dcf.DataElement(0x00081155, "UI", first.SOPInstanceUID),
    ])  # fmt: skip
    second.add(dcf.DataElement(0x00081140, "SQ", [reference]))  # Referenced Image Sequence
    return first, second


def test_references_hold_across_files(tmp_path: Path) -> None:
    first, second = _series()
    # Separately, as two processes would: each file written and read back alone.
    for index, ds in enumerate((first, second)):
        dcf.write(dcf.deidentify(ds, salt=SALT), tmp_path / f"{index}.dcm")
    one, two = dcf.read(tmp_path / "0.dcm"), dcf.read(tmp_path / "1.dcm")
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        assert one[keyword].value == two[keyword].value
        assert one[keyword].value != first[keyword].value
    assert one.SOPInstanceUID != two.SOPInstanceUID
    assert two.ReferencedImageSequence[0].ReferencedSOPInstanceUID == one.SOPInstanceUID
    assert two.ReferencedImageSequence[0].ReferencedSOPClassUID == first.SOPClassUID
    assert one.meta is not None
    assert one.meta.MediaStorageSOPInstanceUID == one.SOPInstanceUID
    assert verify_deidentified(second, two, salt=SALT) == []


def test_another_salt_breaks_the_link() -> None:
    first, second = _series()
    one = dcf.deidentify(first, salt=SALT)
    two = dcf.deidentify(second, salt=b"other")
    assert one.StudyInstanceUID != two.StudyInstanceUID


def test_retain_uids_keeps_them() -> None:
    first, _ = _series()
    out = dcf.deidentify(first, salt=SALT, options=["retain-uids"])
    assert out.SOPInstanceUID == first.SOPInstanceUID
    assert out.StudyInstanceUID == first.StudyInstanceUID
