"""The plugin's own tests: dicomframe's conformance checks, and the registry finding it."""

from __future__ import annotations

from pathlib import Path

import dicomframe_zlib_codec as plugin
import numpy as np

import dicomframe as dcf
from dicomframe.plugins import CodecManager
from dicomframe.testing import check_codec


def test_conformance() -> None:
    report = check_codec(plugin.ZLIB_EXAMPLE)  # raises AssertionError on any breach
    print(report)  # what was tried, skipped and cross-checked: `pytest -s` shows it
    bits = {trial.info.bits_allocated for trial in report.round_trips if trial.info}
    assert bits == {8, 16, 32}  # every Bits Allocated its Capabilities declare was tried


def test_found_through_the_entry_point() -> None:
    manager = CodecManager()
    rows = {row.name: row for row in manager.codecs()}
    assert rows["zlib-example"].plugin == "zlib-example"
    assert rows["zlib-example"].version == "1.0.0"
    assert rows["zlib-example"].available


def test_whole_dataset_round_trip(tmp_path: Path) -> None:
    pixels = np.arange(3 * 16 * 20, dtype=np.uint16).reshape(3, 16, 20)
    ds = dcf.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1234.5"
    ds.set_pixel_data(pixels)
    compressed = dcf.transcode(ds, "ExampleZlibFrames")
    dcf.write(compressed, tmp_path / "zlib.dcm")
    again = dcf.read(tmp_path / "zlib.dcm")
    assert again.transfer_syntax is not None
    assert again.transfer_syntax.keyword == "ExampleZlibFrames"
    np.testing.assert_array_equal(again.pixel_array, pixels)
