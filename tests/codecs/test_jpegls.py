"""pyjpegls: every JPEG-LS reference file against pydicom 3, round trips, near-lossless bounds,
sign handling, interoperability with other JPEG-LS decoders, declines.

Oracle: ``pydicom.pixels.pixel_array(path, index=i, as_rgb=...)`` with pydicom's default
JPEG-LS plugin order, which picks pylibjpeg-libjpeg (a different JPEG-LS implementation from
CharLS) first. JPEG-LS decoding is exactly specified, near-lossless included, so every
comparison is EXACT.

The helpers at the top (``oracle``, ``decode_with_pydicom``, ``make_frame``, ``psnr`` ...) are
shared with test_imagecodecs.py.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.codecs import jpegls
from dicomframe.codecs._common import JPEG_LS_SYNTAXES, jpeg_parameters
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.errors import EncodeError, NoCodecError
from dicomframe.plugins import Codec, CodecManager
from dicomframe.testing import check_codec
from tests.codecs.common import case_id, read_quietly, references, require_backend

PYJPEGLS = jpegls.PYJPEGLS
EXPLICIT_LE = "1.2.840.10008.1.2.1"
Array = np.ndarray[Any, Any]


# -- shared helpers -------------------------------------------------------------------------------
REFERENCES = references()


def reference_cases(codecs: list[Codec]) -> list[tuple[Codec, Path]]:
    """Every (codec, reference file) pair the codec claims."""
    return [(c, p) for c in codecs for p, uid in REFERENCES if uid in c.transfer_syntaxes]


def oracle(path: Path, index: int, *, as_rgb: bool) -> Array:
    """pydicom 3's frame ``index`` of ``path``, with pydicom's own plugin choice."""
    import pydicom
    from pydicom.pixels import pixel_array

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pixel_array(path, index=index, as_rgb=as_rgb)
        except ValueError:
            # SC_rgb_jpeg.dcm says Explicit VR but is Implicit: pydicom reads it as a dataset.
            return pixel_array(pydicom.dcmread(path), index=index, as_rgb=as_rgb)


def decode_with_pydicom(frame: EncapsulatedFrame, plugin: str, *, as_rgb: bool = False) -> Array:
    """Decode one of our encoded frames with pydicom 3 and the given decoding plugin."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.pixels import get_decoder

    info = frame.info
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = info.transfer_syntax_uid
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
        warnings.simplefilter("ignore")
        arr, _ = get_decoder(info.transfer_syntax_uid).as_array(
            ds, decoding_plugin=plugin, as_rgb=as_rgb
        )
    return arr


def make_frame(
    dtype: str,
    samples: int = 1,
    *,
    bits: int | None = None,
    shape: tuple[int, int] = (13, 7),
    planar: int = 0,
    noise: bool = False,
    photometric: str | None = None,
) -> NativeFrame:
    """A frame spanning the whole Bits Stored range: a smooth ramp with mild noise (or pure
    noise), its first values the range's minimum and maximum."""
    kind = np.dtype(dtype)
    stored = bits or kind.itemsize * 8
    signed = kind.kind == "i"
    low, high = (
        (-(1 << (stored - 1)), (1 << (stored - 1)) - 1) if signed else (0, (1 << stored) - 1)
    )
    info = FrameInfo(
        rows=shape[0],
        columns=shape[1],
        samples_per_pixel=samples,
        bits_allocated=kind.itemsize * 8,
        bits_stored=stored,
        high_bit=stored - 1,
        pixel_representation=int(signed),
        photometric_interpretation=photometric or ("RGB" if samples == 3 else "MONOCHROME2"),
        planar_configuration=planar,
    )
    rng = np.random.default_rng(stored * 31 + samples * 7 + shape[0])
    count = info.values_per_frame
    if noise:
        values = rng.integers(low, high, count, endpoint=True)
    else:
        ramp = np.linspace(low, high, count)
        values = np.clip(ramp + rng.normal(0, (high - low) / 200 + 1, count), low, high)
    values = values.astype(np.int64)
    values[: min(2, count)] = [low, high][: min(2, count)]
    return NativeFrame(values.astype(info.dtype), info)


def smooth_frame(
    dtype: str = "u1",
    samples: int = 1,
    *,
    bits: int | None = None,
    shape: tuple[int, int] = (64, 48),
) -> NativeFrame:
    """A photograph-like frame (sinusoids and ramps) for lossy codecs and PSNR floors."""
    kind = np.dtype(dtype)
    stored = bits or kind.itemsize * 8
    peak = (1 << stored) - 1
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    planes = [
        (np.sin(x / 7.0 + k) * np.cos(y / 11.0 - k) + 1) / 2 * 0.8 + 0.1 * (x + y) / sum(shape)
        for k in range(samples)
    ]
    values = np.rint(np.stack(planes, axis=-1) * peak).clip(0, peak).astype(dtype)
    info = FrameInfo(
        rows=shape[0],
        columns=shape[1],
        samples_per_pixel=samples,
        bits_allocated=kind.itemsize * 8,
        bits_stored=stored,
        high_bit=stored - 1,
        photometric_interpretation="RGB" if samples == 3 else "MONOCHROME2",
    )
    return NativeFrame(values.reshape(-1), info)


def psnr(a: Array, b: Array, bits: int) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(((1 << bits) - 1) ** 2 / mse))


def assert_truthful(frame: NativeFrame, source: FrameInfo) -> None:
    """The FrameInfo of a decoded frame describes its data."""
    info = frame.info
    assert frame.data.ndim == 1
    assert frame.data.dtype == info.dtype == source.dtype
    assert (
        frame.data.size
        == info.values_per_frame
        == source.rows * source.columns * (source.samples_per_pixel)
    )
    assert info.planar_configuration == 0
    assert info.transfer_syntax_uid == EXPLICIT_LE
    assert not info.is_subsampled


def jls_near(data: bytes) -> int:
    """The NEAR parameter of a JPEG-LS stream's first scan (ISO/IEC 14495-1 C.2.3)."""
    sos = data.index(b"\xff\xda")
    components = data[sos + 4]
    return data[sos + 5 + 2 * components]


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture
def codecs(manager: CodecManager) -> CodecManager:
    manager.register(jpegls, "jpegls")
    return manager


# -- every reference file -------------------------------------------------------------------------
@pytest.mark.parametrize(("codec", "path"), reference_cases([PYJPEGLS]), ids=case_id)
def test_decode_matches_pydicom(codecs: CodecManager, codec: Codec, path: Path) -> None:
    require_backend(codec)
    pixels = read_quietly(path).pixel_data
    for index in range(len(pixels)):
        for as_rgb in (True, False):
            frame = codecs.decode(pixels[index], codec=codec.name, as_rgb=as_rgb)
            assert_truthful(frame, pixels.info)
            expected = oracle(path, index, as_rgb=as_rgb)
            assert frame.array.dtype == expected.dtype
            np.testing.assert_array_equal(frame.array, expected)  # exact, near-lossless too


def test_every_jpeg_ls_reference_is_covered() -> None:
    names = {p.name for p, uid in REFERENCES if uid in JPEG_LS_SYNTAXES}
    assert {"MR_small_jpeg_ls_lossless.dcm", "JPEGLSNearLossless_16.dcm"} <= names
    assert len(names) == 5


# -- round trips ----------------------------------------------------------------------------------
VARIANTS = [
    ("u1", 1, None),
    ("i1", 1, None),
    ("u1", 1, 6),
    ("u2", 1, None),
    ("i2", 1, None),
    ("u2", 1, 12),
    ("i2", 1, 12),
    ("i2", 1, 8),
    ("u2", 1, 2),
    ("u1", 3, None),
    ("u2", 3, None),
    ("u2", 3, 12),
]
SHAPES = [(13, 7), (31, 17), (2, 40)]  # 1x1: see test_tiny_frames_* below


@pytest.mark.parametrize(("dtype", "samples", "bits"), VARIANTS, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_lossless_round_trip_is_bit_exact(
    codecs: CodecManager, dtype: str, samples: int, bits: int | None, shape: tuple[int, int]
) -> None:
    require_backend(PYJPEGLS)
    native = make_frame(dtype, samples, bits=bits, shape=shape)
    encoded = codecs.encode(native, "JPEGLSLossless", codec=PYJPEGLS.name)
    assert encoded.info.transfer_syntax_uid == "1.2.840.10008.1.2.4.80"
    assert encoded.info.photometric_interpretation == native.info.photometric_interpretation
    stream = jpeg_parameters(bytes(encoded.data))
    assert stream.precision == max(native.info.bits_stored, 2)  # P = Bits Stored
    assert jls_near(bytes(encoded.data)) == 0
    decoded = codecs.decode(encoded, codec=PYJPEGLS.name)
    assert_truthful(decoded, native.info)
    np.testing.assert_array_equal(decoded.data, native.data)


@pytest.mark.parametrize("dtype", ["u1", "u2"])
def test_planar_input_is_interleaved_before_encoding(codecs: CodecManager, dtype: str) -> None:
    require_backend(PYJPEGLS)
    native = make_frame(dtype, 3, shape=(9, 11))
    planar = NativeFrame(
        np.ascontiguousarray(native.array.transpose(2, 0, 1)).reshape(-1),
        native.info.replace(planar_configuration=1),
    )
    encoded = codecs.encode(planar, "JPEGLSLossless")
    assert encoded.info.planar_configuration == 0
    np.testing.assert_array_equal(codecs.decode(encoded).array, native.array)


def test_colour_by_plane_stream_decodes_colour_by_pixel(codecs: CodecManager) -> None:
    require_backend(PYJPEGLS)
    import jpeg_ls

    native = make_frame("u1", 3, shape=(20, 30))
    planes = np.ascontiguousarray(native.array.transpose(2, 0, 1))
    stream = bytes(jpeg_ls.encode_buffer(planes.tobytes(), 20, 30, 3, 8, 0, 0))  # ILV 0
    info = native.info.replace(transfer_syntax_uid="1.2.840.10008.1.2.4.80")
    decoded = codecs.decode(EncapsulatedFrame([stream], info))
    assert decoded.info.planar_configuration == 0
    np.testing.assert_array_equal(decoded.array, native.array)


# -- near-lossless --------------------------------------------------------------------------------
@pytest.mark.parametrize(("dtype", "bits"), [("u1", None), ("u2", 12), ("i2", 12), ("u2", None)])
@pytest.mark.parametrize("error", [1, 3, 10])
def test_near_lossless_stays_within_the_error(
    codecs: CodecManager, dtype: str, bits: int | None, error: int
) -> None:
    require_backend(PYJPEGLS)
    native = make_frame(dtype, bits=bits, shape=(40, 33))
    if native.info.pixel_representation:  # keep clear of the ends: no sign flip (see below)
        native = NativeFrame(
            np.clip(native.data, -2048 + error, 2047 - error).astype(native.data.dtype),
            native.info,
        )
    encoded = codecs.encode(native, "JPEGLSNearLossless", lossy_error=error)
    assert jls_near(bytes(encoded.data)) == error
    decoded = codecs.decode(encoded)
    difference = np.abs(decoded.data.astype(np.int64) - native.data.astype(np.int64))
    assert difference.max() <= error
    assert difference.max() > 0  # it did use the allowance


def test_near_lossless_defaults_to_exact(codecs: CodecManager) -> None:
    require_backend(PYJPEGLS)
    native = make_frame("u2", bits=12, shape=(20, 20))
    encoded = codecs.encode(native, "JPEGLSNearLossless")
    assert jls_near(bytes(encoded.data)) == 0
    np.testing.assert_array_equal(codecs.decode(encoded).data, native.data)


def test_near_alias(codecs: CodecManager) -> None:
    require_backend(PYJPEGLS)
    encoded = codecs.encode(make_frame("u1", shape=(20, 20)), "JPEGLSNearLossless", near=2)
    assert jls_near(bytes(encoded.data)) == 2


def test_signed_near_lossless_refuses_values_that_could_flip_sign(codecs: CodecManager) -> None:
    require_backend(PYJPEGLS)
    native = make_frame("i2", bits=12, shape=(20, 20))  # holds -2048 and 2047
    with pytest.raises(NoCodecError, match=r"can encode -2045..2044 at 12 bits") as caught:
        codecs.encode(native, "JPEGLSNearLossless", lossy_error=3)
    assert [a.outcome for a in caught.value.attempts] == ["failed"]


@pytest.mark.parametrize(
    ("syntax", "options", "message"),
    [
        ("JPEGLSLossless", {"lossy_error": 2}, "use JPEGLSNearLossless"),
        ("JPEGLSNearLossless", {"lossy_error": -1}, "must be 0 or more"),
    ],
)
def test_bad_options_fail_with_a_reason(
    codecs: CodecManager, syntax: str, options: dict[str, Any], message: str
) -> None:
    require_backend(PYJPEGLS)
    with pytest.raises(NoCodecError, match=message):
        codecs.encode(make_frame("u1"), syntax, **options)


def test_values_outside_bits_stored_are_refused(codecs: CodecManager) -> None:
    require_backend(PYJPEGLS)
    info = FrameInfo(rows=4, columns=4, bits_allocated=16, bits_stored=12, high_bit=11)
    frame = NativeFrame(np.full(16, 5000, dtype=np.uint16), info)
    with pytest.raises(NoCodecError, match="do not fit Bits Stored 12"):
        codecs.encode(frame, "JPEGLSLossless")


# -- interoperability -----------------------------------------------------------------------------
@pytest.mark.parametrize(("dtype", "samples", "bits"), VARIANTS, ids=str)
@pytest.mark.parametrize("plugin", ["pylibjpeg", "pyjpegls"])
def test_other_decoders_read_our_streams(
    codecs: CodecManager, dtype: str, samples: int, bits: int | None, plugin: str
) -> None:
    """pydicom 3 with pylibjpeg-libjpeg (another JPEG-LS implementation) or pyjpegls reads
    our streams back exactly, signed ones included: its sign rule agrees with ours."""
    require_backend(PYJPEGLS)
    pytest.importorskip("libjpeg" if plugin == "pylibjpeg" else "jpeg_ls")
    native = make_frame(dtype, samples, bits=bits, shape=(31, 17))
    encoded = codecs.encode(native, "JPEGLSLossless")
    np.testing.assert_array_equal(decode_with_pydicom(encoded, plugin), native.array)


# -- the pyjpegls output-buffer limit ---------------------------------------------------------
TINY = [
    pytest.param(make_frame("u1", shape=(1, 1)), id="1x1"),
    pytest.param(make_frame("u2", 3, shape=(1, 1)), id="1x1-rgb16"),
    pytest.param(make_frame("u1", noise=True), id="13x7-noise"),
]


@pytest.mark.xfail(
    raises=EncodeError,
    strict=True,
    reason="pyjpegls 1.5 allots twice the input for the stream: tiny frames overflow it",
)
@pytest.mark.parametrize("native", TINY)
def test_tiny_frames_overflow_pyjpegls(native: NativeFrame) -> None:
    require_backend(PYJPEGLS)
    assert PYJPEGLS.encode is not None
    PYJPEGLS.encode(native, dcf.TransferSyntax.resolve("JPEGLSLossless"))


def test_tiny_frame_failure_says_what_to_use(codecs: CodecManager) -> None:
    require_backend(PYJPEGLS)
    with pytest.raises(NoCodecError, match="need another JPEG-LS codec") as caught:
        codecs.encode(make_frame("u1", shape=(1, 1)), "JPEGLSLossless")
    assert [(a.codec, a.outcome) for a in caught.value.attempts] == [(PYJPEGLS.name, "failed")]


@pytest.mark.parametrize("native", TINY)
def test_tiny_frames_fall_back_to_the_next_codec(codecs: CodecManager, native: NativeFrame) -> None:
    """The registry recovers: imagecodecs-jpegls encodes, and pyjpegls decodes the result."""
    require_backend(PYJPEGLS)
    pytest.importorskip("imagecodecs")
    from dicomframe.codecs import imagecodecs

    codecs.register(imagecodecs, "imagecodecs")
    encoded = codecs.encode(native, "JPEGLSLossless")
    np.testing.assert_array_equal(codecs.decode(encoded, codec=PYJPEGLS.name).data, native.data)


# -- capabilities and facts -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("info", "encoding", "reason"),
    [
        (
            FrameInfo(rows=8, columns=8, bits_allocated=32, bits_stored=32),
            False,
            "Bits Allocated 32 not in [8, 16]",
        ),
        (
            FrameInfo(rows=8, columns=8, samples_per_pixel=4, photometric_interpretation="ARGB"),
            False,
            "Samples per Pixel 4 not in [1, 3]",
        ),
        (
            FrameInfo(
                rows=8, columns=8, samples_per_pixel=3, photometric_interpretation="YBR_FULL_422"
            ),
            True,
            "Photometric Interpretation YBR_FULL_422 not supported",
        ),
        (
            FrameInfo(rows=8, columns=8, samples_per_pixel=3, photometric_interpretation="YBR_ICT"),
            True,
            "Photometric Interpretation YBR_ICT not supported",
        ),
        (
            FrameInfo(rows=8, columns=8, bits_allocated=16, bits_stored=16, pixel_representation=1),
            True,
            None,
        ),
    ],
)
def test_capabilities_decline_with_reasons(
    info: FrameInfo, encoding: bool, reason: str | None
) -> None:
    assert PYJPEGLS.why_not(info, encoding=encoding) == reason


def test_declined_frame_is_listed_in_no_codec_error(codecs: CodecManager) -> None:
    info = FrameInfo(
        rows=8,
        columns=8,
        bits_allocated=32,
        bits_stored=32,
        transfer_syntax_uid="1.2.840.10008.1.2.4.80",
    )
    with pytest.raises(NoCodecError) as caught:
        codecs.decode(EncapsulatedFrame([b"\xff\xd8\xff\xd9"], info))
    assert [(a.codec, a.outcome) for a in caught.value.attempts] == [(PYJPEGLS.name, "declined")]
    assert "Bits Allocated 32 not in [8, 16]" in str(caught.value)


def test_corrupt_stream_fails_with_a_decode_error(codecs: CodecManager) -> None:
    require_backend(PYJPEGLS)
    info = FrameInfo(rows=8, columns=8, transfer_syntax_uid="1.2.840.10008.1.2.4.80")
    with pytest.raises(NoCodecError, match="pyjpegls") as caught:
        codecs.decode(EncapsulatedFrame([b"\xff\xd8\xff\xf7\x00\x0b\x08"], info))
    assert [a.outcome for a in caught.value.attempts] == ["failed"]
    assert isinstance(caught.value.attempts[0].error, dcf.DecodeError)


def test_conformance() -> None:
    require_backend(PYJPEGLS)
    report = check_codec(PYJPEGLS)
    assert report.round_trips
    assert not report.declined  # every sample layout: 8/16 bits, signed, 1 and 3 samples


def test_codec_facts() -> None:
    assert PYJPEGLS.name == "pyjpegls"
    assert PYJPEGLS.transfer_syntaxes == JPEG_LS_SYNTAXES
    assert PYJPEGLS.priority == 5  # permissive: above pylibjpeg-libjpeg (GPL, -10)
    assert PYJPEGLS.modules == ("jpeg_ls",)
    assert PYJPEGLS.requires == ("pyjpegls>=1.4",)
    assert jpegls.dicomframe_codecs() == [PYJPEGLS]


def test_importing_the_plugin_imports_no_backend() -> None:
    code = (
        "import sys, dicomframe.codecs.jpegls as m; m.dicomframe_codecs(); "
        "print('jpeg_ls' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
