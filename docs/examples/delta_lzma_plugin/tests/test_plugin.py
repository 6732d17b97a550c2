"""The plugin's own tests: dicomframe's conformance kit, the registry, a file written and read."""

from __future__ import annotations

from pathlib import Path

import dicomframe_delta_lzma as plugin
import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.frame import NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.errors import EncodeError
from dicomframe.plugins import CodecManager
from dicomframe.testing import check_codec


def test_conformance() -> None:
    report = check_codec(plugin.DELTA_LZMA)  # raises AssertionError on any breach
    print(report)  # what was tried, skipped and cross-checked: `pytest -s` shows it
    infos = [trial.info for trial in report.round_trips if trial.info]
    assert {info.bits_allocated for info in infos} == {8, 16, 32, 64}
    assert {info.samples_per_pixel for info in infos} == {1, 3, 4}
    refused = [skip.reason for skip in report.skipped if skip.kind == "refused"]
    assert refused  # frames with bits set above Bits Stored: check_range refuses them
    assert all("do not fit Bits Stored" in reason for reason in refused)
    assert report.decoded  # and its decoder clears those bits in a stream that has them


def test_found_through_the_entry_point() -> None:
    manager = CodecManager()
    rows = {row.name: row for row in manager.codecs()}
    assert rows["delta-lzma-example"].plugin == "delta-lzma-example"
    assert rows["delta-lzma-example"].version == "1.0.0"
    assert rows["delta-lzma-example"].available


def test_decodes_into_the_registry_output() -> None:
    info = FrameInfo(rows=4, columns=5, bits_allocated=16, bits_stored=12, high_bit=11)
    frame = NativeFrame(np.arange(20, dtype="<u2") * 200, info)
    encoded = plugin.encode(frame, plugin.DELTA_LZMA_SYNTAX)
    out = np.zeros(20, dtype="<u2")
    decoded = plugin.decode(encoded, out=out)
    assert np.shares_memory(decoded.data, out)  # no copy
    np.testing.assert_array_equal(out, frame.data)


def test_refuses_bits_above_bits_stored() -> None:
    info = FrameInfo(rows=1, columns=2, bits_allocated=16, bits_stored=12, high_bit=11)
    frame = NativeFrame(np.array([5000, 1], dtype="<u2"), info)
    with pytest.raises(EncodeError, match="do not fit Bits Stored 12"):
        plugin.encode(frame, plugin.DELTA_LZMA_SYNTAX)


def test_whole_dataset_round_trip(tmp_path: Path) -> None:
    rows, columns = np.mgrid[0:64, 0:80]
    pixels = np.stack([rows * 1000 + columns * 7] * 3).astype(np.int32) - 40_000  # 3 frames
    ds = dcf.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1234.6"
    ds.set_pixel_data(pixels)
    compressed = dcf.transcode(ds, "ExampleDeltaLzmaFrames")
    dcf.write(compressed, tmp_path / "delta.dcm")
    assert (tmp_path / "delta.dcm").stat().st_size < pixels.nbytes // 10  # smooth: small
    again = dcf.read(tmp_path / "delta.dcm")
    assert again.transfer_syntax is not None
    assert again.transfer_syntax.keyword == "ExampleDeltaLzmaFrames"
    np.testing.assert_array_equal(again.pixel_array, pixels)
