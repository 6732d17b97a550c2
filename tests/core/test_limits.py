"""Limits: hostile sizes, nesting and streams end in a LimitError before anything is allocated."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest

import dicomframe as dcf
from dicomframe.core.limits import ENVIRONMENT_VARIABLE, GIB, MIB, default_limits
from tests.core.test_bad_input import GOOD, element, part10

DEFLATED = "1.2.840.10008.1.2.1.99"


def nested(depth: int) -> dcf.Dataset:
    """A dataset whose Referenced Series Sequence nests ``depth`` levels deep."""
    top = current = dcf.Dataset()
    for _ in range(depth):
        item = dcf.Dataset()
        current.set("ReferencedSeriesSequence", [item])
        current = item
    current.PatientName = "Deep^Est"
    return top


def written(ds: dcf.Dataset, **options: object) -> bytes:
    out = io.BytesIO()
    dcf.write(ds, out, **options)  # type: ignore[arg-type]
    return out.getvalue()


# ------------------------------------------------------------------ the Limits value


def test_defaults_are_the_documented_ones() -> None:
    limits = dcf.Limits()
    assert limits.max_frame_bytes == GIB
    assert limits.max_object_bytes == 8 * GIB
    assert limits.max_inflated_bytes == 512 * MIB
    assert limits.max_depth == 100


def test_limits_read_from_a_string() -> None:
    limits = dcf.Limits.from_string("max_frame_bytes=2GiB, max_depth=7 max_elements=1_000")
    assert (limits.max_frame_bytes, limits.max_depth, limits.max_elements) == (2 * GIB, 7, 1000)
    assert limits.max_inflated_bytes == 512 * MIB  # the rest stay the defaults


@pytest.mark.parametrize("text", ["max_depth=-1", "max_depth=lots", "max_pixels=5", "max_depth=0"])
def test_bad_limits_are_refused(text: str) -> None:
    with pytest.raises((dcf.DicomError, ValueError)):
        dcf.Limits.from_string(text)


def test_environment_variable_sets_the_default_for_a_process(tmp_path: Path) -> None:
    code = "import dicomframe.core.limits as l; print(l.default_limits().max_depth)"
    env = {**os.environ, ENVIRONMENT_VARIABLE: "max_depth=12"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "12"


def test_limit_error_names_the_limit_the_value_and_the_way_out() -> None:
    with pytest.raises(dcf.LimitError) as info:
        dcf.Limits(max_depth=3).check("max_depth", 4, what="nesting", tag=0x00081115, offset=10)
    error = info.value
    assert (error.limit, error.value, error.maximum, error.tag, error.offset) == (
        "max_depth",
        4,
        3,
        0x00081115,
        10,
    )
    assert "dcf.Limits(max_depth=" in str(error)
    assert ENVIRONMENT_VARIABLE in str(error)
    assert isinstance(error, dcf.DicomError)


# ------------------------------------------------------------------ nesting, both ways


def test_what_the_writer_refuses_is_what_the_reader_refuses() -> None:
    at_limit = written(nested(default_limits().max_depth))
    assert dcf.read(at_limit).ReferencedSeriesSequence  # 100 levels: written and read back
    with pytest.raises(dcf.LimitError, match="max_depth") as info:
        written(nested(150))
    assert info.value.tag == 0x00081115


def test_a_raised_depth_limit_reads_and_writes_deep_datasets() -> None:
    limits = dcf.Limits(max_depth=200)
    data = written(nested(150), limits=limits)
    with pytest.raises(dcf.LimitError):
        dcf.read(data).load()  # the default still refuses it
    ds = dcf.read(data, limits=limits)
    item = ds
    for _ in range(150):
        item = item.ReferencedSeriesSequence[0]
    assert str(item.PatientName) == "Deep^Est"


def test_five_thousand_levels_never_raise_recursion_error() -> None:
    deep = nested(5000)
    with pytest.raises(dcf.LimitError):
        written(deep)
    text = str(deep)  # display shows what fits and says what it left out
    assert "nested deeper than max_depth=100: not shown" in text
    limits = dcf.Limits(max_depth=6000)
    data = written(deep, limits=limits)
    assert dcf.read(data, limits=limits) is not None


# ------------------------------------------------------------------ counts


def test_too_many_elements_are_refused_before_they_are_built() -> None:
    body = b"".join(element(0x00091000 + n, "LO", b"xx") for n in range(1, 200))
    data = part10(body)
    assert len(dcf.read(data)) == 199
    with pytest.raises(dcf.LimitError, match="max_elements") as info:
        dcf.read(data, limits=dcf.Limits(max_elements=50))
    assert info.value.offset is not None


def test_sequence_items_count_as_elements() -> None:
    items = b"".join(b"\xfe\xff\x00\xe0\x00\x00\x00\x00" for _ in range(100))
    body = element(0x00081115, "SQ", items)
    assert len(dcf.read(part10(body)).ReferencedSeriesSequence) == 100
    with pytest.raises(dcf.LimitError, match="max_elements"):
        dcf.read(part10(body), limits=dcf.Limits(max_elements=20)).load()


# ------------------------------------------------------------------ what is opened


def test_dev_zero_is_refused_at_once() -> None:
    with pytest.raises(dcf.InvalidDicomError, match="character device, not a regular file"):
        dcf.read("/dev/zero")
    with pytest.raises(dcf.InvalidDicomError, match="character device"):
        next(iter(dcf.iter_elements("/dev/zero")))


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.dcm"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            dcf.read(fifo)
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=attempt, daemon=True)
    reader.start()
    reader.join(timeout=30)
    if reader.is_alive():  # unblock the reader so the test process can end
        with open(fifo, "wb"):
            pass
        pytest.fail("reading a FIFO blocked")
    assert isinstance(outcome[0], dcf.InvalidDicomError)
    assert "FIFO" in str(outcome[0])


class Endless(io.RawIOBase):
    """A stream that never ends (a pipe from a hostile peer)."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        buffer[:] = b"\0" * len(buffer)
        return len(buffer)


def test_a_stream_is_read_within_max_stream_bytes() -> None:
    with pytest.raises(dcf.LimitError, match="max_stream_bytes"):
        dcf.read(Endless(), limits=dcf.Limits(max_stream_bytes=8 * MIB))


def test_a_stream_within_the_limit_reads() -> None:
    data = part10(GOOD)
    ds = dcf.read(io.BufferedReader(io.BytesIO(data)), limits=dcf.Limits(max_stream_bytes=4096))
    assert ds.Modality == "CT"


# ------------------------------------------------------------------ deflate bombs


def deflate_bomb(zeros: int, *, values: int = 1) -> bytes:
    """Raw deflate of ``values`` OB elements, each claiming and holding ``zeros`` zero bytes.

    A MiB of zeros is compressed once and flushed to a byte boundary with the
    dictionary reset, so the same compressed bytes repeat: gigabytes of bomb
    cost a few megabytes and no time to make.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = element(0x00091010, "OB", b"", length=zeros)
    head_chunk = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    mib = compressor.compress(b"\0" * MIB) + compressor.flush(zlib.Z_FULL_FLUSH)
    body = (head_chunk + mib * (zeros // MIB)) * values + compressor.flush()
    return part10(body, DEFLATED)


def test_a_deflate_bomb_stops_at_max_inflated_bytes() -> None:
    data = deflate_bomb(64 * MIB)
    with pytest.raises(dcf.LimitError, match="max_inflated_bytes") as info:
        dcf.read(data, limits=dcf.Limits(max_inflated_bytes=8 * MIB))
    assert info.value.maximum == 8 * MIB
    assert dcf.read(data, limits=dcf.Limits(max_inflated_bytes=128 * MIB)) is not None


BOMB_SCRIPT = """
import resource
import dicomframe as dcf
from tests.core.test_limits import deflate_bomb
data = deflate_bomb(3 << 30, values=2)
try:
    dcf.read(data)
except dcf.LimitError as exc:
    print(exc.limit, len(data) >> 20, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10)
"""


def test_the_six_gib_deflate_bomb_stays_under_the_memory_bound() -> None:
    """The issue's recipe (two 3 GiB OB values of zeros) with the default limits."""
    out = subprocess.run(
        [sys.executable, "-c", BOMB_SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    limit, size_mib, peak_mib = out.stdout.split()
    assert limit == "max_inflated_bytes"
    assert int(size_mib) < 10  # a few megabytes on disk
    assert int(peak_mib) < 1200  # bounded by the limit, not by the machine


def test_a_large_deflated_dataset_with_padding_after_the_stream_reads(tmp_path: Path) -> None:
    """Found by fuzzing: past the first 4 MiB piece, bytes after the stream's end looped forever."""
    big = deflate_bomb(6 * MIB) + b"\0\0"  # two bytes after the end of the deflate stream
    outcome: list[object] = []
    reader = threading.Thread(target=lambda: outcome.append(dcf.read(big)), daemon=True)
    reader.start()
    reader.join(timeout=120)
    assert not reader.is_alive(), "reading a padded deflated dataset did not end"
    ds = outcome[0]
    assert isinstance(ds, dcf.Dataset)
    assert ds[0x00091010].length == 6 * MIB
