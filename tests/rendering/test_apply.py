"""apply_modality_lut, apply_voi_lut and apply_windowing against pydicom 3, value for value.

Every comparison is exact (``assert_array_equal``, dtypes equal too): the files are
read by dicomframe (``dcf.read(path).pixel_array``) for ours and by pydicom for the
oracle, and the two inputs are checked equal first. The files are pydicom's own and
pydicom-data's (real scanners'); synthetic datasets, written by pydicom, cover the VOI
LUT Functions and the functional groups of enhanced multi-frame objects, for which
pydicom is given the frame's attributes at the top level.
"""

from __future__ import annotations

import copy
import io
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset as PyDataset
from pydicom.pixels.processing import apply_modality_lut as py_modality
from pydicom.pixels.processing import apply_voi_lut as py_voi
from pydicom.pixels.processing import apply_windowing as py_windowing

import dicomframe as dcf
from dicomframe.errors import InvalidDicomError
from dicomframe.rendering import (
    apply_modality_lut,
    apply_voi_lut,
    apply_windowing,
    read_window_range,
)
from tests.reference import pydicom_data_file, pydicom_files
from tests.rendering.common import lut_item, make_file

BUNDLED = {p.name: p for p in pydicom_files()}


def find(name: str) -> Path:
    """A file of pydicom's test files, else of pydicom-data."""
    return BUNDLED.get(name) or pydicom_data_file(name)


def load(name: str) -> tuple[Any, dcf.Dataset, np.ndarray, np.ndarray]:
    """pydicom's dataset, ours, our pixels and pydicom's (one frame as (rows, columns))."""
    path = find(name)
    ds = dcf.read(path)
    ours = ds.pixel_array
    if ours.shape[0] == 1:
        ours = ours[0]
    with warnings.catch_warnings():  # the oracle's own remarks about some files
        warnings.simplefilter("ignore")
        py = pydicom.dcmread(path)
        theirs = py.pixel_array
    np.testing.assert_array_equal(ours, theirs)
    return py, ds, ours, theirs


def assert_same(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


# -- Modality LUT --------------------------------------------------------------------------------
MODALITY_FILES = [
    "mlut_18.dcm",  # Modality LUT Sequence: 16-bit entries, signed first mapped (SS)
    "CT_small.dcm",  # rescale, integer slope
    "MR2_UNCR.dcm",  # rescale, slope 3.774114
    "693_UNCR.dcm",  # signed, intercept -1024
    "693_J2KR.dcm",  # the same through JPEG 2000
    "bad_sequence.dcm",  # JPEG lossless
    "rtdose.dcm",  # 15 frames, no rescale (Dose Grid Scaling is no Modality LUT)
    "emri_small.dcm",  # 10 frames, no rescale
    "MR_small.dcm",  # no rescale
]


@pytest.mark.parametrize("name", MODALITY_FILES)
def test_modality_lut_matches_pydicom(name: str) -> None:
    py, ds, ours, theirs = load(name)
    expected = py_modality(theirs, py)
    out = apply_modality_lut(ours, ds)
    assert_same(out, expected)
    assert (out is ours) == (expected is theirs)  # unchanged means the input itself


@pytest.mark.parametrize("name", ["mlut_18.dcm", "MR2_UNCR.dcm", "693_UNCR.dcm"])
def test_modality_lut_frame_by_frame(name: str) -> None:
    _, ds, ours, _ = load(name)
    stack = np.stack([ours, ours[::-1]])
    whole = apply_modality_lut(stack, ds)
    for i in range(2):
        assert_same(whole[i], apply_modality_lut(stack[i], ds))


def test_modality_lut_8_bit_entries_are_uint8() -> None:
    arr = np.arange(300, dtype=np.uint16).reshape(15, 20)
    data = make_file(
        arr, ModalityLUTSequence=[lut_item([256, 0, 8], [255 - i for i in range(256)])]
    )
    py = pydicom.dcmread(io.BytesIO(data))
    out = apply_modality_lut(arr, dcf.read(data))
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, py_modality(arr, py))


# -- VOI LUT and windows -------------------------------------------------------------------------
VOI_FILES = [
    ("vlut_04.dcm", 0),  # VOI LUT Sequence, 16-bit entries
    ("MR_small.dcm", 0),
    ("examples_overlay.dcm", 0),
    ("examples_overlay.dcm", 1),
    ("MR-SIEMENS-DICOM-WithOverlays.dcm", 1),
    ("bad_sequence.dcm", 0),  # rescale + two windows
    ("bad_sequence.dcm", 1),
    ("J2K_pixelrep_mismatch.dcm", 2),  # three windows
    ("MR2_UNCR.dcm", 0),  # float slope: the output range is rescaled too
    ("693_UNCR.dcm", 0),  # signed
    ("RG1_UNCR.dcm", 0),  # MONOCHROME1, 15 bits
    ("RG3_UNCR.dcm", 0),  # MONOCHROME1, 10 bits
    ("JPGLosslessP14SV1_1s_1f_8b.dcm", 0),
    ("CT_small.dcm", 0),  # no VOI: the input itself
]


@pytest.mark.parametrize(("name", "index"), VOI_FILES)
def test_voi_lut_matches_pydicom(name: str, index: int) -> None:
    py, ds, ours, theirs = load(name)
    modality, expected_modality = apply_modality_lut(ours, ds), py_modality(theirs, py)
    expected = py_voi(expected_modality, py, index=index)
    out = apply_voi_lut(modality, ds, index=index)
    assert_same(out, expected)
    assert (out is modality) == (expected is expected_modality)


def test_monochrome1_files_are_there() -> None:
    # MONOCHROME1 is not inverted by the VOI: inversion is the display's step.
    names = [n for n, _ in VOI_FILES if n.startswith("RG")]
    assert {str(load(n)[1].PhotometricInterpretation) for n in names} == {"MONOCHROME1"}


def test_voi_lut_stack_frame_by_frame() -> None:
    _, ds, ours, _ = load("MR-SIEMENS-DICOM-WithOverlays.dcm")
    stack = np.stack([ours, ours.T])
    for index in (0, 1):
        whole = apply_voi_lut(stack, ds, index=index)
        for i in range(2):
            assert_same(whole[i], apply_voi_lut(stack[i], ds, index=index))


def windowed(
    arr: np.ndarray, function: str, center: float, width: float, **extra: Any
) -> tuple[Any, dcf.Dataset]:
    data = make_file(arr, WindowCenter=center, WindowWidth=width, VOILUTFunction=function, **extra)
    return pydicom.dcmread(io.BytesIO(data)), dcf.read(data)


ARRAYS: dict[str, np.ndarray] = {
    "uint8": np.arange(256, dtype=np.uint8).reshape(16, 16),
    "int16": np.arange(-2048, 2048, 4, dtype=np.int16).reshape(32, 32),
    "uint16": (np.arange(1024, dtype=np.uint16) * 64).reshape(32, 32),
}
WINDOWS = [(40.0, 400.0), (127.5, 1.0), (-500.0, 3.25), (10000.0, 20000.0)]
RESCALES: list[dict[str, Any]] = [
    {},
    {"RescaleSlope": "3.774114", "RescaleIntercept": "0.000061"},
    {"RescaleSlope": 1, "RescaleIntercept": -1024},
]


@pytest.mark.parametrize("rescale", RESCALES, ids=["none", "float-slope", "intercept"])
@pytest.mark.parametrize(("center", "width"), WINDOWS)
@pytest.mark.parametrize("kind", ARRAYS)
@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
def test_voi_functions_match_pydicom(
    function: str, kind: str, center: float, width: float, rescale: dict[str, Any]
) -> None:
    arr = ARRAYS[kind]
    py, ds = windowed(arr, function, center, width, **rescale)
    modality = apply_modality_lut(arr, ds)
    with np.errstate(over="ignore"):  # pydicom's SIGMOID lets exp overflow to inf
        expected = py_voi(py_modality(arr, py), py)
    assert_same(apply_voi_lut(modality, ds), expected)
    # apply_windowing from numbers, onto the range the dataset gives, is the same window
    y_range = read_window_range(ds, ds)
    with np.errstate(over="ignore"):
        assert_same(
            apply_windowing(modality, center, width, function=function, output_range=y_range),
            py_windowing(py_modality(arr, py), py),
        )


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("bits", [8, 12, 16])
def test_apply_windowing_bits_stored_is_pydicoms_range(bits: int, signed: bool) -> None:
    values = np.linspace(-5000, 70000, 3001)
    ds = PyDataset()
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsStored, ds.PixelRepresentation = bits, int(signed)
    ds.WindowCenter, ds.WindowWidth = 300, 900
    ours = apply_windowing(values, 300, 900, bits_stored=bits, signed=signed)
    assert_same(ours, py_windowing(values, ds))


def test_apply_windowing_default_is_8_bit() -> None:
    values = np.array([-10.0, 0.0, 20.0, 39.5, 50.0, 80.0, np.nan])
    out = apply_windowing(values, 40, 80)
    np.testing.assert_array_equal(out[[0, 1, 5]], [0, 0, 255])
    assert out[3] == 127.5
    assert np.isnan(out[6])  # NaN stays NaN, as pydicom's
    assert_same(out, apply_windowing(values, 40, 80, output_range=(0.0, 255.0)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 0.5}, "at least 1 for LINEAR"),
        ({"width": 0.0, "function": "SIGMOID"}, "above 0"),
        ({"function": "GAMMA"}, "not one of"),
        ({"center": float("nan")}, "not a finite number"),
        ({"output_range": (0, 1), "bits_stored": 8}, "not both"),
        ({"bits_stored": 0}, "below 1"),
    ],
)
def test_apply_windowing_refuses_bad_parameters(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"center": 40.0, "width": 400.0, **kwargs}
    center, width = args.pop("center"), args.pop("width")
    with pytest.raises(ValueError, match=message) as info:
        apply_windowing(np.arange(4.0), center, width, **args)
    assert not isinstance(info.value, InvalidDicomError)  # the caller's numbers, not the file


def test_prefer_lut_chooses_between_lut_and_window() -> None:
    arr = (np.arange(400, dtype=np.uint16).reshape(20, 20) * 7) % 256
    sequence = [lut_item([256, 0, 8], [255 - i for i in range(256)])]
    data = make_file(arr, VOILUTSequence=sequence, WindowCenter=[100, 30], WindowWidth=[50, 20])
    py, ds = pydicom.dcmread(io.BytesIO(data)), dcf.read(data)
    for prefer_lut in (True, False):
        for index in (0, 1) if not prefer_lut else (0,):
            expected = py_voi(arr, py, index=index, prefer_lut=prefer_lut)
            assert_same(apply_voi_lut(arr, ds, index=index, prefer_lut=prefer_lut), expected)
    assert apply_voi_lut(arr, ds).dtype == np.uint8  # 8-bit entries, as pydicom's


@pytest.mark.parametrize(
    ("attrs", "tag"),
    [
        ({"WindowCenter": 40, "WindowWidth": 0}, "(0028,1051)"),
        ({"WindowCenter": 40, "WindowWidth": 0.5}, "(0028,1051)"),
        ({"WindowCenter": 40, "WindowWidth": 10, "VOILUTFunction": "GAMMA"}, "(0028,1056)"),
    ],
)
def test_bad_windows_in_the_file_are_invalid_dicom(attrs: dict[str, Any], tag: str) -> None:
    arr = np.arange(16, dtype=np.uint16).reshape(4, 4)
    data = make_file(arr, **attrs)
    with pytest.raises(ValueError, match=r"Window Width|VOI LUT Function"):  # pydicom refuses too
        py_voi(arr, pydicom.dcmread(io.BytesIO(data)))
    with pytest.raises(InvalidDicomError, match=re.escape(tag)):
        apply_voi_lut(arr, dcf.read(data))


def test_bad_lut_descriptor_is_invalid_dicom() -> None:
    arr = np.arange(16, dtype=np.uint16).reshape(4, 4)
    data = make_file(arr, ModalityLUTSequence=[lut_item([16, 0, 20], list(range(16)))])
    with pytest.raises(InvalidDicomError, match=r"\(0028,3002\).*20 bits"):
        apply_modality_lut(arr, dcf.read(data))


def test_missing_voi_or_window_on_colour_is_a_value_error() -> None:
    arr = np.arange(16, dtype=np.uint8).reshape(4, 4)
    data = make_file(arr, WindowCenter=[40, 50], WindowWidth=[80, 90])
    with pytest.raises(ValueError, match="voi=2: the dataset has 2 Window"):
        apply_voi_lut(arr, dcf.read(data), index=2)
    data = make_file(arr, WindowCenter=40, WindowWidth=80, PhotometricInterpretation="RGB")
    with pytest.raises(ValueError, match="MONOCHROME"):  # pydicom refuses it too
        py_voi(arr, pydicom.dcmread(io.BytesIO(data)))
    with pytest.raises(ValueError, match="MONOCHROME1 or MONOCHROME2 data, not RGB"):
        apply_voi_lut(arr, dcf.read(data))


# -- enhanced multi-frame: a frame's functional groups -------------------------------------------
def lifted(py: Any, frame: int) -> Any:
    """pydicom's dataset with frame ``frame``'s Pixel Value Transformation and Frame VOI
    LUT moved to the top level, where pydicom's functions look for them."""
    out = copy.deepcopy(py)
    groups = (
        [py.SharedFunctionalGroupsSequence[0]] if "SharedFunctionalGroupsSequence" in py else []
    )
    if "PerFrameFunctionalGroupsSequence" in py:
        groups.append(py.PerFrameFunctionalGroupsSequence[frame])
    for group in groups:  # per-frame after shared: it wins
        for keyword in ("PixelValueTransformationSequence", "FrameVOILUTSequence"):
            if keyword in group:
                for element in group[keyword][0]:
                    out[element.tag] = element
    return out


def test_functional_groups_of_a_real_enhanced_ct() -> None:
    py, ds, ours, theirs = load("eCT_Supplemental.dcm")  # shared: rescale -1024, window 49/102
    assert "RescaleSlope" not in ds
    assert "WindowCenter" not in ds
    for frame in (0, 1, -1):
        flat = lifted(py, frame)
        modality = apply_modality_lut(ours[frame], ds, frame=frame)
        expected = py_modality(theirs[frame], flat)
        assert_same(modality, expected)
        assert_same(apply_voi_lut(modality, ds, frame=frame), py_voi(expected, flat))
    # without frame=: the top-level attributes only, as pydicom reads them
    assert apply_modality_lut(ours, ds) is ours


def per_frame_file() -> bytes:
    """Three frames: a shared window, a rescale and a window of each frame's own."""
    arr = np.stack([np.arange(64, dtype=np.uint16).reshape(8, 8) * (i + 1) * 50 for i in range(3)])

    def item(**attrs: Any) -> PyDataset:
        group = PyDataset()
        for keyword, value in attrs.items():
            setattr(group, keyword, value)
        return group

    shared = item(FrameVOILUTSequence=[item(WindowCenter=500, WindowWidth=1000)])
    per_frame = [
        item(
            PixelValueTransformationSequence=[
                item(RescaleSlope=slope, RescaleIntercept=intercept, RescaleType="US")
            ]
        )
        for slope, intercept in (("1", "0"), ("2.5", "-100"), ("0.125", "7.75"))
    ]
    per_frame[2].FrameVOILUTSequence = [
        item(WindowCenter=[20, 60], WindowWidth=[30, 90], VOILUTFunction="SIGMOID")
    ]
    return make_file(
        arr, SharedFunctionalGroupsSequence=[shared], PerFrameFunctionalGroupsSequence=per_frame
    )


@pytest.mark.parametrize("frame", [0, 1, 2])
def test_per_frame_groups_win_over_shared(frame: int) -> None:
    data = per_frame_file()
    py, ds = pydicom.dcmread(io.BytesIO(data)), dcf.read(data)
    stored = ds.pixel_array[frame]
    flat = lifted(py, frame)
    modality = apply_modality_lut(stored, ds, frame=frame)
    assert_same(modality, py_modality(stored, flat))
    indices = (0, 1) if frame == 2 else (0,)
    for index in indices:
        expected = py_voi(py_modality(stored, flat), flat, index=index)
        assert_same(apply_voi_lut(modality, ds, index=index, frame=frame), expected)


def test_frame_out_of_range_is_a_value_error() -> None:
    data = per_frame_file()
    with pytest.raises(ValueError, match="frame=3"):
        apply_modality_lut(np.zeros((8, 8)), dcf.read(data), frame=3)
    _, ds, ours, _ = load("CT_small.dcm")  # no functional groups: one frame, top level
    assert_same(apply_modality_lut(ours, ds, frame=0), apply_modality_lut(ours, ds))
    with pytest.raises(ValueError, match="frame=1: the dataset has 1 frames"):
        apply_voi_lut(ours, ds, frame=1)
