"""Pixel masks: blacked out in the original syntax, bit-exact elsewhere, judged by pydicom."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

import dicomframe as dcf
from dicomframe.deid import deidentify, deidentify_with_report
from dicomframe.deid.masks import Rect, load_rules
from tests.deid.helpers import SALT, pydicom_file
from tests.reference import TESTDATA

RECTS = [(1, 2, 5, 3), (0, 0, 2, 1)]


def written(ds: dcf.Dataset) -> Any:
    """``ds`` written and read back by pydicom, the independent decoder."""
    buffer = io.BytesIO()
    dcf.write(ds, buffer)
    return pydicom.dcmread(io.BytesIO(buffer.getvalue()))


def inside(shape: tuple[int, ...], frames: bool) -> np.ndarray[Any, Any]:
    """True on the pixels of RECTS, for arrays as pydicom shapes them."""
    where = np.zeros(shape, bool)
    for x, y, w, h in RECTS:
        if frames:
            where[:, y : y + h, x : x + w] = True
        else:
            where[y : y + h, x : x + w] = True
    return where


def codes(ds: Any) -> list[str]:
    return [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]


@pytest.mark.parametrize(
    ("name", "how", "black"),
    [
        ("mr_multiframe_uint16.dcm", "native", 0),  # MONOCHROME2 16-bit, several frames
        ("ct_explicit_le.dcm", "native", -32768),  # signed: the smallest stored value
        ("rgb_planar0.dcm", "native", 0),
        ("rgb_planar1.dcm", "native", 0),
        ("rle_multiframe.dcm", "re-encoded in RLELossless", 0),
        ("j2k_lossless.dcm", "re-encoded in JPEG2000Lossless", -32768),
        ("jpeg_lossless.dcm", "re-encoded in JPEGLosslessSV1", -32768),
    ],
)
def test_lossless_masks_are_bit_exact_outside(name: str, how: str, black: int) -> None:
    path = TESTDATA / name
    ds = dcf.read(path)
    before = pydicom.dcmread(path)
    result = deidentify_with_report(ds, salt=SALT, mask=RECTS)
    back = written(result.dataset)
    assert back.file_meta.TransferSyntaxUID == before.file_meta.TransferSyntaxUID
    source, masked = before.pixel_array, back.pixel_array
    where = inside(masked.shape, int(before.get("NumberOfFrames", 1)) > 1)
    assert np.array_equal(masked[~where], source[~where])
    assert (masked[where] == black).all()
    assert (source[where] != black).any()  # the mask changed something
    assert black in (0, -(1 << (int(before.BitsStored) - 1)))  # the minimum of Bits Stored
    assert back.BurnedInAnnotation == "NO"
    assert codes(back)[-1] == "113101"
    record = [r for r in result.actions if r.action == "M"]
    assert [r.keyword for r in record] == ["PixelData"]
    assert how in record[0].note
    assert "LossyImageCompression" not in back
    assert np.array_equal(dcf.read(path).pixel_array, ds.pixel_array)  # input untouched


def test_jpeg_baseline_is_re_encoded_lossy_and_marked() -> None:
    path = pydicom_file("SC_rgb_jpeg_dcmtk.dcm")
    ds = dcf.read(path)
    before = pydicom.dcmread(path)
    method = before.get("LossyImageCompressionMethod")
    methods = [method] if isinstance(method, str) else list(method or [])
    result = deidentify_with_report(ds, salt=SALT, mask=[(10, 10, 32, 16)])
    back = written(result.dataset)
    assert back.file_meta.TransferSyntaxUID == before.file_meta.TransferSyntaxUID
    assert back.LossyImageCompression == "01"
    assert list(back.LossyImageCompressionMethod) == [*methods, "ISO_10918_1"]
    assert float(back.LossyImageCompressionRatio[-1]) > 1
    assert "re-encoded lossy in JPEGBaseline8Bit" in result.actions[-1].note
    region = back.pixel_array[12:24, 12:40].astype(int)  # away from the block edges
    assert before.pixel_array[12:24, 12:40].mean() > 40
    assert region.mean() < 8
    assert back.SOPInstanceUID == result.dataset.SOPInstanceUID  # the de-identified UID stays


def test_monochrome1_black_is_the_largest_value() -> None:
    ds = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm")
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.LargestImagePixelValue = int(ds.pixel_array.max())
    back = written(deidentify(ds, salt=SALT, mask=[(0, 0, 3, 3)]))
    assert (back.pixel_array[:, :3, :3] == (1 << int(back.BitsStored)) - 1).all()
    assert "LargestImagePixelValue" not in back  # black may lie outside the old range


def test_no_mask_leaves_pixels_and_burned_in_annotation() -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    ds.BurnedInAnnotation = "YES"
    result = deidentify_with_report(ds, salt=SALT)
    back = written(result.dataset)
    assert back.BurnedInAnnotation == "YES"
    assert "113101" not in codes(back)
    assert not [r for r in result.actions if r.action == "M"]


@pytest.mark.parametrize("rect", [(60, 0, 10, 10), (0, 0, 1, 1000)])
def test_a_mask_outside_the_image_is_named(rect: tuple[int, int, int, int]) -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    x, y, w, h = rect
    if x + w <= int(ds.Columns):
        rect = (int(ds.Columns) - 5, y, w, h)
        x = rect[0]
    with pytest.raises(ValueError, match=rf"mask x={x} y={y} width={w} height={h} lies outside"):
        deidentify(ds, salt=SALT, mask=[(0, 0, 1, 1), rect])


def test_bad_rectangles() -> None:
    with pytest.raises(ValueError, match="width, height > 0"):
        Rect.of((0, 0, 0, 4))
    with pytest.raises(ValueError, match="four integers"):
        Rect.of((0, 0, 4))


RULES = {
    "rule": [
        {"Manufacturer": "ACME", "rects": [[0, 0, 10, 5]]},
        {"Manufacturer": "acme ", "ManufacturerModelName": "Scan 9", "rects": [[1, 1, 2, 2]]},
        {"Rows": 64, "Columns": 64, "rects": [[0, 60, 64, 4]]},
    ]
}
TOML = """
[[rule]]
Manufacturer = "ACME"
rects = [[0, 0, 10, 5]]

[[rule]]
Manufacturer = "acme "
ManufacturerModelName = "Scan 9"
rects = [[1, 1, 2, 2]]

[[rule]]
Rows = 64
Columns = 64
rects = [[0, 60, 64, 4]]
"""


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_rules_match_any_subset(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"rules{suffix}"
    path.write_text(json.dumps(RULES) if suffix == ".json" else TOML)
    rules = load_rules(path)
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    size = (int(ds.Rows), int(ds.Columns))
    ds.Manufacturer = "Acme"
    ds.ManufacturerModelName = "Other"
    expected = [Rect(0, 0, 10, 5)] + ([Rect(0, 60, 64, 4)] if size == (64, 64) else [])
    assert rules.for_dataset(ds) == expected
    ds.ManufacturerModelName = "SCAN 9"
    assert Rect(1, 1, 2, 2) in rules.for_dataset(ds)
    ds.Manufacturer = "Other"
    assert Rect(0, 0, 10, 5) not in rules.for_dataset(ds)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"Vendor": "x", "rects": [[0, 0, 1, 1]]}, "unknown keys"),
        ({"Manufacturer": "x"}, "no rects"),
        ({"Manufacturer": "x", "rects": [[0, 0, -1, 1]]}, "rule 0: mask"),
    ],
)
def test_bad_rules_are_named(tmp_path: Path, rule: dict[str, Any], message: str) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rule": [rule]}))
    with pytest.raises(ValueError, match=message):
        load_rules(path)


def test_lossless_re_encoding_is_verified(caplog: pytest.LogCaptureFixture) -> None:
    ds = dcf.read(TESTDATA / "rle_multiframe.dcm")
    with caplog.at_level("DEBUG", logger="dicomframe.transcoding"):
        deidentify(ds, salt=SALT, mask=RECTS)
    checked = [r.getMessage() for r in caplog.records if "verified by decoding" in r.getMessage()]
    assert len(checked) == len(ds.pixel_data)


@pytest.mark.parametrize("rect", [(2, 3, 6, 4), (3, 0, 5, 2), (0, 0, 1, 1)])
def test_native_ybr_full_422_is_masked_without_touching_pixels_outside(
    rect: tuple[int, int, int, int],
) -> None:
    """Luma of every masked pixel goes black; chroma only where a pixel pair is wholly masked."""
    from pydicom.pixels import pixel_array

    path = pydicom_file("SC_ybr_full_422_uncompressed.dcm")
    back = written(deidentify(dcf.read(path), salt=SALT, mask=[rect]))
    buffer = io.BytesIO()
    back.save_as(buffer)
    source = pixel_array(path, as_rgb=False).astype(int)  # YBR, expanded by pydicom
    masked = pixel_array(io.BytesIO(buffer.getvalue()), as_rgb=False).astype(int)
    x, y, w, h = rect
    where = np.zeros(source.shape[:2], bool)
    where[y : y + h, x : x + w] = True
    assert np.array_equal(masked[~where], source[~where])
    assert (masked[where][:, 0] == 0).all()
    whole = np.zeros_like(where)
    whole[y : y + h, 2 * ((x + 1) // 2) : 2 * ((x + w) // 2)] = True
    assert (masked[whole][:, 1:] == 128).all()
    split = where & ~whole
    assert np.array_equal(masked[split][:, 1:], source[split][:, 1:])
    assert (source[where][:, 0] != 0).any()
