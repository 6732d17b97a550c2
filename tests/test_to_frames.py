"""dicomframe.imaging.to_frames: to_frame for many, decoded and encoded on every core."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

import dicomframe as dcf
from dicomframe.codecs import rle
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.imaging import to_frame, to_frames
from dicomframe.parallel import ParallelReport, can_fork
from dicomframe.plugins import CodecManager
from tests.reference import TESTDATA


def arrays(count: int = 5) -> list[np.ndarray[Any, Any]]:
    rng = np.random.default_rng(5)
    return [rng.integers(0, 4096, (12, 10), dtype=np.uint16) for _ in range(count)]


@pytest.fixture
def codecs(manager: CodecManager) -> CodecManager:
    manager.register(rle, "rle")
    return manager


@pytest.mark.parametrize("parallel", ["serial", "threads", "processes"])
def test_many_arrays_are_encoded_on_every_core(codecs: CodecManager, parallel: str) -> None:
    if parallel == "processes" and not can_fork():
        pytest.skip("needs os.fork")
    report = ParallelReport()
    frames = to_frames(arrays(), "RLELossless", codecs=codecs, bits_stored=12, workers=2,
                       parallel=parallel, report=report)  # fmt: skip
    assert report.mode == parallel
    assert report.steps == {"encode": "pylibjpeg-rle"}
    if parallel == "processes":  # one forked worker; this process is the other
        assert len(report.processes) == 1
    for frame, array in zip(frames, arrays(), strict=True):
        assert isinstance(frame, EncapsulatedFrame)
        assert frame.info.bits_stored == 12
        single = to_frame(array, "RLELossless", codecs=codecs, bits_stored=12)
        assert isinstance(single, EncapsulatedFrame)
        assert bytes(frame.data) == bytes(single.data)  # what to_frame makes, one by one


def test_encapsulated_frames_are_decoded_by_the_workers() -> None:
    source = dcf.read(TESTDATA / "rle_multiframe.dcm")
    report = ParallelReport()
    frames = to_frames(list(source.pixel_data), "JPEGLSLossless", workers=2, parallel="threads",
                       report=report)  # fmt: skip
    assert set(report.steps) == {"decode", "encode"}
    decoded = np.stack([f.decode().array for f in frames])
    np.testing.assert_array_equal(decoded, source.pixel_array)


def test_a_native_target_gives_native_frames_in_that_syntax(codecs: CodecManager) -> None:
    encoded = to_frames(arrays(3), "RLELossless", codecs=codecs)
    images = [Image.fromarray(np.full((4, 6), 7, np.uint8))]
    back = to_frames([*encoded, *images], "ExplicitVRBigEndian", codecs=codecs)
    assert all(isinstance(f, NativeFrame) for f in back)
    assert {f.info.transfer_syntax_uid for f in back} == {"1.2.840.10008.1.2.2"}
    for frame, array in zip(back, arrays(3), strict=False):
        np.testing.assert_array_equal(frame.decode().array, array)
    np.testing.assert_array_equal(back[-1].decode().array, np.full((4, 6), 7))


def test_options_for_no_encoder_are_refused() -> None:
    with pytest.raises(TypeError, match="level"):
        to_frames(arrays(2), "ExplicitVRLittleEndian", level=3)
