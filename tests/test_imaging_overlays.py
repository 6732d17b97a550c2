"""``get_image(..., overlays=True)`` burns the overlays in: checked against DCMTK's dcm2pnm.

DCMTK draws overlays by default (replace mode, white). On pydicom's and
pydicom-data's files with overlays, the pixels that drawing them changes are
the same in DCMTK's output and ours, and all are white; DCMTK's window rounds
some other pixels one level off ours, so only the changes are compared there.
On files made here (flat pixels), the whole image equals DCMTK's, for overlays
placed partly outside the image, larger than it, and matched to frames by
Image Frame Origin. Raw images get the end of the stored range, and the
frame's own values are never written.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.errors import ImageModeError
from dicomframe.imaging import get_image, to_frame
from tests.overlay_data import Overlay, embed, make_file, packed, random_planes
from tests.reference import pydicom_data_file, pydicom_files, require_tool

pytest.importorskip("PIL")
from PIL import Image

Array = np.ndarray[Any, Any]


def _pydicom_file(name: str) -> Path:
    return next(p for p in pydicom_files() if p.name == name)


def _dcm2pnm(path: Path, out: Path, *options: str) -> Array:
    tool = require_tool("dcm2pnm")
    subprocess.run([tool, *options, str(path), str(out)], check=True, capture_output=True)
    with Image.open(out) as image:
        return np.asarray(image).copy()


def _real_files() -> list[Path]:
    return [
        _pydicom_file("examples_overlay.dcm"),
        pydicom_data_file("MR-SIEMENS-DICOM-WithOverlays.dcm"),
    ]


@pytest.mark.parametrize("path", _real_files(), ids=lambda p: p.name)
@pytest.mark.parametrize("window", [(600.0, 1200.0), (2048.0, 4096.0)])
def test_real_files_change_what_dcmtk_changes(
    tmp_path: Path, path: Path, window: tuple[float, float]
) -> None:
    ds = dcf.read(path)
    plain = np.asarray(get_image(ds, window=window))
    burnt = np.asarray(get_image(ds, window=window, overlays=True))
    overlay = ds.overlay_array(0x6000).astype(bool)
    changed = plain != burnt
    np.testing.assert_array_equal(changed, overlay & (plain != 255))  # exactly under the bits
    assert (burnt[overlay] == 255).all()
    assert changed.sum() > 100
    c, w = (str(v) for v in window)
    theirs_on = _dcm2pnm(path, tmp_path / "on.pgm", "+Ww", c, w, "+O", "0")
    theirs_off = _dcm2pnm(path, tmp_path / "off.pgm", "+Ww", c, w, "-O")
    np.testing.assert_array_equal(theirs_on != theirs_off, changed)
    np.testing.assert_array_equal(theirs_on[changed], burnt[changed])


GEOMETRY = {
    # name: (Overlay Origin, overlay rows and columns) over a 9 x 11 image
    "inside": ((2, 3), (5, 6)),
    "left-and-below": ((3, -1), (6, 8)),
    "larger-than-the-image": ((1, 1), (12, 14)),
    "above": ((-2, 4), (7, 5)),
    "outside": ((20, 1), (3, 3)),
}


@pytest.mark.parametrize("case", GEOMETRY)
def test_overlay_origin_and_size_equal_dcmtk(tmp_path: Path, case: str) -> None:
    origin, shape = GEOMETRY[case]
    overlay = Overlay(0x6000, random_planes(len(case), 1, *shape), origin=origin)
    pixels = np.full((1, 9, 11), 100, np.uint16)
    path = make_file(tmp_path / "g.dcm", pixels=pixels, overlays=[overlay])
    ours = np.asarray(get_image(dcf.read(path), window=(2048, 4096), overlays=True))
    theirs = _dcm2pnm(path, tmp_path / "g.pgm", "+Ww", "2048", "4096")
    np.testing.assert_array_equal(ours, theirs)
    top, left = origin[0] - 1, origin[1] - 1
    expected = np.zeros((9, 11), bool)
    for y, x in zip(*np.nonzero(overlay.planes[0]), strict=True):
        if 0 <= y + top < 9 and 0 <= x + left < 11:
            expected[y + top, x + left] = True
    np.testing.assert_array_equal(ours == 255, expected)
    assert (expected.sum() == 0) == (case == "outside")


@pytest.mark.parametrize("embedded", [False, True])
def test_multi_frame_overlays_go_to_their_frames(tmp_path: Path, embedded: bool) -> None:
    """Overlay 6000: frames 2-3 of 4 (Image Frame Origin 2); 6002: one plane for all."""
    frames = Overlay(0x6000, random_planes(1, 2, 7, 5), frame_origin=2)
    if embedded:  # in the pixels' bit 14, frames 1-2 (Image Frame Origin does not move it)
        frames = Overlay(0x6000, random_planes(1, 2, 7, 5), bit_position=14)
    every = Overlay(0x6002, random_planes(2, 1, 7, 5), number_of_frames=False, origin=(2, 2))
    pixels = np.full((4, 7, 5), 100, np.uint16)
    if embedded:
        pixels = embed(pixels, frames)
    path = make_file(tmp_path / "m.dcm", pixels=pixels, overlays=[frames, every])
    ds = dcf.read(path)
    first = 0 if embedded else 1
    for index in range(4):
        ours = np.asarray(get_image(ds, frame_index=index, window=(2048, 4096), overlays=True))
        theirs = _dcm2pnm(
            path, tmp_path / f"{index}.pgm", "+Ww", "2048", "4096", "+F", str(index + 1)
        )
        np.testing.assert_array_equal(ours, theirs)
        expected = np.zeros((7, 5), bool)
        expected[1:, 1:] = every.planes[0][:-1, :-1].astype(bool)
        if first <= index < first + 2:
            expected |= frames.planes[index - first].astype(bool)
        np.testing.assert_array_equal(ours == 255, expected)


def _mono(
    tmp_path: Path, *, photometric: str = "MONOCHROME2", signed: bool = False
) -> tuple[dcf.Dataset, Array]:
    planes = random_planes(3, 1, 6, 7)
    rng = np.random.default_rng(4)
    dtype = np.int16 if signed else np.uint16
    low, high = (-2000, 2000) if signed else (0, 4000)
    pixels = rng.integers(low, high, (2, 6, 7)).astype(dtype)
    overlay = Overlay(0x6000, planes, number_of_frames=False)
    path = make_file(
        tmp_path / "r.dcm",
        pixels=pixels,
        overlays=[overlay],
        photometric=photometric,
        signed=signed,
    )
    return dcf.read(path), planes[0].astype(bool)


@pytest.mark.parametrize(
    ("photometric", "signed", "white"),
    [("MONOCHROME2", False, 4095), ("MONOCHROME1", False, 0), ("MONOCHROME2", True, 2047)],
)
def test_raw_image_gets_the_end_of_the_stored_range(
    tmp_path: Path, photometric: str, signed: bool, white: int
) -> None:
    ds, overlay = _mono(tmp_path, photometric=photometric, signed=signed)
    frame = ds.pixel_data[1]
    before = frame.array.copy()
    image = get_image(frame, dataset=ds, overlays=True)
    values = np.asarray(image)
    assert image.mode == get_image(frame).mode  # the values' mode is kept
    np.testing.assert_array_equal(values[overlay], white)
    np.testing.assert_array_equal(values[~overlay], before[~overlay])
    np.testing.assert_array_equal(frame.array, before)  # the frame itself is not written
    back = to_frame(image, "ExplicitVRLittleEndian")
    assert back.info.dtype == frame.info.dtype
    np.testing.assert_array_equal(np.asarray(back.array)[overlay], white)


def test_display_monochrome1_overlay_is_white(tmp_path: Path) -> None:
    ds, overlay = _mono(tmp_path, photometric="MONOCHROME1")
    image = np.asarray(get_image(ds, display=True, overlays=True))
    assert (image[overlay] == 255).all()
    theirs = _dcm2pnm(tmp_path / "r.dcm", tmp_path / "m1.pgm", "+Wm")  # _mono wrote it
    assert (theirs[overlay] == 255).all()


def test_frame_number_from_the_frame_or_the_index(tmp_path: Path) -> None:
    ds, _ = _mono(tmp_path)
    ds.set(0x60000015, "1")  # Number of Frames in Overlay: now for frame 1 only
    by_index = np.asarray(get_image(ds, frame_index=-2, overlays=True))
    by_frame = np.asarray(get_image(ds.pixel_data[0], dataset=ds, overlays=True))
    np.testing.assert_array_equal(by_index, by_frame)
    assert (by_index == 4095).any()
    second = np.asarray(get_image(ds, frame_index=1, overlays=True))
    np.testing.assert_array_equal(second, ds.pixel_data[1].array)  # no overlay on frame 2


def test_overlays_need_the_dataset_and_the_frame_number(tmp_path: Path) -> None:
    ds, _ = _mono(tmp_path)
    with pytest.raises(ValueError, match="needs the dataset"):
        get_image(ds.pixel_data[0], overlays=True)
    lone = dcf.NativeFrame(ds.pixel_data[0].data.copy(), ds.pixel_data[0].info)
    with pytest.raises(ValueError, match="frame's number"):
        get_image(lone, dataset=ds, overlays=True)


def _with_overlay(path: Path, planes: Array) -> dcf.Dataset:
    ds = dcf.read(path)
    ds.set(0x60000010, planes.shape[0], "US")
    ds.set(0x60000011, planes.shape[1], "US")
    ds.set(0x60000040, "G", "CS")
    ds.set(0x60000050, [1, 1], "SS")
    ds.set(0x60000100, 1, "US")
    ds.set(0x60000102, 0, "US")
    ds.set(0x60003000, packed(planes[None]), "OW")
    return ds


def test_rgb_and_palette(tmp_path: Path) -> None:
    rgb = _with_overlay(_pydicom_file("examples_rgb_color.dcm"), random_planes(6, 1, 240, 320)[0])
    overlay = rgb.overlay_array().astype(bool)
    for options in ({}, {"display": True}):
        values = np.asarray(get_image(rgb, overlays=True, **options))
        assert (values[overlay] == 255).all()
        np.testing.assert_array_equal(values[~overlay], rgb.pixel_data[0].array[~overlay])
    palette = _with_overlay(_pydicom_file("examples_palette.dcm"), random_planes(7, 1, 350, 800)[0])
    overlay = palette.overlay_array().astype(bool)
    coloured = np.asarray(get_image(palette, overlays=True))
    assert coloured.shape == (350, 800, 3)
    assert (coloured[overlay] == 255).all()
    with pytest.raises(ImageModeError, match="indices have no white"):
        get_image(palette, palette=False, overlays=True)


def test_without_overlays_nothing_changes(tmp_path: Path) -> None:
    path = make_file(tmp_path / "n.dcm", pixels=np.full((1, 4, 4), 7, np.uint16), overlays=[])
    ds = dcf.read(path)
    np.testing.assert_array_equal(
        np.asarray(get_image(ds, overlays=True)), np.asarray(get_image(ds))
    )


def test_compressed_frame_takes_its_number_from_the_pixel_data() -> None:
    ds = dcf.read(pydicom_data_file("MR-SIEMENS-DICOM-WithOverlays.dcm"))
    native = np.asarray(get_image(ds, display=True, overlays=True))
    ds.set_pixel_data(ds.pixel_data[:], "RLELossless")
    frame = ds.pixel_data[0]
    assert isinstance(frame, dcf.EncapsulatedFrame)
    compressed = np.asarray(get_image(frame, dataset=ds, display=True, overlays=True))
    np.testing.assert_array_equal(compressed, native)
    assert (compressed[ds.overlay_array(0x6000) == 1] == 255).all()
