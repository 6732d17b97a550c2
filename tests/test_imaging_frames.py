"""get_image of one frame of an enhanced multi-frame dataset: its functional groups decide.

The oracle is the same frame with its Pixel Value Transformation and Frame VOI
LUT lifted to the top level by pydicom (``lifted``), which every renderer reads:
the image of frame ``i`` must equal the image of that flat dataset.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
import pydicom
import pytest

import dicomframe as dcf
from tests.reference import pydicom_data_file
from tests.rendering.test_apply import lifted, per_frame_file


def _flat_image(py: Any, frame: int, ds: dcf.Dataset) -> np.ndarray[Any, Any]:
    """The frame rendered from a one-frame dataset holding its groups at the top level."""
    flat = lifted(py, frame)
    for keyword in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        if keyword in flat:
            del flat[keyword]
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flat.save_as(buffer)
    top = dcf.read(buffer.getvalue())
    native = ds.pixel_data[frame % len(ds.pixel_data)].decode()
    return np.asarray(dcf.get_image(native, dataset=top, display=True))


@pytest.mark.parametrize("frame", [0, 1, 2])
def test_each_frame_renders_with_its_own_groups(frame: int) -> None:
    data = per_frame_file()  # a shared window; each frame its own rescale, frame 2 its window
    ds = dcf.read(data)
    py = pydicom.dcmread(io.BytesIO(data))
    image = np.asarray(dcf.get_image(ds, frame_index=frame, display=True))
    np.testing.assert_array_equal(image, _flat_image(py, frame, ds))
    top_level_only = np.asarray(dcf.get_image(ds.pixel_data[frame].decode(), display=True))
    assert not np.array_equal(image, top_level_only)  # the groups changed the picture


@pytest.mark.parametrize("frame", [0, -1])
def test_a_real_enhanced_ct(frame: int) -> None:
    path = pydicom_data_file("eCT_Supplemental.dcm")  # shared: rescale -1024, window 49/102
    ds = dcf.read(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        py = pydicom.dcmread(path)
    assert "WindowCenter" not in ds
    image = np.asarray(dcf.get_image(ds, frame_index=frame, display=True))
    np.testing.assert_array_equal(image, _flat_image(py, frame, ds))
    frame_taken = ds.pixel_data[frame % len(ds.pixel_data)]  # a frame knows its index too
    taken = dcf.get_image(frame_taken, dataset=ds, display=True)
    np.testing.assert_array_equal(np.asarray(taken), image)
