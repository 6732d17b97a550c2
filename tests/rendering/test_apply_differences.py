"""Each row of docs/rendering.md's "Differences from pydicom", checked against pydicom 3.

Every test shows what pydicom does and what dicomframe does instead, so that the table
stays true when either changes.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset as PyDataset
from pydicom.pixels.processing import apply_modality_lut as py_modality
from pydicom.pixels.processing import apply_voi_lut as py_voi

import dicomframe as dcf
from dicomframe.errors import InvalidDicomError
from dicomframe.rendering import apply_modality_lut, apply_voi_lut
from tests.rendering.common import lut_item, make_file


def assert_same(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def test_index_past_a_single_window() -> None:
    arr = np.arange(16, dtype=np.uint16).reshape(4, 4)
    data = make_file(arr, WindowCenter=8, WindowWidth=10)
    py, ds = pydicom.dcmread(io.BytesIO(data)), dcf.read(data)
    assert_same(py_voi(arr, py, index=3), py_voi(arr, py, index=0))  # pydicom: the one window
    with pytest.raises(ValueError, match="voi=3: the dataset has 1 Window"):
        apply_voi_lut(arr, ds, index=3)
    plain = make_file(arr)
    assert py_voi(arr, pydicom.dcmread(io.BytesIO(plain)), index=1) is arr
    with pytest.raises(ValueError, match="voi=1: the dataset has 0 Window"):
        apply_voi_lut(arr, dcf.read(plain), index=1)


def test_voi_lut_item_without_data() -> None:
    arr = np.arange(16, dtype=np.uint16).reshape(4, 4)
    item = PyDataset()
    item.LUTDescriptor = [16, 0, 16]
    data = make_file(arr, VOILUTSequence=[item], WindowCenter=8, WindowWidth=10)
    py = pydicom.dcmread(io.BytesIO(data))
    assert py_voi(arr, py).dtype == np.float64  # pydicom falls back to the window
    with pytest.raises(InvalidDicomError, match=r"\(0028,3002\).*missing"):
        apply_voi_lut(arr, dcf.read(data))


def test_rescale_slope_alone() -> None:
    arr = np.arange(16, dtype=np.uint16).reshape(4, 4)
    data = make_file(arr, RescaleSlope="2.5")
    assert py_modality(arr, pydicom.dcmread(io.BytesIO(data))) is arr  # pydicom: not applied
    assert_same(apply_modality_lut(arr, dcf.read(data)), arr * 2.5)


def test_12_bit_modality_lut_entries() -> None:
    arr = np.arange(16, dtype=np.uint16).reshape(4, 4)
    data = make_file(arr, ModalityLUTSequence=[lut_item([16, 0, 12], [i * 200 for i in range(16)])])
    with pytest.raises(TypeError, match="uint12"):
        py_modality(arr, pydicom.dcmread(io.BytesIO(data)))
    assert_same(apply_modality_lut(arr, dcf.read(data)), (arr * 200).astype(np.uint16))


def test_modality_lut_and_rescale_both_present() -> None:
    arr = np.arange(256, dtype=np.uint16).reshape(16, 16)
    table = [i * 16 for i in range(256)]
    attrs: dict[str, Any] = {
        "RescaleSlope": 2,
        "RescaleIntercept": -5,
        "WindowCenter": 2000,
        "WindowWidth": 800,
    }
    data = make_file(arr, ModalityLUTSequence=[lut_item([256, 0, 12], table)], **attrs)
    py, ds = pydicom.dcmread(io.BytesIO(data)), dcf.read(data)
    modality = apply_modality_lut(arr, ds)
    np.testing.assert_array_equal(modality, np.asarray(table).reshape(16, 16))  # the LUT only
    out = apply_voi_lut(modality, ds)
    assert (out.min(), out.max()) == (0, 4095)  # the LUT's range, not rescaled
    assert py_voi(modality, py).max() == 4095 * 2 - 5  # pydicom rescales the LUT's range


def test_empty_voi_lut_function_is_linear() -> None:
    arr = np.arange(16, dtype=np.uint16).reshape(4, 4)
    data = make_file(arr, WindowCenter=8, WindowWidth=10, VOILUTFunction="")
    with pytest.raises(ValueError, match="Unsupported"):
        py_voi(arr, pydicom.dcmread(io.BytesIO(data)))
    linear = make_file(arr, WindowCenter=8, WindowWidth=10)
    expected = py_voi(arr, pydicom.dcmread(io.BytesIO(linear)))
    assert_same(apply_voi_lut(arr, dcf.read(data)), expected)


def test_float_input_to_a_voi_lut() -> None:
    values = np.array([[-1.5, 0.0, 2.9, 3.0, 99.0]])
    data = make_file(
        np.zeros((1, 5), np.uint16), VOILUTSequence=[lut_item([4, 0, 16], [5, 6, 7, 8])]
    )
    with pytest.warns(UserWarning, match="float input"):
        expected = py_voi(values, pydicom.dcmread(io.BytesIO(data)))
    out = apply_voi_lut(values, dcf.read(data))  # no warning: filterwarnings=error would raise
    assert_same(out, expected)
    assert out.tolist() == [[5, 5, 7, 8, 8]]
