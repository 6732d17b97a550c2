"""dcf.transcode_file: the same file as the in-memory transcode, in the memory of a few frames.

Also the offset tables both write (Basic by default, Extended when asked).

The streamed result is compared with ``dcf.write(dcf.transcode(...))``: byte for byte
for lossless targets, element by element (and pixels within tolerance) for lossy ones.
Its Basic Offset Table is checked with pydicom's ``generate_frames``, its Extended
Offset Table against the frames, and a generated ~200 MB native file is transcoded in
a subprocess whose peak RSS growth must stay far below the file's size.
"""

from __future__ import annotations

import filecmp
import os
import struct
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.encaps import generate_frames

import dicomframe as dcf
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.transfer_syntax import TransferSyntax, resolve
from dicomframe.core.uids import generate_uid
from dicomframe.parallel import ParallelReport, can_fork
from dicomframe.plugins import Capabilities, Codec, CodecManager, hookimpl
from dicomframe.plugins.manager import default_manager
from tests.reference import TESTDATA, dataset_differences
from tests.test_transcoding import gradient_rgb, make, written

forking = pytest.mark.skipif(not can_fork(), reason="needs os.fork")


def pydicom_file(name: str) -> Path:
    path = pydicom.data.get_testdata_file(name)
    assert isinstance(path, str)
    return Path(path)


SOURCES = [
    TESTDATA / "mr_multiframe_uint16.dcm",  # 5 frames, 12 of 16 bits
    TESTDATA / "rgb_planar1.dcm",  # planar configuration 1
    TESTDATA / "rle_multiframe.dcm",  # encapsulated source
    TESTDATA / "ct_explicit_be.dcm",  # big endian source
    pydicom_file("SC_rgb_rle_2frame.dcm"),
    pydicom_file("examples_ybr_color.dcm"),  # 30 JPEG frames, YBR_FULL_422
    pydicom_file("SC_ybr_full_422_uncompressed.dcm"),  # native YBR_FULL_422
    pydicom_file("rtdose.dcm"),  # 15 frames of 32 bits
]
TARGETS = [
    "RLELossless",
    "JPEG2000Lossless",
    "JPEGLSLossless",
    "JPEG2000",
    "ExplicitVRLittleEndian",
    "ExplicitVRBigEndian",
]


def quiet(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``function`` with warnings (second-generation lossy, ...) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def in_memory(src: Path, dst: Path, syntax: str, **options: Any) -> bool:
    """Write what dcf.transcode makes; False when it refuses."""
    try:
        result = quiet(dcf.transcode, quiet(dcf.read, src), syntax, **options)
    except dcf.NoCodecError:
        return False
    dcf.write(result, dst)
    return True


@pytest.mark.parametrize("syntax", TARGETS)
@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_same_as_in_memory(src: Path, syntax: str, tmp_path: Path) -> None:
    memory, streamed = tmp_path / "memory.dcm", tmp_path / "streamed.dcm"
    if not in_memory(src, memory, syntax, keep_uid=True):
        with pytest.raises(dcf.NoCodecError):
            quiet(dcf.transcode_file, src, streamed, syntax, keep_uid=True)
        assert not streamed.exists()
        return
    quiet(dcf.transcode_file, src, streamed, syntax, keep_uid=True)
    a, b = dcf.read(streamed), dcf.read(memory)
    if not a.transfer_syntax or not a.transfer_syntax.is_lossy:
        assert filecmp.cmp(streamed, memory, shallow=False)
    # Lossy: the ratio is patched in at the end, in a value padded to 16 characters.
    assert dataset_differences(a, b) == []
    np.testing.assert_array_equal(a.pixel_array, b.pixel_array)
    oracle = pydicom.dcmread(streamed)
    if oracle.file_meta.TransferSyntaxUID.is_compressed:
        count = int(oracle.get("NumberOfFrames") or 1)
        frames = list(generate_frames(oracle.PixelData, number_of_frames=count))
        assert frames == [bytes(f.data) for f in a.pixel_data]  # the BOT points at each frame


@pytest.mark.parametrize("syntax", ["RLELossless", "JPEG2000Lossless"])
def test_extended_offset_table(syntax: str, tmp_path: Path) -> None:
    src = pydicom_file("examples_ybr_color.dcm")
    streamed, memory = tmp_path / "streamed.dcm", tmp_path / "memory.dcm"
    dcf.transcode_file(src, streamed, syntax, offset_table="extended")
    assert in_memory(src, memory, syntax, offset_table="extended")
    assert filecmp.cmp(streamed, memory, shallow=False)
    oracle = pydicom.dcmread(streamed)
    offsets = np.frombuffer(oracle.ExtendedOffsetTable, "<u8")
    lengths = np.frombuffer(oracle.ExtendedOffsetTableLengths, "<u8")
    assert len(offsets) == len(lengths) == 30
    assert oracle.PixelData[:8] == b"\xfe\xff\x00\xe0\x00\x00\x00\x00"  # empty BOT
    back = dcf.read(streamed)
    frames = [bytes(f.data) for f in back.pixel_data]
    assert list(lengths) == [len(f) for f in frames]
    for offset, frame in zip(offsets.tolist(), frames, strict=True):
        start = 8 + offset + 8  # after the empty BOT item and the fragment's item header
        assert oracle.PixelData[start : start + len(frame)] == frame
    np.testing.assert_array_equal(oracle.pixel_array, back.pixel_array)
    # And back to native, reading frames through the Extended Offset Table.
    native, native_memory = tmp_path / "native.dcm", tmp_path / "native_memory.dcm"
    dcf.transcode_file(streamed, native, "ExplicitVRLittleEndian")
    assert in_memory(streamed, native_memory, "ExplicitVRLittleEndian")
    assert filecmp.cmp(native, native_memory, shallow=False)
    result = dcf.read(native)
    assert "ExtendedOffsetTable" not in result
    assert "ExtendedOffsetTableLengths" not in result
    np.testing.assert_array_equal(result.pixel_array, back.pixel_array)


def test_lossy_bookkeeping(tmp_path: Path) -> None:
    src, dst = TESTDATA / "mr_multiframe_uint16.dcm", tmp_path / "lossy.dcm"
    dcf.transcode_file(src, dst, "JPEG2000")
    source, result = dcf.read(src), dcf.read(dst)
    assert result.LossyImageCompression == "01"
    assert result.LossyImageCompressionMethod == "ISO_15444_1"
    encoded = sum(len(f) for f in result.pixel_data if isinstance(f, EncapsulatedFrame))
    native = source.pixel_array.nbytes
    assert float(result.LossyImageCompressionRatio) == pytest.approx(native / encoded, rel=1e-2)
    assert result.SOPInstanceUID != source.SOPInstanceUID
    assert result.meta is not None
    assert result.meta["MediaStorageSOPInstanceUID"].value == result.SOPInstanceUID


def test_second_generation_lossy(tmp_path: Path) -> None:
    src, dst = pydicom_file("examples_ybr_color.dcm"), tmp_path / "out.dcm"
    with pytest.raises(dcf.DicomError, match="allow_second_generation_lossy"):
        dcf.transcode_file(src, dst, "JPEG2000", allow_second_generation_lossy=False)
    assert not dst.exists()
    with pytest.warns(dcf.DicomWarning, match="already lossy"):
        dcf.transcode_file(src, dst, "JPEG2000")
    assert dcf.read(dst).LossyImageCompression == "01"
    dcf.transcode_file(src, tmp_path / "native.dcm", "ExplicitVRLittleEndian")
    assert dcf.read(tmp_path / "native.dcm").LossyImageCompression == "01"


# -- offset tables, in memory ---------------------------------------------------------------------
def _bot(path: Path) -> list[int]:
    """The Basic Offset Table of an encapsulated file, read with pydicom."""
    ds = pydicom.dcmread(path)
    value = ds.PixelData
    assert value[:4] == b"\xfe\xff\x00\xe0"
    length = int.from_bytes(value[4:8], "little")
    return list(np.frombuffer(value[8 : 8 + length], "<u4"))


def test_basic_offset_table_by_default(tmp_path: Path) -> None:
    source = make(gradient_rgb(4))
    result = dcf.transcode(source, "RLELossless")
    assert "ExtendedOffsetTable" not in result
    written(result, tmp_path)
    table = _bot(tmp_path / "out.dcm")
    assert len(table) == 4
    assert table[0] == 0
    ds = pydicom.dcmread(tmp_path / "out.dcm")
    frames = list(generate_frames(ds.PixelData, number_of_frames=4))
    assert [bytes(f.data) for f in result.pixel_data] == frames
    np.testing.assert_array_equal(ds.pixel_array, source.pixel_array)


def test_extended_offset_table_when_asked(tmp_path: Path) -> None:
    source = make(gradient_rgb(3))
    result = dcf.transcode(source, "RLELossless", offset_table="extended")
    assert "ExtendedOffsetTable" in result
    assert "ExtendedOffsetTableLengths" in result
    written(result, tmp_path)
    assert _bot(tmp_path / "out.dcm") == []  # PS3.5 A.4: the BOT is empty then
    ds = pydicom.dcmread(tmp_path / "out.dcm")
    offsets = np.frombuffer(ds.ExtendedOffsetTable, "<u8")
    lengths = np.frombuffer(ds.ExtendedOffsetTableLengths, "<u8")
    assert len(offsets) == len(lengths) == 3
    frames = [bytes(f.data) for f in result.pixel_data]
    assert list(lengths) == [len(f) for f in frames]
    np.testing.assert_array_equal(ds.pixel_array, source.pixel_array)
    back = dcf.read(tmp_path / "out.dcm")
    np.testing.assert_array_equal(back.pixel_array, source.pixel_array)
    # Back to native: the tables no longer describe anything and are removed.
    native = dcf.transcode(back, "ExplicitVRLittleEndian")
    assert "ExtendedOffsetTable" not in native
    assert "ExtendedOffsetTableLengths" not in native
    np.testing.assert_array_equal(native.pixel_array, source.pixel_array)


def test_unknown_offset_table_option() -> None:
    with pytest.raises(ValueError, match="offset_table"):
        dcf.transcode(make(gradient_rgb()), "RLELossless", offset_table="huge")


# -- safety ---------------------------------------------------------------------------------------
def test_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    src = tmp_path / "in.dcm"
    src.write_bytes((TESTDATA / "ct_explicit_le.dcm").read_bytes())
    before = src.read_bytes()
    link = tmp_path / "link.dcm"
    link.symlink_to(src)
    hard = tmp_path / "hard.dcm"
    os.link(src, hard)
    for dst in (src, link, hard, tmp_path / "." / "in.dcm"):
        with pytest.raises(dcf.DicomError, match="will not overwrite the input"):
            dcf.transcode_file(src, dst, "RLELossless")
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.dcm", "in.dcm", "link.dcm"]


def _encode_until_frame_2(
    frame: NativeFrame, syntax: TransferSyntax, /, **options: Any
) -> EncapsulatedFrame:
    if frame.index == 2:
        raise dcf.EncodeError("frame 2 cannot be encoded (test)", codec="fails-at-2")
    data = np.ascontiguousarray(frame.data).tobytes()
    return EncapsulatedFrame([data], frame.info.replace(transfer_syntax_uid=syntax.uid))


class FailingPlugin:
    @hookimpl
    def dicomframe_codecs(self) -> list[Codec]:
        return [
            Codec(
                name="fails-at-2",
                transfer_syntaxes=frozenset({"1.2.840.10008.1.2.5"}),
                encode=_encode_until_frame_2,
                encode_caps=Capabilities(),
            )
        ]


def test_a_failure_midway_leaves_no_file(manager: CodecManager, tmp_path: Path) -> None:
    manager.register(FailingPlugin(), "failing")
    src = TESTDATA / "mr_multiframe_uint16.dcm"
    dst = tmp_path / "out.dcm"
    with pytest.raises(dcf.NoCodecError, match="frame 2 cannot be encoded"):
        dcf.transcode_file(src, dst, "RLELossless", codecs=manager, verify=False)
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary
    dst.write_bytes(b"already here")
    with pytest.raises(dcf.NoCodecError):
        dcf.transcode_file(src, dst, "RLELossless", codecs=manager, verify=False)
    assert dst.read_bytes() == b"already here"  # an existing file is left as it was
    assert [p.name for p in tmp_path.iterdir()] == ["out.dcm"]


@pytest.mark.parametrize("parallel", ["threads", pytest.param("processes", marks=forking)])
@pytest.mark.parametrize(
    ("src", "syntax"),
    [
        (TESTDATA / "mr_multiframe_uint16.dcm", "RLELossless"),  # encode and verify
        (TESTDATA / "rle_multiframe.dcm", "ExplicitVRLittleEndian"),  # decode
        (TESTDATA / "rle_multiframe.dcm", "JPEGLSLossless"),  # decode, encode and verify
    ],
    ids=["encode", "decode", "both"],
)
def test_streamed_on_every_core_is_the_same_file(
    src: Path, syntax: str, parallel: str, tmp_path: Path
) -> None:
    dcf.transcode_file(src, tmp_path / "serial.dcm", syntax, workers=1)
    report = ParallelReport()
    dcf.transcode_file(src, tmp_path / "out.dcm", syntax, workers=2, parallel=parallel,
                       report=report)  # fmt: skip
    assert filecmp.cmp(tmp_path / "serial.dcm", tmp_path / "out.dcm", shallow=False)
    assert report.mode == parallel
    expected = {"decode"} if syntax.startswith("Explicit") else {"encode", "verify"}
    if src.name.startswith("rle"):
        expected.add("decode")
    assert set(report.steps) == expected
    if parallel == "processes":  # one forked worker; this process is the other
        assert len(report.processes) == 1


@forking
def test_a_failure_in_a_worker_leaves_no_file(manager: CodecManager, tmp_path: Path) -> None:
    manager.register(FailingPlugin(), "failing")
    dst = tmp_path / "out.dcm"
    with pytest.raises(dcf.NoCodecError, match="frame 2 cannot be encoded"):
        dcf.transcode_file(TESTDATA / "mr_multiframe_uint16.dcm", dst, "RLELossless",
                           codecs=manager, verify=False, workers=2,
                           parallel="processes")  # fmt: skip
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary


def test_unknown_syntax_and_option(tmp_path: Path) -> None:
    src = TESTDATA / "ct_explicit_le.dcm"
    with pytest.raises(dcf.UnknownTransferSyntaxError):
        dcf.transcode_file(src, tmp_path / "out.dcm", "JPEG2001Lossless")
    with pytest.raises(ValueError, match="offset_table"):
        dcf.transcode_file(src, tmp_path / "out.dcm", "RLELossless", offset_table="big")
    assert list(tmp_path.iterdir()) == []


# -- memory ---------------------------------------------------------------------------------------
ROWS = COLUMNS = 512
FRAMES = 400  # 400 frames of 512 x 512 x 16 bits: 200 MiB


def write_large_native(path: Path, frames: int) -> int:
    """Write a native multi-frame file one frame at a time; return its size."""
    ds = dcf.Dataset()
    ds.set("SOPClassUID", "1.2.840.10008.5.1.4.1.1.7")
    ds.set("SOPInstanceUID", generate_uid())
    ds.set("Rows", ROWS)
    ds.set("Columns", COLUMNS)
    ds.set("SamplesPerPixel", 1)
    ds.set("PhotometricInterpretation", "MONOCHROME2")
    ds.set("BitsAllocated", 16)
    ds.set("BitsStored", 12)
    ds.set("HighBit", 11)
    ds.set("PixelRepresentation", 0)
    ds.set("NumberOfFrames", str(frames))
    ds.transfer_syntax = resolve("ExplicitVRLittleEndian")
    y, x = np.mgrid[0:ROWS, 0:COLUMNS]
    base = ((x + y) * 4 % 4096).astype("<u2")
    with open(path, "wb") as handle:
        dcf.write(ds, handle)
        length = ROWS * COLUMNS * 2 * frames
        handle.write(b"\xe0\x7f\x10\x00OW\x00\x00" + struct.pack("<L", length))
        for index in range(frames):
            handle.write(((base + index) % 4096).astype("<u2").tobytes())
    return path.stat().st_size


_MEASURE = """
import sys
import dicomframe as dcf
from dicomframe.plugins.manager import default_manager

def peak_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM")

src, dst, syntax, parallel = sys.argv[1:5]
default_manager().load()
import numpy  # everything imported before the baseline
import resource
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # reset the peak resident set size to the current one
before = peak_kib()
from dicomframe.parallel import ParallelReport
report = ParallelReport()
dcf.transcode_file(src, dst, syntax, parallel=parallel, report=report)
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest forked worker
print(before, peak_kib(), children, report.mode)
"""


def _memory_target() -> str:
    """RLE when a codec can encode it, else JPEG 2000 Lossless."""
    for status in default_manager().codecs():
        if status.available and status.codec.handles("1.2.840.10008.1.2.5", encoding=True):
            return "RLELossless"
    return "JPEG2000Lossless"


@pytest.fixture(scope="module")
def large_native(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("large") / "large.dcm"
    assert write_large_native(path, FRAMES) > 200 * 2**20
    return path


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize(
    ("syntax", "parallel"),
    [
        (_memory_target(), "auto"),
        ("ExplicitVRBigEndian", "auto"),
        pytest.param(_memory_target(), "processes", marks=forking),
        (_memory_target(), "threads"),
    ],
)
def test_peak_memory_stays_far_below_the_file_size(
    large_native: Path, syntax: str, parallel: str, tmp_path: Path
) -> None:
    dst = tmp_path / "out.dcm"
    script = textwrap.dedent(_MEASURE)
    run = subprocess.run(
        [sys.executable, "-c", script, str(large_native), str(dst), syntax, parallel],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    before, after, children, mode = run.stdout.split()
    growth = (int(after) - int(before)) * 1024
    assert growth < 100 * 2**20, f"peak RSS grew by {growth / 2**20:.0f} MiB"
    if parallel != "auto":
        assert mode == parallel
    if mode == "processes":  # each worker too: it inherited the baseline, and adds a few frames
        worker = (int(children) - int(before)) * 1024
        assert int(children) > 0
        assert worker < 100 * 2**20, f"a worker grew by {worker >> 20} MiB"
    result, source = dcf.read(dst), dcf.read(large_native)
    assert len(result.pixel_data) == FRAMES
    for index in (0, FRAMES - 1):
        np.testing.assert_array_equal(
            result.pixel_data[index].decode().array, source.pixel_data[index].decode().array
        )
