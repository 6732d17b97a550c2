"""Tests for Dataset.frame_functional_groups (dicomframe.core.functional_groups)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydicom.data import get_testdata_file

import dicomframe as dcf
from dicomframe.core.dataset import Dataset, Sequence

SHARED, PER_FRAME = 0x52009229, 0x52009230


def _item(**values: Any) -> Dataset:
    item = Dataset()
    for keyword, value in values.items():
        item.set(keyword, value)
    return item


def enhanced(frames: int, *, number_of_frames: int | None = None, shared: int = 1) -> Dataset:
    ds = Dataset()
    ds.set("SOPClassUID", "1.2.840.10008.5.1.4.1.1.2.1")
    ds.set("SOPInstanceUID", "2.25.1234")
    if number_of_frames is not None:
        ds.set("NumberOfFrames", number_of_frames)
    ds.set(
        "SharedFunctionalGroupsSequence",
        Sequence(
            _item(PixelMeasuresSequence=Sequence([_item(PixelSpacing=[0.5, 0.5])]))
            for _ in range(shared)
        ),
    )
    ds.set(
        "PerFrameFunctionalGroupsSequence",
        Sequence(
            _item(
                PlanePositionSequence=Sequence([_item(ImagePositionPatient=[0, 0, float(i)])]),
                FrameContentSequence=Sequence([_item(FrameAcquisitionNumber=i)]),
            )
            for i in range(frames)
        ),
    )
    return ds


def written(ds: Dataset, tmp_path: Path) -> Path:
    path = tmp_path / "enhanced.dcm"
    dcf.write(ds, path)
    return path


@pytest.mark.parametrize("index", [0, 7, 11, -1, -12])
def test_shared_and_per_frame_items_are_merged(tmp_path: Path, index: int) -> None:
    with dcf.read(written(enhanced(12, number_of_frames=12), tmp_path)) as ds:
        groups = ds.frame_functional_groups(index)
        frame = index % 12
        assert groups.PlanePositionSequence[0].ImagePositionPatient == [0, 0, frame]
        assert groups.FrameContentSequence[0].FrameAcquisitionNumber == frame
        assert groups.PixelMeasuresSequence[0].PixelSpacing == [0.5, 0.5]
        assert [e.keyword for e in groups] == [  # in tag order, as any dataset
            "FrameContentSequence",
            "PlanePositionSequence",
            "PixelMeasuresSequence",
        ]


def test_per_frame_wins_over_shared_for_the_same_macro() -> None:
    ds = enhanced(2)
    ds.PerFrameFunctionalGroupsSequence[1].set(
        "PixelMeasuresSequence", Sequence([_item(PixelSpacing=[0.25, 0.25])])
    )
    assert ds.frame_functional_groups(1).PixelMeasuresSequence[0].PixelSpacing == [0.25, 0.25]
    assert ds.frame_functional_groups(0).PixelMeasuresSequence[0].PixelSpacing == [0.5, 0.5]


def test_the_result_shares_values_but_not_membership() -> None:
    ds = enhanced(3)
    groups = ds.frame_functional_groups(2)
    groups.PlanePositionSequence[0].ImagePositionPatient = [1, 2, 3]
    del groups.FrameContentSequence
    item = ds.PerFrameFunctionalGroupsSequence[2]
    assert item.PlanePositionSequence[0].ImagePositionPatient == [1, 2, 3]
    assert "FrameContentSequence" in item


@pytest.mark.parametrize(("frames", "number", "index"), [(3, 3, 3), (3, 3, -4), (3, None, 5)])
def test_an_index_past_the_frames_is_an_index_error(
    frames: int, number: int | None, index: int
) -> None:
    with pytest.raises(IndexError, match=f"frame {index} out of range"):
        enhanced(frames, number_of_frames=number).frame_functional_groups(index)


def test_fewer_items_than_frames_names_the_sequence(tmp_path: Path) -> None:
    with dcf.read(written(enhanced(4, number_of_frames=6), tmp_path)) as ds:
        assert ds.frame_functional_groups(3).FrameContentSequence[0].FrameAcquisitionNumber == 3
        with pytest.raises(dcf.InvalidDicomError, match=r"\(5200,9230\).*4 items for 6 frames"):
            ds.frame_functional_groups(4)


def test_two_shared_items_are_invalid() -> None:
    with pytest.raises(dcf.InvalidDicomError, match=r"\(5200,9229\).*2 items"):
        enhanced(2, shared=2).frame_functional_groups(0)


def test_a_dataset_without_functional_groups_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="Functional Groups"):
        Dataset().frame_functional_groups(0)


def test_matches_pydicom_on_its_enhanced_file() -> None:
    """pydicom's liver_1frame.dcm: 3 per-frame items and no Number of Frames."""
    import pydicom

    path = get_testdata_file("liver_1frame.dcm")
    theirs = pydicom.dcmread(path)
    with dcf.read(path) as ours:
        for index, item in enumerate(theirs.PerFrameFunctionalGroupsSequence):
            groups = ours.frame_functional_groups(index)
            expected = {e.keyword for e in item} | {
                e.keyword for e in theirs.SharedFunctionalGroupsSequence[0]
            }
            assert {e.keyword for e in groups} == expected
            for element in item:
                if element.VR == "SQ":
                    for ours_item, their_item in zip(
                        groups[element.tag].value, element.value, strict=True
                    ):
                        assert {e.keyword for e in ours_item} == {e.keyword for e in their_item}
        with pytest.raises(IndexError):
            ours.frame_functional_groups(3)
