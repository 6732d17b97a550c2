"""Reading files at URLs: the same datasets as local reads, in few and small range requests.

The HTTP server (tests/servers.py) counts every request and byte it sends,
so "one frame is one request of that frame's size" is measured on the
server's side. The local read of the same file is the oracle for the whole
dataset, and pydicom for the header's tags.
"""

from __future__ import annotations

import shutil
import struct
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.core.encapsulation import frame_spans
from dicomframe.core.limits import Limits
from dicomframe.core.remote import (
    RemoteError,
    RemoteNotFoundError,
    RemoteSource,
    is_remote,
    is_url,
    totals,
)
from dicomframe.core.source import Located
from dicomframe.errors import InvalidDicomError, LimitError, SourceChangedError
from tests.reference import TESTDATA, project_files, pydicom_files
from tests.servers import RangeServer

ROWS, COLUMNS, FRAMES = 256, 256, 12
FRAME_BYTES = ROWS * COLUMNS * 2


def _files() -> list[Path]:
    return project_files() + pydicom_files()


def _key(element: dcf.DataElement) -> tuple[Any, ...]:
    value = element.value
    if element.vr is dcf.VR.SQ:
        value = [[_key(e) for e in item] for item in value]
    elif isinstance(value, bytes | bytearray | memoryview):
        value = bytes(value)
    elif isinstance(value, np.ndarray):
        value = value.tolist()
    return (int(element.tag), element.vr, value)


def _read(source: Any, **options: Any) -> tuple[str, Any]:
    """("ok", elements) or ("error", the error's class), warnings swallowed (both sides alike)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with dcf.read(source, **options) as ds:
                assert ds.meta is not None
                return "ok", ([_key(e) for e in ds.meta], [_key(e) for e in ds])
        except dcf.DicomError as exc:
            return "error", type(exc)


def _iterate(source: Any, **options: Any) -> tuple[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return "ok", [_key(e) for e in dcf.iter_elements(source, **options)]
        except dcf.DicomError as exc:
            return "error", type(exc)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test file, and a native and two encapsulated multi-frame files made for these tests."""
    root = tmp_path_factory.mktemp("served")
    for path in _files():
        shutil.copyfile(path, root / f"{path.parent.name}-{path.name}")
    ds = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm")
    rng = np.random.default_rng(7)
    ds.set_pixel_data(rng.integers(0, 4096, (FRAMES, ROWS, COLUMNS), dtype=np.uint16))
    dcf.write(ds, root / "native.dcm")
    for table in ("basic", "extended"):
        dcf.transcode_file(root / "native.dcm", root / f"rle_{table}.dcm", "RLELossless",
                           offset_table=table)  # fmt: skip
    return root


@pytest.fixture(scope="module")
def http(folder: Path) -> Iterator[RangeServer]:
    with RangeServer(folder) as server:
        yield server


def _served(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s3://bucket/key.dcm", True),
        ("https://example.org/a.dcm", True),
        ("file:///tmp/a.dcm", True),
        ("simplecache::s3://bucket/key", True),
        ("/tmp/a.dcm", False),
        ("relative/a.dcm", False),
        ("C:\\data\\a.dcm", False),
        (b"s3://bytes", False),
        (Path("/tmp/x"), False),
    ],
)
def test_is_url(text: object, expected: bool) -> None:
    assert is_url(text) is expected
    assert is_remote(text) is expected


@pytest.mark.parametrize("stop", [True, False], ids=["header", "whole"])
def test_read_over_http_equals_local(folder: Path, http: RangeServer, stop: bool) -> None:
    """Every test file, with small values located (defer_size) so that skipping is exercised."""
    for name in _served(folder):
        options = {"stop_before_pixels": stop, "defer_size": 256}
        local = _read(folder / name, **options)
        remote = _read(f"{http.url}/{name}", **options)
        assert remote == local, name


def test_iter_elements_over_http_equals_local(folder: Path, http: RangeServer) -> None:
    for name in _served(folder):
        local = _iterate(folder / name, defer_size=256)
        remote = _iterate(f"{http.url}/{name}", defer_size=256)
        assert remote == local, name


def test_header_tags_match_pydicom(folder: Path, http: RangeServer) -> None:
    """The oracle: pydicom's reading of the same bytes has the same top-level tags."""
    pydicom = pytest.importorskip("pydicom")
    compared = 0
    for path in project_files():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                theirs = pydicom.dcmread(path, stop_before_pixels=True)
                dcf.read(path, stop_before_pixels=True)
            except Exception:  # files either refuses are not compared
                continue
            ours = dcf.read(f"{http.url}/{path.parent.name}-{path.name}", stop_before_pixels=True)
        assert {int(e.tag) for e in ours} == {int(e.tag) for e in theirs}, path.name
        compared += 1
    assert compared >= 10


def test_header_is_one_small_request(folder: Path, http: RangeServer) -> None:
    http.reset()
    ds = dcf.read(f"{http.url}/rle_basic.dcm", stop_before_pixels=True)
    gets = http.gets()
    assert ds.Rows == ROWS
    assert len(gets) == 1  # the head; the size came with a HEAD request
    assert http.bytes_sent <= 64 * 1024


def test_native_frame_is_one_request_of_its_size(folder: Path, http: RangeServer) -> None:
    local = dcf.read(folder / "native.dcm")
    with dcf.read(f"{http.url}/native.dcm") as ds:
        assert isinstance(ds.source, RemoteSource)
        http.reset()
        before = ds.source.requests
        frame = ds.pixel_data[7].decode()
        assert [r.sent for r in http.gets()] == [FRAME_BYTES]
        assert ds.source.requests == before + 1
        np.testing.assert_array_equal(frame.array, local.pixel_data[7].decode().array)
    assert http.bytes_sent < (folder / "native.dcm").stat().st_size / 10


@pytest.mark.parametrize("table", ["basic", "extended"])
def test_encapsulated_frame_is_one_request(folder: Path, http: RangeServer, table: str) -> None:
    """The offset table locates a frame: its fragments come in one request, nothing else."""
    path = folder / f"rle_{table}.dcm"
    local = dcf.read(path)
    with dcf.read(f"{http.url}/{path.name}") as ds:
        raw = ds["PixelData"]._raw
        assert isinstance(raw, Located)
        assert isinstance(raw.source, RemoteSource)
        info = ds.pixel_data
        spans = raw.source.frame_spans(raw.offset, raw.length, FRAMES, info._extended)
        local_raw = local.pixel_data.element._raw
        assert isinstance(local_raw, Located)
        whole = local_raw.view()
        expected = frame_spans(whole, FRAMES, extended=local.pixel_data._extended)
        http.reset()
        fragments = [bytes(raw.source.view(raw.offset + o, n)) for o, n in spans[5]]
        gets = http.gets()
        assert len(gets) == 1
        assert gets[0].sent - 8 * len(fragments) == sum(len(f) for f in fragments)
        assert [list(s) for s in spans] == [list(s) for s in expected]
        assert fragments == [bytes(whole[o : o + n]) for o, n in expected[5]]
        np.testing.assert_array_equal(ds.pixel_array, local.pixel_array)


@pytest.mark.parametrize("table", ["basic", "extended"])
def test_a_compressed_frame_fetches_little_through_pixel_data(
    folder: Path, http: RangeServer, table: str
) -> None:
    """``ds.pixel_data[i]`` asks the source for spans: the tables and one frame, not the value."""
    path = folder / f"rle_{table}.dcm"
    local = dcf.read(path)
    with dcf.read(f"{http.url}/{path.name}") as ds:
        http.reset()
        frame = ds.pixel_data[5]
        assert isinstance(frame, dcf.EncapsulatedFrame)
        assert bytes(frame.data) == bytes(local.pixel_data[5].data)
        np.testing.assert_array_equal(frame.decode().array, local.pixel_data[5].decode().array)
        value_bytes = ds["PixelData"]._raw.length
        assert len(http.gets()) <= 3  # the offset table (and its item header), the frame
        assert http.bytes_sent < value_bytes / 4


def test_every_encapsulated_file_has_the_local_spans(folder: Path, http: RangeServer) -> None:
    """Spans found from the tables and item headers are those of walking the local file."""
    checked = 0
    for name in _served(folder):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                local = dcf.read(folder / name)
                pixels = local.pixel_data
                expected = (
                    [list(s) for s in pixels._frame_spans()] if pixels.is_encapsulated else None
                )
            except dcf.DicomError:
                continue
        if expected is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcf.read(f"{http.url}/{name}", defer_size=256)
        with ds:
            raw = ds[pixels.element.tag]._raw
            if not isinstance(raw, Located):  # a value too small to leave on the server
                assert isinstance(raw, bytes), name
                assert len(raw) < 256, name
                continue
            count = pixels.info.number_of_frames
            spans = raw.source.frame_spans(raw.offset, raw.length, count, pixels._extended)
            assert [list(s) for s in spans] == expected, name
        checked += 1
    assert checked >= 10


def test_file_url_equals_local(folder: Path) -> None:
    path = folder / "native.dcm"
    assert _read(path.as_uri()) == _read(path)


def test_counters(folder: Path, http: RangeServer) -> None:
    before = totals()
    with dcf.read(f"{http.url}/native.dcm") as ds:
        ds.pixel_data[0].decode()
        source = ds.source
        assert isinstance(source, RemoteSource)
        after = totals()
        assert after.requests - before.requests == source.requests
        assert after.bytes_received - before.bytes_received == source.bytes_received
        assert source.bytes_received == http.bytes_sent or source.bytes_received > 0


def test_not_found_names_the_url(http: RangeServer) -> None:
    url = f"{http.url}/no-such-file.dcm"
    with pytest.raises(RemoteNotFoundError, match=r"no-such-file\.dcm") as caught:
        dcf.read(url)
    assert isinstance(caught.value, FileNotFoundError)
    assert isinstance(caught.value, dcf.DicomError)


def test_server_without_ranges_is_refused(folder: Path) -> None:
    with (
        RangeServer(folder, ignore_ranges=True) as server,
        pytest.raises(RemoteError, match="Range"),
    ):
        dcf.read(f"{server.url}/native.dcm")


def _lying_file(folder: Path) -> str:
    """A small file whose private OB element says it holds 2 GiB."""
    body = (folder / "native.dcm").read_bytes()
    header = dcf.read(folder / "native.dcm", stop_before_pixels=True)
    at = header["PixelData"].offset if "PixelData" in header else None
    assert at is None  # stop_before_pixels: find it by its tag instead
    at = body.index(b"\xe0\x7f\x10\x00OW")
    lie = b"\x09\x00\x10\x10OB\x00\x00" + struct.pack("<L", 0x7FFFFFF0)
    (folder / "lying.dcm").write_bytes(body[:at] + lie + body[at:])
    return "lying.dcm"


def test_a_lying_length_is_refused_before_fetching(folder: Path, http: RangeServer) -> None:
    name = _lying_file(folder)
    http.reset()
    with pytest.raises(InvalidDicomError, match="exceeds"):
        dcf.read(f"{http.url}/{name}")
    assert http.bytes_sent <= 64 * 1024  # the head only: never the 2 GiB it claims


def test_limits_are_checked_before_a_value_is_fetched(folder: Path, http: RangeServer) -> None:
    limits = Limits(max_stream_bytes=FRAME_BYTES - 1)
    with dcf.read(f"{http.url}/native.dcm", limits=limits) as ds:
        http.reset()
        with pytest.raises(LimitError, match="max_stream_bytes"):
            ds.pixel_data[0].decode()
        assert http.gets() == []


def test_a_changed_file_is_noticed(folder: Path, http: RangeServer) -> None:
    shutil.copyfile(folder / "native.dcm", folder / "changing.dcm")
    with dcf.read(f"{http.url}/changing.dcm") as ds:
        path = folder / "changing.dcm"
        path.write_bytes(path.read_bytes()[:-2] + b"\0\0")  # same size, new ETag
        with pytest.raises(SourceChangedError, match=r"changing\.dcm"):
            ds.pixel_data[3].decode()


def test_storage_options_need_a_url(folder: Path) -> None:
    with pytest.raises(TypeError, match="storage_options"):
        dcf.read(folder / "native.dcm", storage_options={"anon": True})
