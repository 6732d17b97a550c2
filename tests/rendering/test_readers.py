"""Modality LUT and VOI read from files and rendered by get_image, against pydicom 3.

Exact after the same 8-bit scaling pydicom's output would need (windows: pydicom with
an 8-bit output range, rounded with ``np.rint``; LUTs: ``rint(v * 255 / (2**bits - 1))``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.pixels.processing import (
    apply_modality_lut,
    apply_voi_lut,
)
from pydicom.uid import (
    ExplicitVRBigEndian,
)

import dicomframe as dcf
from dicomframe import rendering
from dicomframe.imaging import get_image
from tests.reference import TESTDATA
from tests.rendering.common import (
    SYNTAXES,
    both,
    first_frame,
    lut_item,
    make_file,
    oracle_files,
    pixels,
    scaled,
    window_oracle,
    windows,
)

FILES = oracle_files()

WINDOWED = [(p, i) for p in FILES for i in range(len(windows(dcf.read(p))))]

RESCALED = [p for p in FILES if "RescaleSlope" in dcf.read(p) or "RescaleIntercept" in dcf.read(p)]


@pytest.mark.parametrize("path", RESCALED, ids=lambda p: p.name)
def test_rescale_matches_pydicom(path: Path) -> None:
    py, ds, arr = first_frame(path)
    signed = ds.pixel_data.info.pixel_representation == 1
    ours = rendering.read_modality(ds, pixels(ds, 0), signed=signed)
    np.testing.assert_array_equal(ours, apply_modality_lut(arr, py))
    assert ours.dtype == np.float64


def test_ct_explicit_le_rescale_values() -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    stored = pixels(ds, 0)
    ours = rendering.read_modality(ds, stored, signed=True)
    np.testing.assert_array_equal(ours, stored * 1.25 - 1024)


MODALITY_LUTS = {
    "16bit-signed-first": ([100, -50, 16], list(range(1000, 1100))),
    "8bit": ([256, 0, 8], [255 - i for i in range(256)]),
}


@pytest.mark.parametrize("syntax", SYNTAXES, ids=lambda s: s.keyword)
@pytest.mark.parametrize("name", MODALITY_LUTS)
def test_modality_lut_sequence_matches_pydicom(syntax: str, name: str) -> None:
    descriptor, table = MODALITY_LUTS[name]
    arr = np.arange(-60, 340, dtype=np.int16).reshape(20, 20)
    if descriptor[1] >= 0:
        arr = np.abs(arr).astype(np.uint16)
    data = make_file(arr, syntax, ModalityLUTSequence=[lut_item(descriptor, table)])
    py, ds = both(data)
    signed = arr.dtype.kind == "i"
    ours = rendering.read_modality(ds, pixels(ds, 0), signed=signed)
    np.testing.assert_array_equal(ours, apply_modality_lut(py.pixel_array, py))
    # and through get_image, with a window on the LUT output
    image = get_image(ds, window=(500, 600))
    np.testing.assert_array_equal(np.asarray(image), window_oracle(ours, 500, 600, "LINEAR"))


def test_modality_lut_12_bit_by_hand() -> None:
    # pydicom 3.0 cannot apply a 12-bit Modality LUT (it asks numpy for a "uint12" dtype).
    arr = np.arange(400, dtype=np.uint16).reshape(20, 20)
    table = [i * 40 for i in range(100)]
    _, ds = both(make_file(arr, ModalityLUTSequence=[lut_item([100, 10, 12], table)]))
    ours = rendering.read_modality(ds, arr, signed=False)
    np.testing.assert_array_equal(ours, np.asarray(table)[np.clip(arr.astype(int) - 10, 0, 99)])
    image = get_image(ds, display=True)  # no window: the LUT output's own range
    np.testing.assert_array_equal(np.asarray(image), rendering.to_display(ours / 3960 * 255))


@pytest.mark.parametrize("syntax", SYNTAXES, ids=lambda s: s.keyword)
def test_modality_lut_ow_data(syntax: str) -> None:
    arr = np.arange(64, dtype=np.uint16).reshape(8, 8)
    order = ">" if syntax == ExplicitVRBigEndian else "<"
    table = np.arange(64, dtype=np.uint16) * 1000
    item = lut_item([64, 0, 16], table.astype(f"{order}u2").tobytes(), vr="OW")
    py, ds = both(make_file(arr, syntax, ModalityLUTSequence=[item]))
    ours = rendering.read_modality(ds, arr, signed=False)
    np.testing.assert_array_equal(ours, apply_modality_lut(py.pixel_array, py))


@pytest.mark.parametrize("function", [None, *rendering.VOI_FUNCTIONS])
@pytest.mark.parametrize(("path", "index"), WINDOWED, ids=lambda x: getattr(x, "name", str(x)))
def test_dataset_window_matches_pydicom(path: Path, index: int, function: str | None) -> None:
    py, ds, arr = first_frame(path)
    center, width = windows(ds)[index]
    name = function or str(ds.get(0x00281056) or "LINEAR")
    expected = window_oracle(apply_modality_lut(arr, py), center, width, name)
    if ds.pixel_data.info.photometric_interpretation == "MONOCHROME1":
        expected = 255 - expected
    image = get_image(ds, voi=index, voi_function=function)
    assert image.mode == "L"
    assert image.size == (ds.Columns, ds.Rows)
    np.testing.assert_array_equal(np.asarray(image), expected)


def test_windowed_files_are_there() -> None:
    names = {p.name for p, _ in WINDOWED}
    assert {"MR_small.dcm", "ct_explicit_le.dcm", "ct_explicit_be.dcm"} <= names
    assert {i for p, i in WINDOWED if p.name == "ct_explicit_le.dcm"} == {0, 1}


def test_display_uses_the_first_window() -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    first = np.asarray(get_image(ds, voi=0))
    np.testing.assert_array_equal(np.asarray(get_image(ds, display=True)), first)
    assert not np.array_equal(np.asarray(get_image(ds, voi=1)), first)


def test_monochrome1_is_inverted_after_the_voi() -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    mono2 = [
        np.asarray(get_image(ds, voi=1)),
        np.asarray(get_image(ds, display=True, voi_function="SIGMOID")),
    ]
    ds.PhotometricInterpretation = "MONOCHROME1"
    mono1 = [
        np.asarray(get_image(ds, voi=1)),
        np.asarray(get_image(ds, display=True, voi_function="SIGMOID")),
    ]
    for a, b in zip(mono1, mono2, strict=True):
        np.testing.assert_array_equal(a, 255 - b)
    kept = np.asarray(get_image(ds))  # no rendering: the stored values, not inverted
    np.testing.assert_array_equal(kept, pixels(ds, 0))


VOI_LUTS: dict[str, tuple[list[int], list[int] | bytes, str]] = {
    "8bit": ([256, 0, 8], [255 - i for i in range(256)], "US"),
    "12bit": ([200, 20, 12], [i * 20 for i in range(200)], "US"),
    # 65536 US values pass explicit VR's 2-byte length: OW, as real files do
    "16bit-0-means-65536": ([0, 0, 16], np.arange(65535, -1, -1, dtype="<u2").tobytes(), "OW"),
}


@pytest.mark.parametrize("mono", ["MONOCHROME2", "MONOCHROME1"])
@pytest.mark.parametrize("name", VOI_LUTS)
def test_voi_lut_sequence_matches_pydicom(name: str, mono: str) -> None:
    descriptor, table, vr = VOI_LUTS[name]
    # Inputs stay below 256: pydicom 3.0.2 indexes an 8-bit LUT with uint8, so larger
    # inputs wrap around instead of taking the last entry (test_lut_inputs_past_the_end).
    arr = (np.arange(400, dtype=np.uint16).reshape(20, 20) * 7) % 256
    second = lut_item([2, 100, 16], [0, 65535])
    data = make_file(
        arr,
        PhotometricInterpretation=mono,
        VOILUTSequence=[lut_item(descriptor, table, vr=vr), second],
        WindowCenter=100,  # a VOI LUT wins over a window, as in pydicom's apply_voi_lut
        WindowWidth=50,
    )
    py, ds = both(data)
    for index, bits in ((0, descriptor[2]), (1, 16)):
        expected = scaled(apply_voi_lut(py.pixel_array, py, index), bits)
        if mono == "MONOCHROME1":
            expected = 255 - expected
        ours = get_image(ds, voi=index) if index else get_image(ds, display=True)
        np.testing.assert_array_equal(np.asarray(ours), expected)


def test_lut_inputs_past_the_end() -> None:
    # PS3.3 C.11.2.1.1: inputs past the table take its last entry, with 8-bit tables too.
    arr = np.array([[0, 254, 255, 256, 300, 65535]], dtype=np.uint16)
    table = [255 - i for i in range(256)]
    _, ds = both(make_file(arr, VOILUTSequence=[lut_item([256, 0, 8], table)]))
    assert np.asarray(get_image(ds, voi=0)).tolist() == [[255, 1, 0, 0, 0, 0]]
    palette = [rendering.LUT(np.arange(256, dtype=np.uint8), 0, 8)] * 3
    assert rendering.render_palette(arr, *palette)[0, :, 0].tolist() == [0, 254, 255, 255, 255, 255]


def test_no_voi_uses_the_full_range() -> None:
    arr = np.array([[100, 200], [300, 1100]], dtype=np.uint16)
    _, ds = both(make_file(arr))
    assert np.asarray(get_image(ds, display=True)).tolist() == [[0, 26], [51, 255]]
    assert np.asarray(get_image(ds, voi=0)).tolist() == [[0, 26], [51, 255]]
    with pytest.raises(ValueError, match="voi=1: the dataset has 0 Window"):
        get_image(ds, voi=1)


def test_float_pixel_data_displays_over_its_range() -> None:
    ds = dcf.read(TESTDATA / "float_pixels.dcm")
    values = pixels(ds, 0)
    shown = np.asarray(get_image(ds, display=True))
    assert shown.dtype == np.uint8
    assert shown[values == values.min()].max() == 0
    assert shown[values == values.max()].min() == 255
    order = np.argsort(values, axis=None)
    assert np.all(np.diff(shown.reshape(-1)[order].astype(int)) >= 0)
