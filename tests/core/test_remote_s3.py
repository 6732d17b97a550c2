"""S3 through s3fs, against moto's S3 server on 127.0.0.1: reads, writes, transcodes, errors.

The local read of the same file is the oracle; the counters of the source
measure the requests (moto counts nothing).
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.remote import RemoteNotFoundError, RemoteSource
from dicomframe.errors import WriteError
from tests.reference import ROOT, TESTDATA, project_files
from tests.servers import s3_server

BUCKET = "dicom"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, Any]]]:
    """An s3fs filesystem on moto's server with a bucket of testdata/, and its options."""
    pytest.importorskip("s3fs")
    pytest.importorskip("moto")
    import s3fs  # type: ignore[import-untyped]

    with s3_server() as (_, options):
        fs = s3fs.S3FileSystem(**options)
        fs.mkdir(BUCKET)
        for path in project_files():
            fs.put_file(str(path), f"{BUCKET}/{path.name}")
        big = tmp_path_factory.mktemp("s3") / "big.dcm"
        ds = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm")
        ds.set_pixel_data(np.arange(6 * 256 * 256, dtype=np.uint16).reshape(6, 256, 256))
        dcf.write(ds, big)
        fs.put_file(str(big), f"{BUCKET}/big.dcm")
        yield fs, options


def _elements(source: Any, **options: Any) -> list[tuple[int, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with dcf.read(source, **options) as ds:
            return [(int(e.tag), e.value if e.vr is not dcf.VR.SQ else len(e.value)) for e in ds]


def test_read_from_s3_equals_local(s3: tuple[Any, dict[str, Any]]) -> None:
    _, options = s3
    compared = 0
    for path in project_files():
        try:
            local = _elements(path, defer_size=256)
        except dcf.DicomError:
            continue
        remote = _elements(f"s3://{BUCKET}/{path.name}", defer_size=256, storage_options=options)
        assert remote == local, path.name
        compared += 1
    assert compared >= 15


def test_iter_elements_from_s3(s3: tuple[Any, dict[str, Any]]) -> None:
    _, options = s3
    path = TESTDATA / "sequences.dcm"
    local = [int(e.tag) for e in dcf.iter_elements(path)]
    url = f"s3://{BUCKET}/{path.name}"
    assert [int(e.tag) for e in dcf.iter_elements(url, storage_options=options)] == local


def test_open_file_is_read(s3: tuple[Any, dict[str, Any]]) -> None:
    fsspec = pytest.importorskip("fsspec")
    _, options = s3
    opened = fsspec.open(f"s3://{BUCKET}/ct_explicit_le.dcm", **options)
    assert _elements(opened) == _elements(TESTDATA / "ct_explicit_le.dcm")


def test_one_frame_is_one_request(s3: tuple[Any, dict[str, Any]]) -> None:
    fs, options = s3
    local = dcf.read(BytesIO(fs.cat_file(f"{BUCKET}/big.dcm")))
    with dcf.read(f"s3://{BUCKET}/big.dcm", storage_options=options) as ds:
        source = ds.source
        assert isinstance(source, RemoteSource)
        before = (source.requests, source.bytes_received)
        frame = ds.pixel_data[3].decode()
        assert source.requests == before[0] + 1
        assert source.bytes_received - before[1] == local.pixel_data.info.bytes_per_frame
        np.testing.assert_array_equal(frame.array, local.pixel_data[3].decode().array)


def test_write_to_s3_then_read_back(s3: tuple[Any, dict[str, Any]]) -> None:
    fs, options = s3
    ds = dcf.read(TESTDATA / "rgb_planar0.dcm")
    url = f"s3://{BUCKET}/written/rgb.dcm"
    dcf.write(ds, url, storage_options=options)
    back = dcf.read(url, storage_options=options)
    assert [e.tag for e in back] == [e.tag for e in ds]
    np.testing.assert_array_equal(back.pixel_array, ds.pixel_array)
    assert fs.cat_file(f"{BUCKET}/written/rgb.dcm") == _bytes_written(ds)


def _bytes_written(ds: dcf.Dataset) -> bytes:
    out = BytesIO()
    dcf.write(ds, out)
    return out.getvalue()


def test_transcode_s3_to_s3(s3: tuple[Any, dict[str, Any]]) -> None:
    _, options = s3
    src, dst = f"s3://{BUCKET}/mr_multiframe_uint16.dcm", f"s3://{BUCKET}/out/rle.dcm"
    dcf.transcode_file(src, dst, "RLELossless", storage_options=options)
    back = dcf.read(dst, storage_options=options)
    assert back.transfer_syntax is not None
    assert back.transfer_syntax.keyword == "RLELossless"
    local = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm")
    np.testing.assert_array_equal(back.pixel_array, local.pixel_array)


def test_failed_transcode_uploads_nothing(s3: tuple[Any, dict[str, Any]]) -> None:
    fs, options = s3
    src = f"s3://{BUCKET}/mr_multiframe_uint16.dcm"
    dst = f"s3://{BUCKET}/out/failed.dcm"
    with pytest.raises(dcf.DicomError):  # 16-bit pixels have no 8-bit JPEG baseline encoding
        dcf.transcode_file(src, dst, "JPEGBaseline8Bit", storage_options=options)
    assert not fs.exists(f"{BUCKET}/out/failed.dcm")
    kept = f"s3://{BUCKET}/ct_explicit_le.dcm"
    before = fs.cat_file(f"{BUCKET}/ct_explicit_le.dcm")
    with pytest.raises(dcf.DicomError):
        dcf.transcode_file(src, kept, "JPEGBaseline8Bit", storage_options=options)
    assert fs.cat_file(f"{BUCKET}/ct_explicit_le.dcm") == before  # an object there is untouched


def test_missing_key_names_the_url(s3: tuple[Any, dict[str, Any]]) -> None:
    _, options = s3
    url = f"s3://{BUCKET}/nothing-here.dcm"
    with pytest.raises(RemoteNotFoundError, match=r"nothing-here\.dcm"):
        dcf.read(url, storage_options=options)


def test_write_to_a_missing_bucket_is_a_write_error(s3: tuple[Any, dict[str, Any]]) -> None:
    _, options = s3
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    with pytest.raises(WriteError, match="no-such-bucket"):
        dcf.write(ds, "s3://no-such-bucket/a.dcm", storage_options=options)


def test_local_reads_never_import_fsspec() -> None:
    code = (
        "import json, sys\nimport dicomframe as dcf\n"
        f"ds = dcf.read({str(TESTDATA / 'ct_explicit_le.dcm')!r})\n"
        "ds.pixel_data[0].decode()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fsspec', 's3fs', 'aiohttp', 'requests'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert json.loads(result.stdout) == []


def test_file_urls_write_in_place(tmp_path: Path) -> None:
    ds = dcf.read(TESTDATA / "ct_explicit_le.dcm")
    dest = tmp_path / "out.dcm"
    dcf.write(ds, dest.as_uri())
    assert dest.read_bytes() == _bytes_written(ds)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.dcm"]
