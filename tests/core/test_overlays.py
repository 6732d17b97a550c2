"""Overlay planes agree with pydicom's ``overlay_array``, and with DCMTK for embedded ones.

pydicom reads Overlay Data only: on its files and pydicom-data's that carry
overlays, and on files pydicom writes here (multi-frame overlays, sizes that
end mid-byte, OB and OW, several groups), ``ds.overlay_array(group)`` equals
pydicom's value for value, dtype and shape. Overlays embedded in the pixels'
high bits (retired; pydicom has no reader for them) are checked against the
bits the test put there and against DCMTK's ``dcm2pnm``, which draws them.
A big-endian file made by DCMTK's ``dcmconv`` gives the little-endian planes.
"""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.limits import Limits
from dicomframe.core.overlays import (
    OVERLAY_GROUPS,
    overlay_array,
    overlay_groups,
    overlay_layout,
    overlay_plane,
)
from dicomframe.errors import InvalidDicomError, LimitError
from tests.overlay_data import Overlay, embed, make_file, random_planes
from tests.reference import pydicom_data_file, pydicom_files, require_tool

pydicom = pytest.importorskip("pydicom")

Array = np.ndarray[Any, Any]


def _real_files() -> list[Path]:
    named = [p for p in pydicom_files() if p.name == "examples_overlay.dcm"]
    return [*named, pydicom_data_file("MR-SIEMENS-DICOM-WithOverlays.dcm")]


@pytest.mark.parametrize("path", _real_files(), ids=lambda p: p.name)
def test_real_files_equal_pydicom(path: Path) -> None:
    ours = dcf.read(path)
    theirs = pydicom.dcmread(path)
    assert overlay_groups(ours) == [0x6000]
    got, expected = ours.overlay_array(0x6000), theirs.overlay_array(0x6000)
    assert got.dtype == expected.dtype == np.uint8
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    assert 0 < got.sum() < got.size  # a real drawing, not an empty or full plane


def test_overlay_groups_agree_with_pydicom_over_its_files() -> None:
    """Every pydicom test file: the groups with Overlay Data, and their planes."""
    seen = 0
    for path in pydicom_files():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                theirs = pydicom.dcmread(path)
                ours = dcf.read(path)
            except Exception:
                continue
        expected = [g for g in OVERLAY_GROUPS if (g << 16 | 0x3000) in theirs]
        assert overlay_groups(ours) == expected, path.name
        for group in expected:
            np.testing.assert_array_equal(ours.overlay_array(group), theirs.overlay_array(group))
            seen += 1
    assert seen >= 1


CASES = {
    # name: (image frames, rows, columns, overlay frames, number_of_frames written, vr)
    "one-frame": (1, 16, 16, 1, True, "OW"),
    "odd-size": (1, 7, 5, 1, True, "OW"),  # 35 bits: the plane ends mid-byte
    "odd-size-OB": (1, 3, 3, 1, False, "OB"),
    "multi-frame": (4, 7, 5, 4, True, "OW"),  # frames 2..4 start mid-byte
    "multi-frame-odd": (5, 9, 11, 3, True, "OB"),
}


@pytest.mark.parametrize("case", CASES)
def test_synthetic_equal_pydicom(tmp_path: Path, case: str) -> None:
    frames, rows, columns, overlay_frames, written, vr = CASES[case]
    pixels = np.zeros((frames, rows, columns), np.uint16)
    planes = random_planes(len(case), overlay_frames, rows, columns)
    second = random_planes(len(case) + 1, overlay_frames, rows, columns)
    overlays = [
        Overlay(0x6000, planes, number_of_frames=written, vr=vr),
        Overlay(0x601E, second, number_of_frames=written, vr=vr),
    ]
    path = make_file(tmp_path / "o.dcm", pixels=pixels, overlays=overlays)
    ours, theirs = dcf.read(path), pydicom.dcmread(path)
    assert overlay_groups(ours) == [0x6000, 0x601E]
    for group, plane in ((0x6000, planes), (0x601E, second)):
        got = ours.overlay_array(group)
        np.testing.assert_array_equal(got, theirs.overlay_array(group))
        assert got.dtype == np.uint8
        assert got.shape == (plane.shape if overlay_frames > 1 else plane.shape[1:])
        np.testing.assert_array_equal(got.reshape(plane.shape), plane)
        layout = overlay_layout(ours, group)
        for k in range(overlay_frames):  # one plane at a time, from anywhere in the stream
            np.testing.assert_array_equal(overlay_plane(ours, layout, k), plane[k])


def test_dataset_method_is_the_function(tmp_path: Path) -> None:
    planes = random_planes(9, 1, 4, 6)
    path = make_file(
        tmp_path / "o.dcm",
        pixels=np.zeros((1, 4, 6), np.uint16),
        overlays=[Overlay(0x6004, planes)],
    )
    ds = dcf.read(path)
    np.testing.assert_array_equal(ds.overlay_array(0x6004), overlay_array(ds, 0x6004))
    np.testing.assert_array_equal(ds.overlay_array(0x6004), planes[0])


def _dcmtk_planes(path: Path, tmp_path: Path, overlay: int, frames: int) -> Array:
    """What dcm2pnm draws of overlay number ``overlay`` (1-based) on each frame, as 0/1.

    The pixels are 0 and the window puts them at black, so white (255) is the overlay.
    """
    from PIL import Image

    tool = require_tool("dcm2pnm")
    out = []
    for frame in range(1, frames + 1):
        target = tmp_path / f"dcmtk_{overlay}_{frame}.pgm"
        command = [tool, "+Ww", "32768", "65536", "+F", str(frame), "+O", str(overlay)]
        subprocess.run([*command, str(path), str(target)], check=True, capture_output=True)
        with Image.open(target) as image:
            out.append((np.asarray(image) == 255).astype(np.uint8))
    return np.stack(out)


@pytest.mark.parametrize("frame_origin", [None, 2])
def test_embedded_overlays_equal_their_bits_and_dcmtk(
    tmp_path: Path, frame_origin: int | None
) -> None:
    """Overlays in bits 12 and 15 of 16-bit pixels; the second on frames 1 and 2 of 3.

    Image Frame Origin does not move an embedded overlay (its bits are in the
    frames themselves): DCMTK reads it so, and so does dicomframe.
    """
    first = Overlay(0x6000, random_planes(1, 3, 9, 7), bit_position=12)
    second = Overlay(0x6002, random_planes(2, 2, 9, 7), bit_position=15)
    pixels = embed(embed(np.zeros((3, 9, 7), np.uint16), first), second)
    second.frame_origin = frame_origin
    path = make_file(tmp_path / "e.dcm", pixels=pixels, overlays=[first, second])
    ds = dcf.read(path)
    assert overlay_groups(ds) == [0x6000, 0x6002]
    assert ds.pixel_array.max() == 0  # Bits Stored 12: the frames do not show the overlay bits
    np.testing.assert_array_equal(ds.overlay_array(0x6000), first.planes)
    np.testing.assert_array_equal(ds.overlay_array(0x6002), second.planes)
    np.testing.assert_array_equal(ds.overlay_array(0x6002), (pixels[:2] >> 15) & 1)  # numpy
    assert overlay_layout(ds, 0x6002).first_frame == 0
    dcmtk = _dcmtk_planes(path, tmp_path, 2, 3)
    np.testing.assert_array_equal(dcmtk[:2], second.planes)
    assert dcmtk[2].sum() == 0  # frame 3 has no plane of the second overlay
    np.testing.assert_array_equal(_dcmtk_planes(path, tmp_path, 1, 3), first.planes)


def test_overlay_data_multi_frame_matches_dcmtk_frame_by_frame(tmp_path: Path) -> None:
    planes = random_planes(5, 2, 7, 5)
    overlay = Overlay(0x6000, planes, frame_origin=2)
    path = make_file(tmp_path / "m.dcm", pixels=np.zeros((3, 7, 5), np.uint16), overlays=[overlay])
    dcmtk = _dcmtk_planes(path, tmp_path, 1, 3)
    np.testing.assert_array_equal(dcmtk[1:], dcf.read(path).overlay_array(0x6000))
    assert dcmtk[0].sum() == 0


def test_big_endian_from_dcmtk_gives_the_same_planes(tmp_path: Path) -> None:
    """dcmconv +tb swaps OW in 16-bit words; reading swaps them back (PS3.5 7.3)."""
    tool = require_tool("dcmconv")
    first = Overlay(0x6000, random_planes(3, 3, 5, 5))  # 25 bits: the words straddle frames
    second = Overlay(0x6002, random_planes(4, 1, 6, 8), bit_position=14)
    pixels = embed(np.zeros((3, 6, 8), np.uint16), second)
    little = make_file(tmp_path / "le.dcm", pixels=pixels, overlays=[first, second])
    big = tmp_path / "be.dcm"
    subprocess.run([tool, "+tb", str(little), str(big)], check=True, capture_output=True)
    ours = dcf.read(big)
    assert ours.transfer_syntax is not None
    assert ours.transfer_syntax.keyword == "ExplicitVRBigEndian"
    np.testing.assert_array_equal(ours.overlay_array(0x6000), first.planes)
    np.testing.assert_array_equal(ours.overlay_array(0x6002), second.planes[0])


# -- bad input -----------------------------------------------------------------------------


def _dataset(tmp_path: Path, **changes: Any) -> dcf.Dataset:
    planes = random_planes(7, 2, 5, 5)
    path = make_file(
        tmp_path / "x.dcm",
        pixels=np.zeros((2, 5, 5), np.uint16),
        overlays=[Overlay(0x6000, planes)],
    )
    ds = dcf.read(path)
    for tag, value in changes.items():
        ds.set(int(tag, 16), value)
    return ds


@pytest.mark.parametrize("group", [0x6001, 0x6020, 0x5000, 0x60FF, -2])
def test_bad_group_raises_value_error_naming_it(tmp_path: Path, group: int) -> None:
    ds = _dataset(tmp_path)
    with pytest.raises(ValueError, match=f"0x{group:04X}" if group >= 0 else "not one of"):
        ds.overlay_array(group)


@pytest.mark.parametrize(
    ("changes", "tag"),
    [
        ({"60000010": 7}, 0x60003000),  # 2 x 7 x 5 = 70 bits; 8 bytes hold 64
        ({"60000010": 65535, "60000011": 65535}, 0x60003000),  # absurd size, short data
        ({"60000015": "2147483647"}, 0x60003000),  # absurd frame count
        ({"60000010": 0}, 0x60000010),
        ({"60000011": -1}, 0x60000011),
        ({"60000015": "0"}, 0x60000015),
        ({"60000051": 0}, 0x60000051),
    ],
)
def test_lying_sizes_raise_naming_the_tag(
    tmp_path: Path, changes: dict[str, Any], tag: int
) -> None:
    ds = _dataset(tmp_path, **changes)
    with pytest.raises(InvalidDicomError) as caught:
        ds.overlay_array(0x6000)
    assert caught.value.tag == tag
    assert f"({tag >> 16:04X},{tag & 0xFFFF:04X})" in str(caught.value)


def test_overlay_data_shorter_than_the_planes(tmp_path: Path) -> None:
    ds = _dataset(tmp_path)
    ds.set(0x60003000, b"\xff" * 4, "OW")  # 32 bits for 2 x 25
    with pytest.raises(InvalidDicomError, match=r"holds 4 bytes.*need 7") as caught:
        ds.overlay_array(0x6000)
    assert caught.value.tag == 0x60003000


def test_missing_data_and_no_embedded_bit(tmp_path: Path) -> None:
    ds = _dataset(tmp_path)
    del ds[0x60003000]
    assert overlay_groups(ds) == []
    with pytest.raises(InvalidDicomError) as caught:
        ds.overlay_array(0x6000)
    assert caught.value.tag == 0x60003000


def test_limits_are_checked_before_unpacking(tmp_path: Path, monkeypatch: Any) -> None:
    ds = _dataset(tmp_path)
    ds.limits = Limits(max_frame_bytes=24)  # a plane is 25 bytes once unpacked

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("unpacked before the limit was checked")

    monkeypatch.setattr(np, "unpackbits", refuse)
    with pytest.raises(LimitError) as caught:
        ds.overlay_array(0x6000)
    assert caught.value.limit == "max_frame_bytes"
    ds.limits = Limits(max_object_bytes=49)  # both planes: 50
    with pytest.raises(LimitError, match="max_object_bytes"):
        ds.overlay_array(0x6000)


def _embedded(tmp_path: Path, **changes: Any) -> dcf.Dataset:
    overlay = Overlay(0x6000, random_planes(8, 2, 4, 4), bit_position=13)
    pixels = embed(np.zeros((2, 4, 4), np.uint16), overlay)
    ds = dcf.read(make_file(tmp_path / "e.dcm", pixels=pixels, overlays=[overlay]))
    for tag, value in changes.items():
        ds.set(int(tag, 16), value)
    return ds


@pytest.mark.parametrize(
    ("changes", "tag"),
    [
        ({"60000102": 16}, 0x60000102),  # no bit 16 in 16 bits
        ({"60000100": 8}, 0x60000100),  # Bits Allocated 16 in the pixels
        ({"60000010": 5}, 0x60000010),  # the pixels are 4 x 4
        ({"60000015": "3"}, 0x60000015),  # 2 image frames
    ],
)
def test_embedded_contradictions_raise_naming_the_tag(
    tmp_path: Path, changes: dict[str, Any], tag: int
) -> None:
    ds = _embedded(tmp_path, **changes)
    with pytest.raises(InvalidDicomError) as caught:
        ds.overlay_array(0x6000)
    assert caught.value.tag == tag


def test_embedded_overlay_needs_native_pixel_data(tmp_path: Path) -> None:
    ds = _embedded(tmp_path)
    ds.set_pixel_data(ds.pixel_data[:], "RLELossless")
    with pytest.raises(InvalidDicomError, match="native Pixel Data") as caught:
        ds.overlay_array(0x6000)
    assert caught.value.tag == 0x60000100
