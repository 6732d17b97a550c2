"""The plugin's own tests: dicomframe's conformance checks, and the registry finding it."""

from __future__ import annotations

import dicomframe_zlib_codec as plugin
import numpy as np

import dicomframe as dcf
from dicomframe.plugins import CodecManager
from dicomframe.testing import check_codec


def test_conformance() -> None:
    report = check_codec(plugin.ZLIB_EXAMPLE)
    assert report.round_trips  # every layout the Capabilities accept was encoded and decoded


def test_found_through_the_entry_point() -> None:
    manager = CodecManager()
    rows = {row.name: row for row in manager.codecs()}
    assert rows["zlib-example"].plugin == "zlib-example"
    assert rows["zlib-example"].version == "1.0.0"
    assert rows["zlib-example"].available


def test_whole_dataset_round_trip(tmp_path) -> None:
    pixels = np.arange(3 * 16 * 20, dtype=np.uint16).reshape(3, 16, 20)
    ds = dcf.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1234.5"
    ds.set_pixel_data(pixels)
    compressed = dcf.transcode(ds, "ExampleZlibFrames")
    dcf.write(compressed, tmp_path / "zlib.dcm")
    again = dcf.read(tmp_path / "zlib.dcm")
    assert again.transfer_syntax.keyword == "ExampleZlibFrames"
    np.testing.assert_array_equal(again.pixel_array, pixels)
