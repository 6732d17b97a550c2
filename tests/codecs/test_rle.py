"""RLE Lossless: our numpy codec ("rle"), pylibjpeg-rle and imagecodecs-rle, against pydicom and
DCMTK.

Oracles: pydicom 3's own pure-Python RLE decoder (``decoding_plugin="pydicom"``) for every
RLE file bundled with pydicom and in testdata/, and for every stream we encode; pydicom's
own RLE encoder for the exact bytes our encoder must write; DCMTK ``dcmdrle``/``dcmcrle``
when installed. Every comparison is exact.
"""

from __future__ import annotations

import dataclasses
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dicomframe as dcf
from dicomframe.codecs import rle
from dicomframe.codecs.imagecodecs import RLE as IMAGECODECS_RLE
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.errors import CodecUnavailableError, DecodeError, EncodeError, NoCodecError
from dicomframe.plugins import Codec, CodecManager, hookimpl
from dicomframe.testing import check_codec
from tests.codecs.common import case_id, read_quietly, require_backend
from tests.reference import TESTDATA, project_files, pydicom_files, require_tool

RLE, PYLIBJPEG_RLE = rle.RLE, rle.PYLIBJPEG_RLE
CODECS = (RLE, PYLIBJPEG_RLE, IMAGECODECS_RLE)  # the decoders
ENCODERS = (RLE, PYLIBJPEG_RLE, IMAGECODECS_RLE)
RLE_UID = "1.2.840.10008.1.2.5"
EXPLICIT_LE = "1.2.840.10008.1.2.1"


def _is_rle(path: Path) -> bool:
    try:
        ds = read_quietly(path)
    except dcf.DicomError:
        return False
    syntax = ds.transfer_syntax
    return syntax is not None and syntax.uid == RLE_UID and 0x7FE00010 in ds


RLE_FILES = [p for p in [*pydicom_files(), *project_files()] if _is_rle(p)]
NATIVE_FILES = [
    p
    for p in [*pydicom_files(), *project_files()]
    if p.name in {"CT_small.dcm", "MR_small.dcm", "SC_rgb.dcm", "SC_rgb_16bit.dcm", "rtdose.dcm"}
    or (
        p.parent == TESTDATA
        and p.stem in {"ct_explicit_le", "mr_multiframe_uint16", "rgb_planar0", "rgb_planar1"}
    )
]


class _ImagecodecsRLE:
    """The imagecodecs plugin's RLE encoder alone."""

    @hookimpl
    def dicomframe_codecs(self) -> list[Codec]:
        return [IMAGECODECS_RLE]


@pytest.fixture
def codecs(manager: CodecManager) -> CodecManager:
    manager.register(rle, "rle")
    manager.register(_ImagecodecsRLE(), "imagecodecs")
    return manager


def _manager() -> CodecManager:
    manager = CodecManager(entry_points=False)
    manager.register(rle, "rle")
    manager.register(_ImagecodecsRLE(), "imagecodecs")
    return manager


def _stream(frame: NativeFrame) -> bytes:
    """Our encoder's bytes for ``frame``."""
    return bytes(_manager().encode(frame, "RLELossless", codec="rle").data)


def make_frame(
    dtype: str,
    samples: int = 1,
    *,
    shape: tuple[int, int] = (7, 5),
    planar: int = 0,
    data: np.ndarray[Any, Any] | None = None,
    bits_stored: int | None = None,
    photometric: str | None = None,
) -> NativeFrame:
    """A native frame of ``dtype``; random values unless ``data`` (flat, stored order) is given."""
    kind = np.dtype(dtype)
    bits = kind.itemsize * 8
    stored = bits_stored or bits
    info = FrameInfo(
        rows=shape[0],
        columns=shape[1],
        samples_per_pixel=samples,
        bits_allocated=bits,
        bits_stored=stored,
        high_bit=stored - 1,
        pixel_representation=int(kind.kind == "i"),
        photometric_interpretation=photometric or ("RGB" if samples == 3 else "MONOCHROME2"),
        planar_configuration=planar,
    )
    if data is None:
        rng = np.random.default_rng(zlib.crc32(repr((dtype, samples, shape, planar)).encode()))
        low, high = (-(1 << (stored - 1)), (1 << (stored - 1)) - 1) if kind.kind == "i" else (0, 0)
        if kind.kind == "u":
            high = (1 << stored) - 1
        data = rng.integers(low, high, size=info.values_per_frame, dtype=kind, endpoint=True)
    return NativeFrame(np.ascontiguousarray(data, dtype=info.dtype), info)


def assert_truthful(frame: NativeFrame, source: FrameInfo) -> None:
    """The decoded frame's FrameInfo describes its data (the contract in plugins/codec.py)."""
    info = frame.info
    assert frame.data.ndim == 1
    assert frame.data.dtype == info.dtype == source.dtype
    assert frame.data.size == info.values_per_frame
    assert info.planar_configuration == 0
    assert info.transfer_syntax_uid == EXPLICIT_LE
    assert info.photometric_interpretation == source.photometric_interpretation


def pydicom_decode(frame: EncapsulatedFrame) -> np.ndarray[Any, Any]:
    """Decode one RLE frame with pydicom's own pure-Python decoder."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.pixels import get_decoder

    info = frame.info
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = RLE_UID
    ds.Rows, ds.Columns, ds.SamplesPerPixel = info.rows, info.columns, info.samples_per_pixel
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = (
        info.bits_allocated,
        info.bits_stored,
        info.high_bit,
    )
    ds.PixelRepresentation = info.pixel_representation
    ds.PhotometricInterpretation = info.photometric_interpretation
    if info.samples_per_pixel > 1:
        ds.PlanarConfiguration = 0
    ds.NumberOfFrames = 1
    ds.PixelData = encapsulate([bytes(frame.data)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "compressed as long as uncompressed" (all zeros)
        arr, _ = get_decoder(RLE_UID).as_array(ds, decoding_plugin="pydicom", as_rgb=False)
    return arr


def pydicom_encode(frame: NativeFrame) -> bytes:
    """Encode one frame with pydicom's own (pure-Python) RLE encoder."""
    from pydicom.pixels import get_encoder

    info = frame.info
    return bytes(
        get_encoder(RLE_UID).encode(
            np.ascontiguousarray(frame.array),
            encoding_plugin="pydicom",
            validate=False,  # it refuses layouts PS3.5 8.2 does not list, e.g. signed RGB
            rows=info.rows,
            columns=info.columns,
            samples_per_pixel=info.samples_per_pixel,
            bits_allocated=info.bits_allocated,
            bits_stored=info.bits_stored,
            pixel_representation=info.pixel_representation,
            photometric_interpretation=info.photometric_interpretation,
            number_of_frames=1,
            planar_configuration=0,
        )
    )


# -- every RLE reference file ---------------------------------------------------------------
def test_references_are_found() -> None:
    names = {p.name for p in RLE_FILES}
    assert {"MR_small_RLE.dcm", "SC_rgb_rle.dcm", "rtdose_rle.dcm", "rle_multiframe.dcm"} <= names
    assert len(RLE_FILES) >= 10


@pytest.mark.parametrize(
    ("codec", "path"), [(c, p) for c in CODECS for p in RLE_FILES], ids=case_id
)
def test_decode_matches_pydicom(codecs: CodecManager, codec: Codec, path: Path) -> None:
    from pydicom.pixels import pixel_array

    require_backend(codec)
    pixels = read_quietly(path).pixel_data
    for index in range(len(pixels)):
        frame = codecs.decode(pixels[index], codec=codec.name)
        assert_truthful(frame, pixels.info)
        expected = pixel_array(path, index=index, as_rgb=False, decoding_plugin="pydicom")
        assert frame.array.dtype == expected.dtype
        np.testing.assert_array_equal(frame.array, expected)


@pytest.mark.parametrize("path", RLE_FILES, ids=case_id)
def test_both_codecs_agree_through_pixel_array(codecs: CodecManager, path: Path) -> None:
    pixels = read_quietly(path).pixel_data
    ours = pixels.pixel_array(codecs=codecs, codec="rle", workers=1)
    require_backend(PYLIBJPEG_RLE)
    theirs = pixels.pixel_array(codecs=codecs, codec="pylibjpeg-rle", workers=1)
    np.testing.assert_array_equal(ours, theirs)


def test_dcmcrle_output_decodes(codecs: CodecManager, tmp_path: Path) -> None:
    tool = require_tool("dcmcrle")
    for name in ("ct_explicit_le", "mr_multiframe_uint16", "rgb_planar0", "rgb_planar1"):
        source = TESTDATA / f"{name}.dcm"
        out = tmp_path / f"{name}_rle.dcm"
        subprocess.run([tool, str(source), str(out)], check=True, capture_output=True)
        native = read_quietly(source).pixel_array
        pixels = read_quietly(out).pixel_data
        for codec in CODECS:
            require_backend(codec)
            decoded = pixels.pixel_array(codecs=codecs, codec=codec.name, workers=1)
            np.testing.assert_array_equal(decoded, native, err_msg=f"{name} {codec.name}")


# -- encoding -----------------------------------------------------------------------------
LAYOUTS = [
    (dtype, samples)
    for dtype in ("u1", "i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8")
    for samples in (1, 3)
    if np.dtype(dtype).itemsize * samples <= 15  # PS3.5 G.5: at most 15 segments
]


def _patterns(dtype: str, samples: int, shape: tuple[int, int]) -> dict[str, np.ndarray[Any, Any]]:
    kind = np.dtype(dtype)
    size = shape[0] * shape[1] * samples
    info = np.iinfo(kind)
    rng = np.random.default_rng(size)
    ramp = (np.arange(size) % 251 + 1).astype(kind)  # no two neighbours equal: no runs
    runs = np.repeat(rng.integers(0, 3, size // 300 + 1), 300)[:size].astype(kind)  # > 128
    return {
        "zeros": np.zeros(size, kind),
        "extremes": np.where(np.arange(size) % 7 < 3, info.min, info.max).astype(kind),
        "no-runs": ramp,
        "long-runs": runs,
        "random": rng.integers(info.min, info.max, size, dtype=kind, endpoint=True),
    }


ROUND_TRIPS = [
    (dtype, samples, shape, planar, pattern)
    for dtype, samples in LAYOUTS
    for shape in ((7, 5), (1, 1), (1, 257), (300, 1), (16, 40))
    for planar in ((0, 1) if samples == 3 else (0,))
    for pattern in ("zeros", "extremes", "no-runs", "long-runs", "random")
]


def _case_id(case: tuple[Any, ...]) -> str:
    dtype, samples, (rows, columns), planar, pattern = case
    return f"{dtype.lstrip('<')}x{samples}-{rows}x{columns}-planar{planar}-{pattern}"


@pytest.mark.parametrize("codec", ENCODERS, ids=case_id)
@pytest.mark.parametrize("case", ROUND_TRIPS, ids=_case_id)
def test_round_trip_is_bit_exact(
    codecs: CodecManager, codec: Codec, case: tuple[str, int, tuple[int, int], int, str]
) -> None:
    dtype, samples, shape, planar, pattern = case
    require_backend(codec)
    frame = make_frame(
        dtype, samples, shape=shape, planar=planar, data=_patterns(dtype, samples, shape)[pattern]
    )
    encoded = codecs.encode(frame, "RLELossless", codec=codec.name)
    assert encoded.info.transfer_syntax_uid == RLE_UID
    assert encoded.info.planar_configuration == 0
    assert len(encoded.fragments) == 1
    assert len(encoded.data) % 2 == 0
    assert_rows_apart(encoded)
    for decoder in CODECS:
        require_backend(decoder)
        decoded = codecs.decode(encoded, codec=decoder.name)
        assert_truthful(decoded, frame.info)
        np.testing.assert_array_equal(decoded.array, frame.array)
    if dtype[-1] != "8":  # pydicom's decoder handles 8 to 32 bits
        np.testing.assert_array_equal(pydicom_decode(encoded), frame.array)


@pytest.mark.parametrize(("dtype", "samples"), [x for x in LAYOUTS if x[0][-1] != "8"])
@pytest.mark.parametrize("pattern", ["zeros", "extremes", "no-runs", "long-runs", "random"])
def test_encoder_writes_pydicoms_bytes(
    codecs: CodecManager, dtype: str, samples: int, pattern: str
) -> None:
    for shape in ((7, 5), (1, 257), (16, 40)):
        data = _patterns(dtype, samples, shape)[pattern]
        frame = make_frame(dtype, samples, shape=shape, data=data)
        encoded = codecs.encode(frame, "RLELossless", codec="rle")
        assert bytes(encoded.data) == pydicom_encode(frame)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dtype=st.sampled_from(["u1", "i1", "<u2", "<i2", "<u4", "<i8"]),
    samples=st.sampled_from([1, 3]),
    rows=st.integers(1, 12),
    columns=st.integers(1, 300),
    alphabet=st.integers(1, 256),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_frames_round_trip(
    dtype: str, samples: int, rows: int, columns: int, alphabet: int, seed: int
) -> None:
    if np.dtype(dtype).itemsize * samples > 15:
        samples = 1
    rng = np.random.default_rng(seed)
    size = rows * columns * samples
    # A small alphabet makes runs of every length; a large one makes literal runs.
    data = rng.integers(0, alphabet, size).astype(np.int64) * (rng.integers(1, 3, size) * 7)
    frame = make_frame(dtype, samples, shape=(rows, columns), data=data.astype(dtype))
    manager = _manager()
    encoded = manager.encode(frame, "RLELossless", codec="rle")
    np.testing.assert_array_equal(manager.decode(encoded, codec="rle").array, frame.array)
    if IMAGECODECS_RLE.is_available():
        theirs = manager.encode(frame, "RLELossless", codec="imagecodecs-rle")
        assert_rows_apart(theirs)
        np.testing.assert_array_equal(manager.decode(theirs, codec="rle").array, frame.array)
    if PYLIBJPEG_RLE.is_available():
        np.testing.assert_array_equal(
            manager.decode(encoded, codec="pylibjpeg-rle").array, frame.array
        )
        theirs = manager.encode(frame, "RLELossless", codec="pylibjpeg-rle")
        np.testing.assert_array_equal(manager.decode(theirs, codec="rle").array, frame.array)


@pytest.mark.parametrize("path", NATIVE_FILES, ids=case_id)
def test_reference_native_frames_round_trip(codecs: CodecManager, path: Path) -> None:
    pixels = read_quietly(path).pixel_data
    for index in range(len(pixels)):
        frame = pixels[index]
        assert isinstance(frame, NativeFrame)
        for codec in ENCODERS:
            require_backend(codec)
            encoded = codecs.encode(frame, "RLELossless", codec=codec.name)
            for decoder in CODECS:
                decoded = codecs.decode(encoded, codec=decoder.name)
                np.testing.assert_array_equal(decoded.array, frame.array)
            np.testing.assert_array_equal(pydicom_decode(encoded), frame.array)


@pytest.mark.parametrize("codec", ENCODERS, ids=case_id)
def test_dcmdrle_decodes_our_files(codecs: CodecManager, codec: Codec, tmp_path: Path) -> None:
    tool = require_tool("dcmdrle")
    require_backend(codec)
    template = TESTDATA / "ct_explicit_le.dcm"
    for dtype, samples in [x for x in LAYOUTS if x[0][-1] != "8"]:
        frames = [make_frame(dtype, samples, shape=(9, 13), planar=p) for p in (0, 1)]
        frames.append(make_frame(dtype, samples, shape=(9, 13), data=np.zeros(117 * samples)))
        encoded = [codecs.encode(f, "RLELossless", codec=codec.name) for f in frames]
        ds = read_quietly(template)
        ds.set_pixel_data(encoded)
        ours, theirs = tmp_path / "ours.dcm", tmp_path / "theirs.dcm"
        dcf.write(ds, ours)
        subprocess.run([tool, str(ours), str(theirs)], check=True, capture_output=True)
        back = read_quietly(theirs)
        assert back.transfer_syntax.uid == EXPLICIT_LE
        expected = np.stack([f.array for f in frames])
        np.testing.assert_array_equal(back.pixel_array, expected, err_msg=f"{dtype} x{samples}")


def test_written_file_reads_back_in_pydicom(codecs: CodecManager, tmp_path: Path) -> None:
    import pydicom

    source = read_quietly(TESTDATA / "mr_multiframe_uint16.dcm")
    native = source.pixel_array
    encoded = [codecs.encode(f, "RLELossless", codec="rle") for f in source.pixel_data]
    source.set_pixel_data(encoded)
    out = tmp_path / "mr_rle.dcm"
    dcf.write(source, out)
    theirs = pydicom.dcmread(out)
    assert theirs.file_meta.TransferSyntaxUID == RLE_UID
    np.testing.assert_array_equal(theirs.pixel_array, native)
    np.testing.assert_array_equal(read_quietly(out).pixel_data.pixel_array(codecs=codecs), native)


def test_stream_layout() -> None:
    frame = make_frame("<u2", 3, shape=(3, 3), data=np.arange(27, dtype="<u2") * 257)
    data = _stream(frame)
    count, *offsets = struct.unpack_from("<16L", data)
    assert count == 6
    assert offsets[0] == 64
    assert offsets[6:] == [0] * 9
    ends = [*offsets[1:6], len(data)]
    assert all((end - start) % 2 == 0 for start, end in zip(offsets[:6], ends, strict=True))
    # Segment 0 is the red samples' high bytes, row by row: 0x00, 0x03, 0x06 | 0x09 ...
    assert data[offsets[0] : offsets[0] + 4] == bytes([2, 0, 3, 6])


def test_runs_never_cross_a_row() -> None:
    frame = make_frame("u1", shape=(4, 200), data=np.zeros(800, np.uint8))
    data = _stream(frame)
    # Each row: a replicate run of 128 then one of 72 (PS3.5 G.3.1: rows encoded apart).
    assert data[64:] == bytes([129, 0, 257 - 72, 0]) * 4


def _run_lengths(segment: bytes) -> list[int]:
    """The bytes each PackBits run of ``segment`` gives, in order (PS3.5 G.3.2)."""
    lengths, at = [], 0
    while at < len(segment) - 1:  # a last byte alone is padding
        header = segment[at]
        if header < 128:
            lengths.append(header + 1)
            at += header + 2
        elif header > 128:
            lengths.append(257 - header)
            at += 2
        else:
            at += 1
    return lengths


def assert_rows_apart(encoded: EncapsulatedFrame) -> None:
    """No run of any segment crosses a row (PS3.5 G.3.1), and each segment is one frame."""
    info, data = encoded.info, bytes(encoded.data)
    for start, end in rle.parse_header(data, info):
        lengths = _run_lengths(data[start:end])
        ends = np.cumsum(lengths)
        assert ends[-1] == info.rows * info.columns
        starts = ends - np.asarray(lengths)
        assert np.all(starts // info.columns == (ends - 1) // info.columns)


# -- colour, sign and precision -------------------------------------------------------------
def test_ybr_full_422_is_encoded_and_decoded_as_ybr_full(codecs: CodecManager) -> None:
    data = np.array([10, 20, 128, 130, 30, 40, 100, 90] * 4, dtype=np.uint8)
    frame = make_frame("u1", 3, shape=(4, 4), data=data, photometric="YBR_FULL_422")
    for encoder in ENCODERS[1:]:
        if encoder.is_available():
            theirs = codecs.encode(frame, "RLELossless", codec=encoder.name)
            assert theirs.info.photometric_interpretation == "YBR_FULL"
            np.testing.assert_array_equal(codecs.decode(theirs, codec="rle").array, frame.array)
    encoded = codecs.encode(frame, "RLELossless", codec="rle")
    assert encoded.info.photometric_interpretation == "YBR_FULL"
    decoded = codecs.decode(encoded, codec="rle")
    assert decoded.info.photometric_interpretation == "YBR_FULL"
    np.testing.assert_array_equal(decoded.array, frame.array)
    # A stream that says YBR_FULL_422 holds every sample all the same: decoded as YBR_FULL.
    relabelled = EncapsulatedFrame(
        encoded.fragments, frame.info.replace(transfer_syntax_uid=RLE_UID)
    )
    for codec in CODECS:
        require_backend(codec)
        decoded = codecs.decode(relabelled, codec=codec.name)
        assert decoded.info.photometric_interpretation == "YBR_FULL"
        np.testing.assert_array_equal(decoded.array, frame.array)


@pytest.mark.parametrize("codec", CODECS, ids=case_id)
@pytest.mark.parametrize("signed", [0, 1])
def test_unused_high_bits_are_corrected_as_pydicom_does(
    codecs: CodecManager, codec: Codec, signed: int
) -> None:
    require_backend(codec)
    dtype = "<i2" if signed else "<u2"
    raw = np.array([0x0FFF, 0xF800, 0x0800, 0x7123, 0xFFFF, 0x1234], dtype="<u2").view(dtype)
    full = make_frame(dtype, shape=(2, 3), data=raw)
    stream = codecs.encode(full, "RLELossless", codec="rle")
    info = full.info.replace(bits_stored=12, high_bit=11, transfer_syntax_uid=RLE_UID)
    frame = EncapsulatedFrame(stream.fragments, info)
    decoded = codecs.decode(frame, codec=codec.name)
    np.testing.assert_array_equal(decoded.array, pydicom_decode(frame))
    expected = [0x0FFF, 0x0800, 0x0800, 0x0123, 0x0FFF, 0x0234]
    if signed:
        expected = [-1, -2048, -2048, 291, -1, 564]
    assert decoded.data.tolist() == expected


@pytest.mark.parametrize("codec", ENCODERS, ids=case_id)
def test_encode_refuses_values_outside_bits_stored(codecs: CodecManager, codec: Codec) -> None:
    require_backend(codec)
    frame = make_frame("<u2", data=np.full(35, 5000, np.uint16), bits_stored=12)
    with pytest.raises(NoCodecError) as caught:
        codecs.encode(frame, "RLELossless", codec=codec.name)
    [attempt] = caught.value.attempts
    assert attempt.outcome == "failed"
    assert isinstance(attempt.error, EncodeError)
    assert "Bits Stored 12" in attempt.reason


# -- declines ---------------------------------------------------------------------------------
DECLINED = [
    (FrameInfo(rows=4, columns=4, bits_allocated=1, bits_stored=1, high_bit=0), "Bits Allocated 1"),
    (
        FrameInfo(
            rows=4,
            columns=4,
            samples_per_pixel=3,
            bits_allocated=64,
            bits_stored=64,
            high_bit=63,
            photometric_interpretation="RGB",
        ),
        "24 segments",
    ),
    (
        FrameInfo(
            rows=4,
            columns=4,
            bits_allocated=32,
            bits_stored=32,
            high_bit=31,
            pixel_keyword="FloatPixelData",
        ),
        "FloatPixelData",
    ),
    (
        FrameInfo(
            rows=4, columns=4, samples_per_pixel=3, photometric_interpretation="YBR_PARTIAL_422"
        ),
        "YBR_PARTIAL_422",
    ),
    (FrameInfo(rows=4, columns=4, samples_per_pixel=4, photometric_interpretation="CMYK"), "4"),
]


@pytest.mark.parametrize("codec", ENCODERS, ids=case_id)
@pytest.mark.parametrize(
    ("info", "reason"), DECLINED, ids=["1-bit", "64-bit-rgb", "float", "ybr-partial", "cmyk"]
)
def test_capabilities_decline_with_reasons(codec: Codec, info: FrameInfo, reason: str) -> None:
    for encoding in (False, True):
        why = codec.why_not(info, encoding=encoding)
        assert why is not None
        assert reason in why


def test_declined_frame_is_listed_in_no_codec_error(codecs: CodecManager) -> None:
    info = DECLINED[0][0].replace(transfer_syntax_uid=RLE_UID)
    with pytest.raises(NoCodecError) as caught:
        codecs.decode(EncapsulatedFrame([b"\0" * 64], info))
    outcomes = {a.codec: a.outcome for a in caught.value.attempts}
    assert outcomes["rle"] == "declined"
    assert "Bits Allocated 1" in str(caught.value)


# -- malformed streams ------------------------------------------------------------------------
def _header(count: int, *offsets: int) -> bytes:
    return struct.pack("<16L", count, *offsets, *([0] * (15 - len(offsets))))


GOOD = make_frame("<u2", shape=(4, 6))
GOOD_STREAM = _stream(GOOD)
SEGMENT_1 = struct.unpack_from("<3L", GOOD_STREAM)[2]
MALFORMED = {
    "truncated-header": (GOOD_STREAM[:40], "header is truncated"),
    "empty": (b"", "header is truncated"),
    "segment-count": (_header(3, 64, 70, 76) + b"\0" * 40, "gives 3 segments"),
    "offset-past-end": (
        _header(2, 64, len(GOOD_STREAM) + 10) + GOOD_STREAM[64:],
        f"offset {len(GOOD_STREAM) + 10} is outside",
    ),
    "offset-in-header": (_header(2, 12, SEGMENT_1) + GOOD_STREAM[64:], "offset 12 is outside"),
    "offsets-backwards": (
        _header(2, SEGMENT_1, 64) + GOOD_STREAM[64:],
        "offset 64 is not after",
    ),
    "segment-short": (
        _header(2, 64, 70) + bytes([3, 1, 2, 3, 4, 128]) + GOOD_STREAM[SEGMENT_1:],
        "segment 0 decodes to 4 bytes",
    ),
    "literal-cut": (
        _header(2, 64, 66) + bytes([23, 1]) + GOOD_STREAM[SEGMENT_1:],
        "segment 0 decodes to 1 bytes",
    ),
    "replicate-cut": (
        GOOD_STREAM[:SEGMENT_1] + bytes([0xE9]),
        "segment 1 decodes to 0 bytes",
    ),
}


@pytest.mark.parametrize("codec", CODECS, ids=case_id)
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_stream_fails_with_decode_error(
    codecs: CodecManager, codec: Codec, case: str
) -> None:
    require_backend(codec)
    data, message = MALFORMED[case]
    frame = EncapsulatedFrame([data], GOOD.info.replace(transfer_syntax_uid=RLE_UID), index=3)
    with pytest.raises(NoCodecError) as caught:
        codecs.decode(frame, codec=codec.name)
    [attempt] = caught.value.attempts
    assert (attempt.codec, attempt.outcome) == (codec.name, "failed")
    error = attempt.error
    assert isinstance(error, DecodeError)
    assert caught.value.__cause__ is error
    assert error.frame_index == 3
    assert error.codec == codec.name
    if codec is RLE or case not in ("segment-short", "literal-cut", "replicate-cut"):
        assert message in str(error)  # pylibjpeg-rle words its own stream errors


def test_padding_and_overlong_last_run_are_cut(codecs: CodecManager) -> None:
    info = FrameInfo(rows=1, columns=3, transfer_syntax_uid=RLE_UID)
    # A replicate run of 5 for a 3-byte segment, then a padding byte that reads as a header.
    data = _header(1, 64) + bytes([0xFC, 7, 0])
    for codec in CODECS:
        require_backend(codec)
        decoded = codecs.decode(EncapsulatedFrame([data], info), codec=codec.name)
        assert decoded.data.tolist() == [7, 7, 7]
    # No-op headers (128) are skipped.
    data = _header(1, 64) + bytes([128, 1, 5, 6, 128, 0, 9, 128])
    assert codecs.decode(EncapsulatedFrame([data], info), codec="rle").data.tolist() == [5, 6, 9]


# -- the numpy decoder's run walk, against a plain decoder ------------------------------------
def _plain_segment(segment: bytes) -> bytes:
    """PackBits (PS3.5 G.3.2) the obvious way; a run is cut at the end of its segment."""
    out, pos = bytearray(), 0
    while pos < len(segment):
        header = segment[pos]
        pos += 1
        if header < 128:
            out += segment[pos : pos + header + 1]
            pos += header + 1
        elif header > 128:
            out += segment[pos : pos + 1] * (257 - header)
            pos += 1
    return bytes(out)


def _random_segment(rng: np.random.Generator, needed: int) -> bytes:
    """Runs that make about ``needed`` bytes, with no-ops, cut runs and stray padding."""
    parts, made = [], 0
    while made < needed or not parts:  # never empty: parse_header refuses empty segments
        kind = rng.integers(0, 10)
        if kind == 0:
            parts.append(b"\x80")
            continue
        count = int(rng.integers(1, 129))
        if kind < 5:
            parts.append(bytes([count - 1]) + rng.integers(0, 256, count, dtype=np.uint8).tobytes())
        else:
            count = max(count, 2)
            parts.append(bytes([257 - count, int(rng.integers(0, 256))]))
        made += count
    ending = rng.integers(0, 4)
    tail = [b"", b"\x00", b"\xf0", b"\x05\x01"][ending]  # padding, cut literal, cut replicate
    return b"".join(parts) + tail


def _spans(segments: list[bytes]) -> list[tuple[int, int]]:
    ends = (64 + np.cumsum([len(segment) for segment in segments])).tolist()
    return list(zip([64, *ends[:-1]], ends, strict=True))


def _rle_frame(segments: list[bytes]) -> bytes:
    offsets = [start for start, _ in _spans(segments)]
    return _header(len(segments), *offsets) + b"".join(segments)


def _expected(segments: list[bytes], needed: int) -> bytes | int:
    """The planes, or the index of the first short segment."""
    planes = [_plain_segment(segment) for segment in segments]
    for index, plane in enumerate(planes):
        if len(plane) < needed:
            return index
    return b"".join(plane[:needed] for plane in planes)


def _planes(data: bytes, spans: list[tuple[int, int]], rows: int, columns: int) -> bytes:
    """The numpy decoder's pieces put together, segment after segment."""
    from dicomframe.codecs import _rle_numpy

    planes = np.full((len(spans), rows * columns), -1, dtype=np.int16)
    for segment, offset, piece in _rle_numpy.decode_pieces(data, spans, rows, columns):
        assert (planes[segment, offset : offset + piece.size] == -1).all()  # each byte once
        planes[segment, offset : offset + piece.size] = piece
    assert (planes >= 0).all()
    return planes.astype(np.uint8).tobytes()


@pytest.mark.parametrize("seed", range(40))
def test_numpy_decoder_matches_a_plain_decoder(seed: int) -> None:

    rng = np.random.default_rng(seed)
    big = seed % 8 == 0  # segments longer than a block, runs across block boundaries
    rows, columns = (300, 250) if big else (int(rng.integers(1, 9)), int(rng.integers(1, 40)))
    needed = rows * columns
    count = int(rng.choice([1, 2, 3, 4]))
    segments = [_random_segment(rng, needed + int(rng.integers(-3, 4))) for _ in range(count)]
    data = _rle_frame(segments)
    spans = _spans(segments)
    expected = _expected(segments, needed)
    if isinstance(expected, int):
        with pytest.raises(ValueError, match=f"segment {expected} decodes to"):
            _planes(data, spans, rows, columns)
    else:
        assert _planes(data, spans, rows, columns) == expected


def test_numpy_decoder_survives_a_numpy_that_copies_take_indices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The C-speed chain walk is checked; a wrong walk falls back to pointer doubling."""
    from dicomframe.codecs import _rle_numpy

    def buffered(
        jump: np.ndarray[Any, Any], chain: np.ndarray[Any, Any], end: int, guess: int
    ) -> int:
        chain[1:] = np.take(jump, chain[:-1].copy(), mode="clip")  # as if the indices were copied
        return int(chain.size)

    monkeypatch.setattr(_rle_numpy, "follow_chain", buffered)
    rng = np.random.default_rng(5)
    segments = [_random_segment(rng, 40_000) for _ in range(2)]
    expected = _expected(segments, 40_000)
    assert isinstance(expected, bytes)
    data = _rle_frame(segments)
    assert _planes(data, _spans(segments), 200, 200) == expected


def test_numpy_decoder_run_over_a_short_last_block() -> None:
    """A literal run from one block covers the whole (short) last block of its segment."""
    from dicomframe.codecs import _rle_numpy

    rng = np.random.default_rng(1)
    runs = [bytes([127]) + rng.integers(0, 256, 128, dtype=np.uint8).tobytes() for _ in range(254)]
    cut = b"".join(runs) + bytes([127]) + bytes(range(1, 7))  # 6 of the last run's 128 bytes
    assert _rle_numpy._BLOCK < len(cut) < _rle_numpy._BLOCK + 129
    needed = 254 * 128 + 6
    segments = [cut, bytes([0x81, 9]) * 254 + bytes([0xFA, 9])]  # 7 bytes too many: cut
    expected = _expected(segments, needed)
    assert isinstance(expected, bytes)
    assert _planes(_rle_frame(segments), _spans(segments), 1, needed) == expected


@pytest.mark.parametrize(("dtype", "samples"), [("<u2", 1), ("<i2", 1), ("u1", 3), ("<u4", 1)])
def test_numpy_decoder_fills_out(dtype: str, samples: int) -> None:
    frame = make_frame(dtype, samples, shape=(6, 9), bits_stored=12 if dtype[-1] != "1" else 8)
    encoded = _manager().encode(frame, "RLELossless", codec="rle")
    assert RLE.decode is not None
    out = np.full(frame.info.shape, 77, dtype=frame.info.dtype)
    decoded = RLE.decode(encoded, out=out)
    assert np.shares_memory(decoded.data, out)
    assert np.array_equal(out, frame.array)
    wrong = np.zeros(frame.info.shape, dtype=np.float32)  # not the frame's dtype: not used
    decoded = RLE.decode(encoded, out=wrong)
    assert not np.shares_memory(decoded.data, wrong)
    assert np.array_equal(decoded.array, frame.array)


EDGES = {
    # A literal run of 4 that would run into segment 1: cut at the segment's end.
    "literal-into-next-segment": ([bytes([3, 1, 2]), bytes([0xFD, 9])], 2, [1, 2, 9, 9]),
    # The same when segment 0 is already full: the cut run is padding.
    "padding-run-into-next-segment": ([bytes([1, 1, 2, 5]), bytes([0xFF, 9])], 2, [1, 2, 9, 9]),
    # A replicate header as a segment's last byte gives nothing; its byte is not segment 1's.
    "replicate-header-last": ([bytes([0xFF, 4, 0xF0]), bytes([0xFF, 6])], 2, [4, 4, 6, 6]),
    # No-ops (-128) anywhere, the last one the padding byte.
    "no-ops": ([bytes([128, 0xFF, 3, 128]), bytes([128, 1, 7, 8])], 2, [3, 3, 7, 8]),
}


@pytest.mark.parametrize("case", sorted(EDGES))
def test_numpy_decoder_edges(codecs: CodecManager, case: str) -> None:
    segments, columns, expected = EDGES[case]
    info = FrameInfo(rows=1, columns=columns, bits_allocated=16, bits_stored=16, high_bit=15)
    frame = EncapsulatedFrame([_rle_frame(segments)], info.replace(transfer_syntax_uid=RLE_UID))
    values = codecs.decode(frame, codec="rle").data
    high, low = expected[:columns], expected[columns:]
    assert values.tolist() == [h << 8 | lo for h, lo in zip(high, low, strict=True)]


def test_huge_runs_in_a_tiny_frame_are_cut_without_expanding_them(codecs: CodecManager) -> None:
    info = FrameInfo(rows=1, columns=2, transfer_syntax_uid=RLE_UID)
    data = _header(1, 64) + bytes([0x81, 3]) * 500_000  # 64 MB of runs for a 2-byte frame
    assert codecs.decode(EncapsulatedFrame([data], info), codec="rle").data.tolist() == [3, 3]


def test_short_segment_after_a_full_one_names_it(codecs: CodecManager) -> None:
    info = FrameInfo(rows=1, columns=3, bits_allocated=16, bits_stored=16, high_bit=15)
    data = _rle_frame([bytes([0xFE, 1]), bytes([0xFF, 2])])
    frame = EncapsulatedFrame([data], info.replace(transfer_syntax_uid=RLE_UID), index=0)
    with pytest.raises(NoCodecError) as caught:
        codecs.decode(frame, codec="rle")
    error = caught.value.attempts[0].error
    assert isinstance(error, DecodeError)
    assert "RLE segment 1 decodes to 2 bytes; a 3x1 frame needs 3" in str(error)


# -- registry facts ---------------------------------------------------------------------------
def test_codec_facts() -> None:
    assert (RLE.name, RLE.priority, RLE.modules, RLE.requires) == ("rle", 0, ("numpy",), ())
    assert PYLIBJPEG_RLE.priority == 9  # the first decoder when installed
    assert PYLIBJPEG_RLE.modules == ("rle.rle",)  # the compiled module alone
    assert PYLIBJPEG_RLE.requires == ("pylibjpeg-rle>=2.0",)
    assert RLE.transfer_syntaxes == PYLIBJPEG_RLE.transfer_syntaxes == frozenset({RLE_UID})
    assert rle.dicomframe_codecs() == [RLE, PYLIBJPEG_RLE]
    assert IMAGECODECS_RLE.name == "imagecodecs-rle"
    assert IMAGECODECS_RLE.priority > PYLIBJPEG_RLE.priority  # the first RLE decoder
    assert PYLIBJPEG_RLE.ranked(encoding=True) > IMAGECODECS_RLE.ranked(encoding=True)
    assert IMAGECODECS_RLE.decode is not None
    assert IMAGECODECS_RLE.transfer_syntaxes == frozenset({RLE_UID})


def test_each_direction_goes_to_its_fastest_backend() -> None:
    """imagecodecs decodes first; pylibjpeg-rle encodes first, so imagecodecs verifies it."""
    manager = CodecManager()  # the installed plugins, as a user gets them
    require_backend(PYLIBJPEG_RLE)
    require_backend(IMAGECODECS_RLE)
    frame = make_frame("<i2", shape=(64, 64))
    encoded, used = manager.encode_with(frame, "RLELossless")
    assert used == "pylibjpeg-rle"
    decoded, used = manager.decode_with(encoded)
    assert used == "imagecodecs-rle"
    np.testing.assert_array_equal(decoded.array, frame.array)
    _, used = manager.decode_with(encoded, avoid="pylibjpeg-rle")  # what verification does
    assert used == "imagecodecs-rle"
    decoded, used = manager.decode_with(encoded, block=["imagecodecs-rle"])
    assert used == "pylibjpeg-rle"
    np.testing.assert_array_equal(decoded.array, frame.array)
    _, used = manager.encode_with(frame, "RLELossless", block=["pylibjpeg-rle"])
    assert used == "imagecodecs-rle"
    _, used = manager.encode_with(frame, "RLELossless", block=["imagecodecs", "pylibjpeg-rle"])
    assert used == "rle"


def test_the_order_of_the_rle_decoders(codecs: CodecManager) -> None:
    require_backend(PYLIBJPEG_RLE)
    require_backend(IMAGECODECS_RLE)
    frame = read_quietly(RLE_FILES[0]).pixel_data[0]
    _, used = codecs.decode_with(frame)
    assert used == "imagecodecs-rle"
    _, used = codecs.decode_with(frame, block=["imagecodecs-rle"])
    assert used == "pylibjpeg-rle"
    _, used = codecs.decode_with(frame, block=["imagecodecs-rle", "pylibjpeg-rle"])
    assert used == "rle"


class _Missing:
    """The RLE codecs as they look where pylibjpeg-rle is not installed."""

    @hookimpl
    def dicomframe_codecs(self) -> list[Codec]:
        return [RLE, dataclasses.replace(PYLIBJPEG_RLE, modules=("rle_not_installed",))]


def test_missing_backend_falls_back_to_numpy(manager: CodecManager) -> None:
    manager.register(_Missing(), "rle")
    frame = read_quietly(RLE_FILES[0]).pixel_data[0]
    _, used = manager.decode_with(frame)
    assert used == "rle"
    with pytest.raises(CodecUnavailableError) as caught:
        manager.decode(frame, codec="pylibjpeg-rle")
    assert caught.value.requires == ("pylibjpeg-rle>=2.0",)


def test_importing_the_plugin_imports_no_backend() -> None:
    code = (
        "import sys, dicomframe.codecs.rle as m; m.dicomframe_codecs(); print('rle' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_pylibjpeg_rle_runs_without_its_package_init() -> None:
    """Its compiled module alone is loaded (the package's ``__init__`` imports
    importlib.metadata); ``import rle`` later still works and binds ``rle.rle``."""
    require_backend(PYLIBJPEG_RLE)
    code = (
        "import sys, numpy as np, dicomframe as dcf\n"
        "from dicomframe.core.frame import NativeFrame\n"
        "from dicomframe.core.frame_info import FrameInfo\n"
        "info = FrameInfo(rows=3, columns=4, bits_allocated=16, bits_stored=16,"
        " high_bit=15, pixel_representation=1)\n"
        "frame = NativeFrame(np.arange(-6, 6, dtype=np.int16), info)\n"
        "from dicomframe.plugins.manager import default_manager\n"
        "m = default_manager()\n"
        "encoded = m.encode(frame, 'RLELossless', codec='pylibjpeg-rle')\n"
        "decoded = m.decode(encoded, codec='pylibjpeg-rle')\n"
        "print(decoded.data.tolist() == frame.data.tolist(), 'rle' in sys.modules)\n"
        "import rle\n"
        "print(rle.rle is sys.modules['rle.rle'], bytes(rle.utils.decode_pixel_data("
        "bytes(encoded.data), version=2, rows=3, columns=4, bits_allocated=16)) =="
        " frame.data.tobytes())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False", "True", "True"]


@pytest.mark.parametrize("codec", ENCODERS, ids=case_id)
def test_passes_the_conformance_checks(codec: Codec) -> None:
    require_backend(codec)
    report = check_codec(codec)
    assert len(report.round_trips) >= 8


def test_a_packbits_bomb_is_refused_before_it_is_allocated(codecs: CodecManager) -> None:
    """A segment that expands 64x past its plane: imagecodecs-rle stops at the plane."""
    require_backend(IMAGECODECS_RLE)
    info = FrameInfo(rows=4, columns=4, transfer_syntax_uid=RLE_UID)
    bomb = bytes([0x81, 0]) * 50_000  # each pair: 128 zero bytes, 6.4 MB in all
    frame = EncapsulatedFrame([_header(1, 64) + bomb], info)
    assert IMAGECODECS_RLE.decode is not None
    with pytest.raises(DecodeError, match="more than the 16 bytes of its plane") as caught:
        IMAGECODECS_RLE.decode(frame)
    assert caught.value.codec == "imagecodecs-rle"
    # a last run that overshoots by less than one run is cut, as every RLE decoder cuts it
    cut = EncapsulatedFrame([_header(1, 64) + bytes([0x81, 9])], info)
    assert codecs.decode(cut, codec="imagecodecs-rle").data.tolist() == [9] * 16
