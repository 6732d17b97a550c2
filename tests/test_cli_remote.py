"""The command line with URLs: dump and extract over HTTP, transcode from HTTP and to S3 (moto)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

import dicomframe as dcf
from dicomframe.cli import main
from tests.reference import TESTDATA
from tests.servers import RangeServer, s3_server

FILES = ["mr_multiframe_uint16.dcm", "rle_multiframe.dcm", "j2k_lossless.dcm"]


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RangeServer]:
    folder = tmp_path_factory.mktemp("served")
    for name in FILES:
        shutil.copy(TESTDATA / name, folder / name)
    big = dcf.read(TESTDATA / "mr_multiframe_uint16.dcm")
    frames = np.random.default_rng(5).integers(0, 4096, (20, 256, 256), dtype=np.uint16)
    big.set_pixel_data(frames)
    dcf.write(big, folder / "big.dcm")  # 2.6 MB: larger than the header's request
    with RangeServer(folder) as server:
        yield server


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, Any]]:
    pytest.importorskip("s3fs")
    import s3fs  # type: ignore[import-untyped]

    with s3_server() as (_, options):
        s3fs.S3FileSystem(**options).mkdir("out")
        yield options


def test_dump_of_a_url_is_the_dump_of_the_file(
    http: RangeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dump", str(TESTDATA / "rle_multiframe.dcm"), "--no-pixels"]) == 0
    local = capsys.readouterr().out
    http.reset()
    assert main(["dump", f"{http.url}/rle_multiframe.dcm", "--no-pixels"]) == 0
    assert capsys.readouterr().out == local
    assert len(http.gets()) == 1  # the header came in one range request


def test_extract_of_a_url_fetches_the_frame_only(http: RangeServer, tmp_path: Path) -> None:
    out = tmp_path / "frame.png"
    http.reset()
    assert main(["extract", f"{http.url}/big.dcm", str(out), "--frame", "2", "--raw"]) == 0
    assert http.bytes_sent < 64 * 1024 + 256 * 256 * 2 + 1024  # the head and one frame of 20
    from PIL import Image

    with Image.open(out) as image:
        saved = np.asarray(image)
    local = dcf.read(http.root / "big.dcm").pixel_data[2].array
    np.testing.assert_array_equal(saved, local)


@pytest.mark.parametrize("name", FILES)
def test_transcode_from_http_to_s3(
    name: str, http: RangeServer, s3: dict[str, Any], tmp_path: Path
) -> None:
    url = f"s3://out/{name}"
    options = json.dumps({"s3": s3})  # options per protocol: the source is http
    args = ["transcode", f"{http.url}/{name}", url, "--to", "RLELossless"]
    assert main([*args, "--storage-options", options, "--overwrite"]) == 0
    import s3fs

    fetched = tmp_path / name
    s3fs.S3FileSystem(**s3).get(url.removeprefix("s3://"), str(fetched))
    theirs = pydicom.dcmread(fetched)
    assert theirs.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.5"
    np.testing.assert_array_equal(theirs.pixel_array, pydicom.dcmread(TESTDATA / name).pixel_array)
    # an output that exists is kept unless --overwrite
    assert main([*args, "--storage-options", options]) == 1


def test_tree_options_are_refused_with_a_url(
    http: RangeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = f"{http.url}/rle_multiframe.dcm"
    code = main(
        ["transcode", src, str(tmp_path / "x.dcm"), "--to", "RLELossless", "--workers", "2"]
    )
    assert code == 1
    assert "a URL is one file" in capsys.readouterr().err
    assert not (tmp_path / "x.dcm").exists()


def test_bad_storage_options_are_named(
    http: RangeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    src = f"{http.url}/rle_multiframe.dcm"
    assert main(["dump", src, "--storage-options", "[1, 2]"]) == 1
    assert "--storage-options must be a JSON object" in capsys.readouterr().err
    assert main(["dump", src, "--storage-options", "{oops"]) == 1
    assert "--storage-options is not JSON" in capsys.readouterr().err


def test_a_missing_url_is_one_error_line(
    http: RangeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dump", f"{http.url}/absent.dcm"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "absent.dcm" in err[0]
    assert dcf.read(TESTDATA / "rle_multiframe.dcm")  # the local file reads as ever
