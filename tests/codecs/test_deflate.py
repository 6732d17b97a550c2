"""Deflated Image Frame Compression and Encapsulated Uncompressed Explicit VR Little Endian.

pydicom 3.0 decodes neither syntax, so the oracle is the rule itself (PS3.5 A.4.11, A.4.13),
applied by hand: each frame's native little-endian bytes (1-bit frames packed LSB first from
a byte of their own) as one fragment, raw-deflated (RFC 1951, ``zlib`` wbits -15) for
1.2.840.10008.1.2.8.1 - the rule pydicom 3.1 decodes with - and padded with a NUL to even
length. Files are written with dicomframe and their fragments read back with pydicom.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.codecs import deflate
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.errors import DecodeError, EncodeError, NoCodecError
from dicomframe.plugins import Codec, CodecManager
from dicomframe.testing import check_codec
from tests.codecs.common import case_id, read_quietly
from tests.reference import TESTDATA

DEFLATE, UNCOMPRESSED = deflate.DEFLATE, deflate.ENCAPSULATED_UNCOMPRESSED
CODECS = (DEFLATE, UNCOMPRESSED)
DEFLATE_UID = "1.2.840.10008.1.2.8.1"
UNCOMPRESSED_UID = "1.2.840.10008.1.2.1.98"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
SYNTAX = {DEFLATE.name: DEFLATE_UID, UNCOMPRESSED.name: UNCOMPRESSED_UID}


@pytest.fixture
def codecs(manager: CodecManager) -> CodecManager:
    manager.register(deflate, "deflate")
    return manager


def make_frame(
    bits: int,
    samples: int = 1,
    *,
    signed: int = 0,
    shape: tuple[int, int] = (7, 5),
    planar: int = 0,
    bits_stored: int | None = None,
    photometric: str | None = None,
    data: np.ndarray[Any, Any] | None = None,
) -> NativeFrame:
    """A native frame; random values over the Bits Stored range unless ``data`` is given."""
    stored = bits_stored or bits
    info = FrameInfo(
        rows=shape[0],
        columns=shape[1],
        samples_per_pixel=samples,
        bits_allocated=bits,
        bits_stored=stored,
        high_bit=stored - 1,
        pixel_representation=signed,
        photometric_interpretation=photometric or ("RGB" if samples > 1 else "MONOCHROME2"),
        planar_configuration=planar,
    )
    if data is None:
        rng = np.random.default_rng(bits * 100 + samples * 10 + signed + shape[0] * shape[1])
        low, high = (-(1 << (stored - 1)), (1 << (stored - 1)) - 1) if signed else (0, 0)
        if not signed:
            high = (1 << stored) - 1 if stored < 64 else np.iinfo(np.uint64).max
        data = rng.integers(low, high, size=info.values_per_frame, dtype=info.dtype, endpoint=True)
    return NativeFrame(np.ascontiguousarray(data, dtype=info.dtype), info)


def native_bytes(frame: NativeFrame) -> bytes:
    """The rule, by hand: little-endian values, interleaved, 1-bit packed LSB first."""
    if frame.info.bits_allocated == 1:
        bits = frame.data.astype(np.uint8)
        padded = np.zeros(-(-bits.size // 8) * 8, np.uint8)
        padded[: bits.size] = bits
        weights = 1 << np.arange(8, dtype=np.uint8)
        return bytes((padded.reshape(-1, 8) * weights).sum(axis=1).astype(np.uint8).tolist())
    if frame.info.is_subsampled:
        return frame.data.astype(frame.info.dtype.newbyteorder("<")).tobytes()
    return np.ascontiguousarray(frame.array).astype(frame.info.dtype.newbyteorder("<")).tobytes()


def assert_truthful(frame: NativeFrame, source: FrameInfo) -> None:
    info = frame.info
    assert frame.data.ndim == 1
    assert frame.data.dtype == info.dtype == source.dtype
    assert frame.data.size == info.values_per_frame == source.values_per_frame
    assert info.planar_configuration == 0
    assert info.transfer_syntax_uid == EXPLICIT_LE
    assert info.photometric_interpretation == source.photometric_interpretation


LAYOUTS = [
    (bits, samples, signed, planar)
    for bits in (1, 8, 16, 32, 64)
    for samples in ((1,) if bits == 1 else (1, 3))
    for signed in ((0,) if bits == 1 else (0, 1))
    for planar in ((0, 1) if samples == 3 else (0,))
]
SHAPES = [(7, 5), (1, 1), (3, 3), (16, 40)]  # 1-bit 3x3: 9 bits, a frame of 2 bytes


# -- round trips ------------------------------------------------------------------------------
@pytest.mark.parametrize("codec", CODECS, ids=case_id)
@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda x: "bits{}-x{}-signed{}-planar{}".format(*x))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_round_trip_is_bit_exact(
    codecs: CodecManager,
    codec: Codec,
    layout: tuple[int, int, int, int],
    shape: tuple[int, int],
) -> None:
    bits, samples, signed, planar = layout
    frame = make_frame(bits, samples, signed=signed, shape=shape, planar=planar)
    encoded = codecs.encode(frame, SYNTAX[codec.name], codec=codec.name)
    assert encoded.info.transfer_syntax_uid == SYNTAX[codec.name]
    assert encoded.info.planar_configuration == 0
    assert len(encoded.fragments) == 1
    assert len(encoded.data) % 2 == 0
    # The fragment is the rule applied by hand.
    data = bytes(encoded.data)
    expected = native_bytes(frame)
    if codec is DEFLATE:
        inflater = zlib.decompressobj(-15)
        assert inflater.decompress(data) == expected
        assert inflater.eof
        assert inflater.unused_data in (b"", b"\0")
    else:
        assert data == expected + b"\0" * (len(expected) % 2)
    decoded = codecs.decode(encoded, codec=codec.name)
    assert_truthful(decoded, frame.info)
    np.testing.assert_array_equal(decoded.array, frame.array)


@pytest.mark.parametrize("codec", CODECS, ids=case_id)
def test_ybr_full_422_keeps_its_two_values_per_pixel(codecs: CodecManager, codec: Codec) -> None:
    data = np.array([10, 20, 128, 130, 30, 40, 100, 90] * 3, dtype=np.uint8)
    frame = make_frame(8, 3, shape=(3, 4), data=data, photometric="YBR_FULL_422")
    encoded = codecs.encode(frame, SYNTAX[codec.name], codec=codec.name)
    assert encoded.info.photometric_interpretation == "YBR_FULL_422"
    decoded = codecs.decode(encoded, codec=codec.name)
    assert_truthful(decoded, frame.info)
    np.testing.assert_array_equal(decoded.data, data)


@pytest.mark.parametrize("codec", CODECS, ids=case_id)
def test_planar_stream_is_decoded_interleaved(codecs: CodecManager, codec: Codec) -> None:
    planes = np.arange(3 * 2 * 4, dtype="<u2") * 1000  # R plane, G plane, B plane
    raw = planes.tobytes()
    stream = zlib.compress(raw, wbits=-15) if codec is DEFLATE else raw
    info = make_frame(16, 3, shape=(2, 4), planar=1).info.replace(
        transfer_syntax_uid=SYNTAX[codec.name]
    )
    decoded = codecs.decode(EncapsulatedFrame([stream], info), codec=codec.name)
    assert decoded.info.planar_configuration == 0
    np.testing.assert_array_equal(decoded.array, planes.reshape(3, 2, 4).transpose(1, 2, 0))


# -- hand-built streams and files -------------------------------------------------------------
def test_hand_built_deflate_frame(codecs: CodecManager) -> None:
    values = np.array([[0, -1, 300], [-32768, 32767, 7]], dtype="<i2")
    stream = zlib.compress(values.tobytes(), level=9, wbits=-15)
    stream += b"\0" * (len(stream) % 2)
    info = FrameInfo(
        rows=2,
        columns=3,
        bits_allocated=16,
        bits_stored=16,
        high_bit=15,
        pixel_representation=1,
        transfer_syntax_uid=DEFLATE_UID,
    )
    decoded = codecs.decode(EncapsulatedFrame([stream], info))
    np.testing.assert_array_equal(decoded.array, values)


def test_hand_built_one_bit_frames_start_on_a_byte(codecs: CodecManager) -> None:
    # 3x3 = 9 pixels: 0b1_0110_1001 packed LSB first -> 0x69 0x01 (the rest padding zeros).
    bits = [1, 0, 0, 1, 0, 1, 1, 0, 1]
    info = FrameInfo(rows=3, columns=3, bits_allocated=1, bits_stored=1, high_bit=0)
    for codec in CODECS:
        packed = bytes([0x69, 0x01])
        stream = zlib.compress(packed, wbits=-15) if codec is DEFLATE else packed
        frame = EncapsulatedFrame([stream], info.replace(transfer_syntax_uid=SYNTAX[codec.name]))
        assert codecs.decode(frame).data.tolist() == bits
        native = NativeFrame(np.array(bits, np.uint8), info)
        encoded = codecs.encode(native, SYNTAX[codec.name])
        data = bytes(encoded.data)
        assert (zlib.decompressobj(-15).decompress(data) if codec is DEFLATE else data) == packed


def test_deflate_is_raw_without_zlib_header(codecs: CodecManager) -> None:
    frame = make_frame(16, shape=(16, 16), data=np.zeros(256, "<u2"))
    data = bytes(codecs.encode(frame, DEFLATE_UID).data)
    with pytest.raises(zlib.error):
        zlib.decompress(data)  # a zlib (RFC 1950) stream would have a header and Adler-32
    assert zlib.decompressobj(-15).decompress(data) == bytes(512)
    assert len(data) < 20


@pytest.mark.parametrize("codec", CODECS, ids=case_id)
@pytest.mark.parametrize("name", ["mr_multiframe_uint16", "rgb_planar1", "bits1_3frames"])
def test_file_round_trip(codecs: CodecManager, codec: Codec, name: str, tmp_path: Path) -> None:
    from pydicom import dcmread
    from pydicom.encaps import generate_frames

    source = read_quietly(TESTDATA / f"{name}.dcm")
    native = source.pixel_array
    frames = list(source.pixel_data)
    encoded = [codecs.encode(f, SYNTAX[codec.name], codec=codec.name) for f in frames]
    source.set_pixel_data(encoded)
    out = tmp_path / "out.dcm"
    dcf.write(source, out)
    back = read_quietly(out)
    assert back.transfer_syntax.uid == SYNTAX[codec.name]
    np.testing.assert_array_equal(back.pixel_data.pixel_array(codecs=codecs, workers=1), native)
    # pydicom finds one fragment per frame, each the frame's own bytes (deflated).
    theirs = dcmread(out)
    fragments = list(generate_frames(theirs.PixelData, number_of_frames=len(frames)))
    assert len(fragments) == len(frames)
    for fragment, frame in zip(fragments, frames, strict=True):
        raw = zlib.decompressobj(-15).decompress(fragment) if codec is DEFLATE else fragment
        expected = native_bytes(frame)
        assert raw[: len(expected)] == expected
        assert len(raw) - len(expected) in (0, len(expected) % 2)


def test_uncompressed_frame_is_a_view_on_its_fragment(codecs: CodecManager) -> None:
    frame = make_frame(16, 1, shape=(4, 4))
    fragment = bytes(codecs.encode(frame, UNCOMPRESSED_UID).data)
    view = memoryview(fragment)
    info = frame.info.replace(transfer_syntax_uid=UNCOMPRESSED_UID)
    decoded = codecs.decode(EncapsulatedFrame([view], info))
    assert np.shares_memory(decoded.data, np.frombuffer(fragment, np.uint8))
    assert not decoded.is_writable


@pytest.mark.parametrize("codec", CODECS, ids=case_id)
@pytest.mark.parametrize("signed", [0, 1])
def test_unused_high_bits_are_corrected(codecs: CodecManager, codec: Codec, signed: int) -> None:
    dtype = "<i2" if signed else "<u2"
    raw = np.array([0x0FFF, 0xF800, 0x0800, 0x7123], dtype="<u2").tobytes()
    stream = zlib.compress(raw, wbits=-15) if codec is DEFLATE else raw
    info = make_frame(16, shape=(2, 2), signed=signed, bits_stored=12).info
    frame = EncapsulatedFrame([stream], info.replace(transfer_syntax_uid=SYNTAX[codec.name]))
    decoded = codecs.decode(frame, codec=codec.name)
    assert decoded.data.dtype == np.dtype(dtype)
    expected = [-1, -2048, -2048, 291] if signed else [0x0FFF, 0x0800, 0x0800, 0x0123]
    assert decoded.data.tolist() == expected


# -- options and refusals ---------------------------------------------------------------------
def test_level_option(codecs: CodecManager) -> None:
    frame = make_frame(16, shape=(64, 64), data=(np.arange(4096) // 7).astype("<u2"))
    stored = len(codecs.encode(frame, DEFLATE_UID, level=0).data)
    best = len(codecs.encode(frame, DEFLATE_UID, level=9).data)
    assert best < stored
    assert stored >= frame.info.bytes_per_frame
    with pytest.raises(NoCodecError) as caught:
        codecs.encode(frame, DEFLATE_UID, level=12)
    [attempt] = caught.value.attempts
    assert attempt.outcome == "failed"
    assert isinstance(attempt.error, EncodeError)
    assert "level must be -1..9" in attempt.reason


@pytest.mark.parametrize("codec", CODECS, ids=case_id)
def test_encode_refuses_values_that_would_change(codecs: CodecManager, codec: Codec) -> None:
    too_big = make_frame(16, data=np.full(35, 5000, np.uint16), bits_stored=12)
    not_a_bit = make_frame(1, data=np.full(35, 2, np.uint8))
    for frame, reason in ((too_big, "Bits Stored 12"), (not_a_bit, "other than 0 and 1")):
        with pytest.raises(NoCodecError) as caught:
            codecs.encode(frame, SYNTAX[codec.name], codec=codec.name)
        [attempt] = caught.value.attempts
        assert attempt.outcome == "failed"
        assert isinstance(attempt.error, EncodeError)
        assert reason in attempt.reason


@pytest.mark.parametrize("codec", CODECS, ids=case_id)
@pytest.mark.parametrize("keyword", ["FloatPixelData", "DoubleFloatPixelData"])
def test_float_pixel_data_is_declined(codecs: CodecManager, codec: Codec, keyword: str) -> None:
    bits = 32 if keyword == "FloatPixelData" else 64
    info = FrameInfo(
        rows=2, columns=2, bits_allocated=bits, bits_stored=bits, high_bit=bits - 1
    ).replace(pixel_keyword=keyword)
    frame = NativeFrame(np.zeros(4, info.dtype), info)
    with pytest.raises(NoCodecError) as caught:
        codecs.encode(frame, SYNTAX[codec.name], codec=codec.name)
    [attempt] = caught.value.attempts
    assert attempt.outcome == "declined"
    assert "Pixel Data only" in attempt.reason
    assert codec.why_not(info) is not None


# -- malformed frames ---------------------------------------------------------------------------
GOOD = make_frame(16, shape=(4, 6))
RAW = native_bytes(GOOD)
DEFLATED = zlib.compress(RAW, wbits=-15)
MALFORMED = {
    DEFLATE.name: {
        "truncated": (DEFLATED[: len(DEFLATED) // 2], "truncated"),
        "garbage": (b"\xff" * 16, "invalid"),
        "too-long": (zlib.compress(RAW + b"\1\2\3", wbits=-15), "more than 48 bytes"),
        "too-short": (zlib.compress(RAW[:-4], wbits=-15), "inflates to 44 bytes"),
        "zlib-wrapped": (zlib.compress(RAW), "invalid"),
    },
    UNCOMPRESSED.name: {
        "too-short": (RAW[:-2], "holds 46 bytes"),
        "too-long": (RAW + b"\0\0", "holds 50 bytes"),
        "empty": (b"", "holds 0 bytes"),
    },
}
CASES = [(c, name) for c in CODECS for name in sorted(MALFORMED[c.name])]


@pytest.mark.parametrize(("codec", "case"), CASES, ids=case_id)
def test_malformed_frame_fails_with_decode_error(
    codecs: CodecManager, codec: Codec, case: str
) -> None:
    data, message = MALFORMED[codec.name][case]
    info = GOOD.info.replace(transfer_syntax_uid=SYNTAX[codec.name])
    with pytest.raises(NoCodecError) as caught:
        codecs.decode(EncapsulatedFrame([data], info, index=2))
    [attempt] = caught.value.attempts
    assert (attempt.codec, attempt.outcome) == (codec.name, "failed")
    error = attempt.error
    assert isinstance(error, DecodeError)
    assert caught.value.__cause__ is error
    assert (error.codec, error.frame_index) == (codec.name, 2)
    assert message in str(error)


def test_padded_fragments_are_accepted(codecs: CodecManager) -> None:
    frame = make_frame(8, shape=(3, 3))  # 9 bytes: odd
    raw = native_bytes(frame)
    info = frame.info.replace(transfer_syntax_uid=UNCOMPRESSED_UID)
    assert codecs.decode(EncapsulatedFrame([raw + b"\0"], info)).data.tolist() == list(raw)
    assert codecs.decode(EncapsulatedFrame([raw], info)).data.tolist() == list(raw)
    # A deflate stream of the padded frame, and a NUL after the stream, are both fine.
    for stream in (zlib.compress(raw + b"\0", wbits=-15), zlib.compress(raw, wbits=-15) + b"\0"):
        decoded = codecs.decode(
            EncapsulatedFrame([stream], info.replace(transfer_syntax_uid=DEFLATE_UID))
        )
        assert decoded.data.tolist() == list(raw)


# -- registry facts ---------------------------------------------------------------------------
def test_codec_facts() -> None:
    assert (DEFLATE.name, DEFLATE.modules, DEFLATE.priority) == ("deflate", ("zlib",), 0)
    assert (UNCOMPRESSED.name, UNCOMPRESSED.modules) == ("encapsulated-uncompressed", ())
    assert DEFLATE.transfer_syntaxes == frozenset({DEFLATE_UID})
    assert UNCOMPRESSED.transfer_syntaxes == frozenset({UNCOMPRESSED_UID})
    assert deflate.dicomframe_codecs() == [DEFLATE, UNCOMPRESSED]
    for codec in CODECS:
        assert codec.decode_caps.bits_allocated == frozenset({1, 8, 16, 32, 64})


@pytest.mark.parametrize("codec", CODECS, ids=case_id)
def test_passes_the_conformance_checks(codec: Codec) -> None:
    report = check_codec(codec)
    assert len(report.round_trips) >= 8
