"""dicomframe.dask.frames: equal to stacking pixel_array, lazy until computed, decoded on workers.

The oracle is numpy stacking of ``dcf.read(f).pixel_array`` for each file, and
pydicom's ``pixel_array`` for the same files (pydicom 3 decoding with its own
plugins); modality and display values are checked against pydicom's
``apply_modality_lut`` and ``apply_voi_lut``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.pixel_data import PixelData
from dicomframe.dask import frames
from tests.dask import probe
from tests.reference import TESTDATA, pydicom_data_file, pydicom_files

dask = pytest.importorskip("dask")
_PYDICOM = {p.name: p for p in pydicom_files()}


def pydicom_test_file(name: str) -> Path:
    return _PYDICOM[name]


STACKS: dict[str, list[Path]] = {
    # one file each: multi-frame and single-frame, native and compressed
    "mr_multiframe": [TESTDATA / "mr_multiframe_uint16.dcm"],
    "rle_multiframe": [TESTDATA / "rle_multiframe.dcm"],
    "j2k_single": [TESTDATA / "j2k_lossless.dcm"],
    "rgb_planar1": [TESTDATA / "rgb_planar1.dcm"],
    "jpeg_baseline_rgb": [pydicom_test_file("SC_rgb_jpeg_dcmtk.dcm")],
    "rle_rgb_2frame": [pydicom_test_file("SC_rgb_rle_2frame.dcm")],
    "jpegls_16": [pydicom_test_file("JPEGLSNearLossless_16.dcm")],
    # one series, every file in another transfer syntax: single-frame 64x64 int16 ...
    "mr_small_syntaxes": [
        pydicom_test_file(n)
        for n in (
            "MR_small.dcm",
            "MR_small_RLE.dcm",
            "MR_small_jp2klossless.dcm",
            "MR_small_jpeg_ls_lossless.dcm",
            "MR_small_bigendian.dcm",
            "MR_small_implicit.dcm",
        )
    ],
    # ... and 10-frame 64x64 uint16 (pydicom-data)
    "emri_small_syntaxes": [
        pydicom_data_file(n)
        for n in (
            "emri_small.dcm",
            "emri_small_RLE.dcm",
            "emri_small_jpeg_2k_lossless.dcm",
            "emri_small_jpeg_ls_lossless.dcm",
            "emri_small_big_endian.dcm",
        )
    ],
}


def stacked(paths: list[Path]) -> np.ndarray[Any, Any]:
    return np.concatenate([dcf.read(p).pixel_array for p in paths])


def pydicom_stacked(paths: list[Path]) -> np.ndarray[Any, Any]:
    pydicom = pytest.importorskip("pydicom")
    arrays = []
    for path in paths:
        ds = pydicom.dcmread(path)
        array = ds.pixel_array
        arrays.append(array if int(ds.get("NumberOfFrames") or 1) > 1 else array[None])
    return np.concatenate(arrays)


@pytest.mark.parametrize("chunks", [1, 3])
@pytest.mark.parametrize("stack", sorted(STACKS))
def test_equals_stacked_pixel_arrays(stack: str, chunks: int) -> None:
    paths = STACKS[stack]
    array = frames(paths, chunks=chunks)
    expected = stacked(paths)
    assert array.shape == expected.shape
    assert array.dtype == expected.dtype
    assert all(size <= chunks for size in array.chunks[0])
    assert sum(array.chunks[0]) == expected.shape[0]
    np.testing.assert_array_equal(array.compute(scheduler="sync"), expected)


@pytest.mark.parametrize(
    "stack", ["mr_small_syntaxes", "emri_small_syntaxes", "rle_rgb_2frame", "mr_multiframe"]
)
def test_equals_pydicom(stack: str) -> None:
    paths = STACKS[stack]
    np.testing.assert_array_equal(
        frames(paths, chunks=4).compute(scheduler="sync"), pydicom_stacked(paths)
    )


def test_a_slice_reads_only_its_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = STACKS["emri_small_syntaxes"]
    expected = stacked(paths)[12:14]
    built = record_frames(monkeypatch)
    part = frames(paths, chunks=3)[12:14].compute(scheduler="sync")
    np.testing.assert_array_equal(part, expected)
    # Chunks of 3 cut at frames 0, 3, ..., 12, 15: frames 12-14 are one chunk, the
    # second file's frames 2-4, and no other chunk is read.
    assert sorted(index for _, index in built) == [2, 3, 4]


def record_frames(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    built: list[tuple[int, int]] = []
    original = PixelData.frame

    def frame(self: PixelData, index: int) -> Any:
        built.append((os.getpid(), index))
        return original(self, index)

    monkeypatch.setattr(PixelData, "frame", frame)
    return built


@pytest.mark.parametrize("stack", ["emri_small_syntaxes", "mr_small_syntaxes"])
def test_graph_reads_headers_only(stack: str, monkeypatch: pytest.MonkeyPatch) -> None:
    built = record_frames(monkeypatch)
    reads: list[bool] = []
    from dicomframe.dask import layout

    original_read = layout.read  # type: ignore[attr-defined]

    def header_read(path: str, **options: Any) -> Any:
        reads.append(options.get("stop_before_pixels", False))
        return original_read(path, **options)

    monkeypatch.setattr(layout, "read", header_read)
    array = frames(STACKS[stack], chunks=2)
    total = array.sum()
    assert built == []
    assert reads == [True] * len(STACKS[stack])
    assert int(total.compute(scheduler="sync")) == int(stacked(STACKS[stack]).sum(dtype=np.int64))
    assert len(built) == array.shape[0]


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm"])
def test_modality_and_display_equal_pydicom(name: str) -> None:
    pydicom = pytest.importorskip("pydicom")
    from pydicom.pixels.processing import apply_modality_lut, apply_voi_lut

    path = pydicom_test_file(name)
    ds = pydicom.dcmread(path)
    modality = apply_modality_lut(ds.pixel_array, ds)
    got = frames(path, modality=True).compute(scheduler="sync")
    assert got.dtype == np.float64
    np.testing.assert_allclose(got[0], modality)
    shown = frames(path, display=True).compute(scheduler="sync")
    assert shown.dtype == np.float64
    np.testing.assert_allclose(shown[0], apply_voi_lut(modality, ds))


def test_modality_per_frame_functional_groups() -> None:
    path = pydicom_data_file("eCT_Supplemental.dcm")
    from dicomframe.rendering import apply_modality_lut

    ds = dcf.read(path)
    expected = [
        apply_modality_lut(frame.decode().array, ds, frame=i)
        for i, frame in enumerate(ds.pixel_data)
    ]
    got = frames(path, modality=True, chunks=2).compute(scheduler="sync")
    np.testing.assert_allclose(got, np.stack(expected))


def test_mixed_series_refused_naming_the_file() -> None:
    odd = TESTDATA / "ct_explicit_le.dcm"
    with pytest.raises(ValueError, match=f"{odd}: frames of shape"):
        frames([TESTDATA / "mr_multiframe_uint16.dcm", odd])
    with pytest.raises(ValueError, match="dtype"):  # same shape, another dtype
        frames([pydicom_test_file("MR_small.dcm"), pydicom_data_file("emri_small.dcm")])


def test_modality_allows_other_dtypes_of_one_shape() -> None:
    paths = [pydicom_test_file("MR_small.dcm"), pydicom_data_file("emri_small.dcm")]
    assert frames(paths, modality=True).shape == (11, 64, 64)


@pytest.mark.parametrize("chunks", [0, -1, 1.5, True])
def test_bad_chunks(chunks: Any) -> None:
    with pytest.raises(ValueError, match="chunks must be"):
        frames(TESTDATA / "rle_multiframe.dcm", chunks=chunks)


def test_no_files() -> None:
    with pytest.raises(ValueError, match="no files"):
        frames([])


# -- on a distributed cluster ------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # distributed's own start-up and shut-down notices
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        with cluster, distributed.Client(cluster) as connected:
            yield connected


def test_decoded_on_the_workers(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    here = record_frames(monkeypatch)
    worker_pids = set(client.run(probe.install).values())
    assert len(worker_pids) == 2
    assert os.getpid() not in worker_pids

    paths = STACKS["emri_small_syntaxes"] + STACKS["emri_small_syntaxes"][:1]
    array = frames(paths, chunks=1)
    result = client.compute(array).result()

    np.testing.assert_array_equal(result, stacked(paths))
    assert here == []  # the client built no frame
    built = [entry for entries in client.run(probe.built).values() for entry in entries]
    assert len(built) == array.shape[0]
    assert {pid for pid, _ in built} <= worker_pids
    assert len({pid for pid, _ in built}) == 2  # 60 tasks: both workers took some


def test_import_dicomframe_imports_no_dask_nor_requests() -> None:
    import subprocess
    import sys

    code = (
        "import sys, dicomframe as dcf; dcf.read('testdata/rle_multiframe.dcm').pixel_array; "
        "print(sorted(m for m in ('dask', 'distributed', 'requests') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=TESTDATA.parent,
    )
    assert result.stdout.strip() == "[]"
