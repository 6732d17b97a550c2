"""The imagecodecs codecs: JPEG, JPEG-LS, JPEG 2000, HTJ2K and JPEG XL.

Reference files against pydicom 3 (``pixel_array(path, index=i, as_rgb=...)``, pydicom's own
plugin choice: pylibjpeg-libjpeg for JPEG and JPEG-LS, pylibjpeg-openjpeg for JPEG 2000).
Tolerances, stated once here:

- lossless syntaxes, JPEG-LS near-lossless (exactly specified decoding) and JPEG 2000
  (the oracle runs the same OpenJPEG library): EXACT;
- lossy JPEG (.50/.51): libjpeg-turbo and pydicom's libjpeg differ in their IDCT and chroma
  upsampling by at most 1 per decoded component (``as_rgb=False``), at most 3 once YCbCr is
  converted to RGB (``as_rgb=True``: the colour matrix amplifies a 1-step difference), and
  by at most 0.2 on average for the reference files, 0.5 for our 4:2:2 streams (synthetic
  colour edges make chroma upsampling differ more often). Pillow uses libjpeg-turbo too, so
  its result is identical to ours.

Encoded frames are decoded back bit-exact for every lossless syntax, and by other libraries
where one exists: JPEG (libjpeg-turbo) by pylibjpeg-libjpeg, JPEG-LS (CharLS) by
pylibjpeg-libjpeg, HTJ2K (OpenJPH) by OpenJPEG, JPEG 2000 by pydicom's pylibjpeg plugin
(the same OpenJPEG, another wrapper and pydicom's sign and colour rules). No second JPEG XL
decoder is installed: JPEG XL is checked against the original pixels only, and .111 through
the JPEG it reconstructs, decoded by pylibjpeg-libjpeg.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.codecs import imagecodecs as plugin
from dicomframe.codecs import jpegls, pylibjpeg
from dicomframe.codecs._common import (
    HTJ2K_SYNTAXES,
    J2K_SYNTAXES,
    JPEG_LS_SYNTAXES,
    JPEG_SYNTAXES,
    j2k_parameters,
    jpeg_parameters,
)
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.errors import NoCodecError
from dicomframe.plugins import Codec, CodecManager
from dicomframe.testing import check_codec
from tests.codecs.common import case_id, read_quietly, require_backend
from tests.codecs.test_jpegls import (
    REFERENCES,
    assert_truthful,
    decode_with_pydicom,
    jls_near,
    make_frame,
    oracle,
    psnr,
    reference_cases,
    smooth_frame,
)

JPEG, JPEGLS, J2K, HTJ2K = plugin.JPEG, plugin.JPEGLS, plugin.J2K, plugin.HTJ2K
JPEGXL = plugin.JPEGXL_CODEC
ALL = [JPEG, JPEGLS, J2K, HTJ2K, JPEGXL]
LOSSY_JPEG = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"}
# Both pydicom and every decoder here refuse it: its SIZ marker holds an embedded (FFFE,E0DD).
UNDECODABLE = {"JPEG2000-embedded-sequence-delimiter.dcm"}
# pydicom's libjpeg rejects this stream ("scan start must be zero ..."); it is the same image
# as JPGExtended.dcm, whose oracle stands in.
SAME_IMAGE = {"JPEG-lossy.dcm": "JPGExtended.dcm"}


@pytest.fixture
def codecs(manager: CodecManager) -> CodecManager:
    manager.register(plugin, "imagecodecs")
    return manager


@pytest.fixture
def with_openjpeg(codecs: CodecManager) -> CodecManager:
    """Also pylibjpeg: it decodes lossy HTJ2K (test_imagecodecs_streams.py says why)."""
    codecs.register(pylibjpeg, "pylibjpeg")
    return codecs


def _reference(name: str) -> Path:
    return next(p for p, _ in REFERENCES if p.name == name)


def _assert_close(actual: Any, expected: Any, tolerance: int, mean: float = 0.2) -> None:
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    difference = np.abs(actual.astype(np.int64) - expected.astype(np.int64))
    assert difference.max() <= tolerance
    assert difference.mean() <= mean


# -- every reference file -------------------------------------------------------------------------
@pytest.mark.parametrize(("codec", "path"), reference_cases(ALL), ids=case_id)
def test_decode_matches_pydicom(codecs: CodecManager, codec: Codec, path: Path) -> None:
    require_backend(codec)
    pixels = read_quietly(path).pixel_data
    if path.name in UNDECODABLE:
        with pytest.raises(NoCodecError) as caught:
            codecs.decode(pixels[0], codec=codec.name)
        assert [a.outcome for a in caught.value.attempts] == ["failed"]
        with pytest.raises(Exception):  # noqa: B017, PT011 - pydicom fails its own way
            oracle(path, 0, as_rgb=True)
        return
    source = _reference(SAME_IMAGE.get(path.name, path.name))
    lossy_jpeg = pixels.info.transfer_syntax_uid in LOSSY_JPEG
    for index in range(len(pixels)):
        for as_rgb in (True, False):
            frame = codecs.decode(pixels[index], codec=codec.name, as_rgb=as_rgb)
            assert_truthful(frame, pixels.info)
            expected = oracle(source, index, as_rgb=as_rgb)
            if lossy_jpeg:
                _assert_close(frame.array, expected, 3 if as_rgb else 1)
            else:
                assert frame.array.dtype == expected.dtype
                np.testing.assert_array_equal(frame.array, expected)


def test_every_reference_family_is_covered() -> None:
    uids = {uid for _, uid in REFERENCES}
    for family in (JPEG_SYNTAXES, JPEG_LS_SYNTAXES, J2K_SYNTAXES):
        assert uids & family
    assert "testdata" in {p.parent.name for p, uid in REFERENCES if uid in J2K_SYNTAXES}


@pytest.mark.parametrize(
    ("name", "as_rgb", "photometric"),
    [
        ("examples_ybr_color.dcm", True, "RGB"),  # YBR_FULL_422 JPEG: chroma upsampled
        ("examples_ybr_color.dcm", False, "YBR_FULL"),
        ("SC_jpeg_no_color_transform.dcm", False, "RGB"),  # no marker: the dataset says RGB
        ("SC_rgb_jpeg_app14_dcmd.dcm", True, "RGB"),  # Adobe APP14, transform 0
        ("SC_rgb_jpeg_gdcm.dcm", True, "RGB"),  # lossless: never transformed
        ("examples_jpeg2k.dcm", False, "RGB"),  # YBR_RCT: OpenJPEG undoes the MCT
        ("693_J2KI.dcm", True, "MONOCHROME2"),
    ],
)
def test_photometric_says_what_was_decoded(
    codecs: CodecManager, name: str, as_rgb: bool, photometric: str
) -> None:
    pixels = read_quietly(_reference(name)).pixel_data
    codec = J2K if pixels.info.transfer_syntax_uid in J2K_SYNTAXES else JPEG
    require_backend(codec)
    frame = codecs.decode(pixels[0], as_rgb=as_rgb)
    assert frame.info.photometric_interpretation == photometric
    assert_truthful(frame, pixels.info)


# -- lossless round trips -------------------------------------------------------------------------
LOSSLESS = [
    (JPEG, "JPEGLossless"),
    (JPEG, "JPEGLosslessSV1"),
    (JPEGLS, "JPEGLSLossless"),
    (J2K, "JPEG2000Lossless"),
    (J2K, "JPEG2000MCLossless"),
    (HTJ2K, "HTJ2KLossless"),
    (HTJ2K, "HTJ2KLosslessRPCL"),
    (JPEGXL, "JPEGXLLossless"),
]
VARIANTS = [
    ("u1", 1, None),
    ("i1", 1, None),
    ("u1", 1, 6),
    ("u2", 1, None),
    ("i2", 1, None),
    ("u2", 1, 12),
    ("i2", 1, 12),
    ("i2", 1, 8),
    ("u1", 3, None),
    ("u2", 3, None),
    ("u2", 3, 12),
]
SHAPES = [(13, 7), (1, 1), (31, 17)]


@pytest.mark.parametrize(("codec", "syntax"), LOSSLESS, ids=case_id)
@pytest.mark.parametrize(("dtype", "samples", "bits"), VARIANTS, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_lossless_round_trip_is_bit_exact(
    codecs: CodecManager,
    *,
    codec: Codec,
    syntax: str,
    dtype: str,
    samples: int,
    bits: int | None,
    shape: tuple[int, int],
) -> None:
    require_backend(codec)
    native = make_frame(dtype, samples, bits=bits, shape=shape)
    assert codec.why_not(native.info, encoding=True) is None
    encoded = codecs.encode(native, syntax, codec=codec.name)
    assert encoded.info.transfer_syntax_uid == dcf.TransferSyntax.resolve(syntax).uid
    decoded = codecs.decode(encoded, codec=codec.name)
    assert_truthful(decoded, native.info)
    assert decoded.info.photometric_interpretation == native.info.photometric_interpretation
    np.testing.assert_array_equal(decoded.data, native.data)


@pytest.mark.parametrize(("codec", "syntax"), LOSSLESS, ids=case_id)
def test_planar_input_is_interleaved_before_encoding(
    codecs: CodecManager, codec: Codec, syntax: str
) -> None:
    require_backend(codec)
    native = make_frame("u1", 3, shape=(9, 11))
    planar = NativeFrame(
        np.ascontiguousarray(native.array.transpose(2, 0, 1)).reshape(-1),
        native.info.replace(planar_configuration=1),
    )
    encoded = codecs.encode(planar, syntax, codec=codec.name)
    assert encoded.info.planar_configuration == 0
    np.testing.assert_array_equal(codecs.decode(encoded, codec=codec.name).array, native.array)


@pytest.mark.parametrize("predictor", range(1, 8))
def test_jpeg_lossless_predictors(codecs: CodecManager, predictor: int) -> None:
    require_backend(JPEG)
    native = make_frame("i2", bits=12, shape=(31, 17))
    encoded = codecs.encode(native, "JPEGLossless", predictor=predictor)
    sos = bytes(encoded.data).index(b"\xff\xda")
    assert bytes(encoded.data)[sos + 7] == predictor  # Ss holds the predictor (H.1.2.1)
    np.testing.assert_array_equal(codecs.decode(encoded).data, native.data)


@pytest.mark.parametrize(
    ("dtype", "bits", "precision"), [("u1", 6, 6), ("u2", 12, 12), ("i2", 8, 9), ("u2", 3, 9)]
)
def test_jpeg_lossless_precision(
    codecs: CodecManager, dtype: str, bits: int, precision: int
) -> None:
    require_backend(JPEG)
    native = make_frame(dtype, bits=bits, shape=(31, 17))
    encoded = codecs.encode(native, "JPEGLosslessSV1")
    assert jpeg_parameters(bytes(encoded.data)).precision == precision
    np.testing.assert_array_equal(codecs.decode(encoded).data, native.data)


def test_jpeg_lossless_sv1_uses_the_first_order_predictor(codecs: CodecManager) -> None:
    require_backend(JPEG)
    encoded = codecs.encode(make_frame("u2", bits=12), "JPEGLosslessSV1", predictor=5)
    sos = bytes(encoded.data).index(b"\xff\xda")
    assert bytes(encoded.data)[sos + 7] == 1


# -- lossy ----------------------------------------------------------------------------------------
LOSSY = [
    # codec, syntax, (dtype, samples, bits), options, photometric encoded, PSNR floor (dB)
    (JPEG, "JPEGBaseline8Bit", ("u1", 1, None), {}, "MONOCHROME2", 45),
    (JPEG, "JPEGBaseline8Bit", ("u1", 3, None), {}, "YBR_FULL_422", 38),
    (JPEG, "JPEGBaseline8Bit", ("u1", 3, None), {"subsampling": "444"}, "YBR_FULL", 40),
    (JPEG, "JPEGExtended12Bit", ("u2", 1, 12), {}, "MONOCHROME2", 60),
    (JPEG, "JPEGExtended12Bit", ("u2", 3, 12), {"quality": 95}, "YBR_FULL_422", 45),
    (J2K, "JPEG2000", ("u2", 1, 12), {}, "MONOCHROME2", 70),
    (J2K, "JPEG2000", ("u1", 3, None), {}, "YBR_ICT", 50),
    (J2K, "JPEG2000MC", ("u1", 3, None), {"psnr": 40}, "YBR_ICT", 37),
    (J2K, "JPEG2000", ("i2", 1, 12), {"psnr": 40}, "MONOCHROME2", 37),
    (HTJ2K, "HTJ2K", ("u2", 1, 12), {}, "MONOCHROME2", 70),
    (HTJ2K, "HTJ2K", ("u1", 3, None), {}, "YBR_ICT", 50),
    (HTJ2K, "HTJ2K", ("u2", 1, 12), {"qstep": 0.01}, "MONOCHROME2", 33),
    (JPEGXL, "JPEGXL", ("u1", 1, None), {}, "MONOCHROME2", 45),
    (JPEGXL, "JPEGXL", ("u2", 1, 12), {}, "MONOCHROME2", 45),
    (JPEGXL, "JPEGXL", ("u2", 1, None), {}, "MONOCHROME2", 45),
    (JPEGXL, "JPEGXL", ("u1", 3, None), {"distance": 1.0, "effort": 7}, "RGB", 38),
    (JPEGXL, "JPEGXLJPEGRecompression", ("u1", 1, None), {}, "MONOCHROME2", 45),
    (JPEGXL, "JPEGXLJPEGRecompression", ("u1", 3, None), {}, "YBR_FULL_422", 38),
]


@pytest.mark.parametrize(("codec", "syntax", "layout", "options", "encoded_as", "floor"), LOSSY)
def test_lossy_round_trip_above_a_psnr_floor(
    with_openjpeg: CodecManager,
    *,
    codec: Codec,
    syntax: str,
    layout: tuple[str, int, int | None],
    options: dict[str, Any],
    encoded_as: str,
    floor: float,
) -> None:
    require_backend(codec)
    dtype, samples, bits = layout
    native = smooth_frame(dtype.replace("i", "u"), samples, bits=bits)
    if dtype.startswith("i"):  # centre the smooth image on zero
        offset = 1 << (native.info.bits_stored - 1)
        info = native.info.replace(pixel_representation=1)
        native = NativeFrame((native.data.astype(np.int32) - offset).astype(info.dtype), info)
    encoded = with_openjpeg.encode(native, syntax, codec=codec.name, **options)
    assert encoded.info.photometric_interpretation == encoded_as
    assert len(encoded) < native.info.bytes_per_frame
    decoder = pylibjpeg.OPENJPEG if syntax == "HTJ2K" else codec  # see with_openjpeg
    require_backend(decoder)
    decoded = with_openjpeg.decode(encoded, codec=decoder.name)
    assert_truthful(decoded, native.info)
    assert decoded.info.photometric_interpretation == native.info.photometric_interpretation
    assert psnr(decoded.array, native.array, native.info.bits_stored) >= floor


@pytest.mark.parametrize(
    ("codec", "syntax", "weaker", "stronger"),
    [
        (J2K, "JPEG2000", {}, {"psnr": 40}),
        (HTJ2K, "HTJ2K", {}, {"qstep": 0.01}),
        (JPEGXL, "JPEGXL", {"distance": 0.5}, {"distance": 3.0}),
        (JPEG, "JPEGBaseline8Bit", {"quality": 95}, {"quality": 50}),
    ],
)
def test_lossy_options_trade_quality_for_size(
    with_openjpeg: CodecManager,
    codec: Codec,
    syntax: str,
    weaker: dict[str, Any],
    stronger: dict[str, Any],
) -> None:
    require_backend(codec)
    native = smooth_frame("u1", 3, shape=(96, 80))
    mild, hard = (
        with_openjpeg.encode(native, syntax, codec=codec.name, **o) for o in (weaker, stronger)
    )
    assert len(hard) < len(mild)
    quality = [psnr(with_openjpeg.decode(e).array, native.array, 8) for e in (mild, hard)]
    assert quality[1] < quality[0]


@pytest.mark.parametrize(("dtype", "bits"), [("u1", None), ("u2", 12), ("i2", 12)])
@pytest.mark.parametrize("error", [1, 4])
def test_jpeg_ls_near_lossless_stays_within_the_error(
    codecs: CodecManager, dtype: str, bits: int | None, error: int
) -> None:
    require_backend(JPEGLS)
    native = make_frame(dtype, bits=bits, shape=(40, 33))
    encoded = codecs.encode(native, "JPEGLSNearLossless", codec=JPEGLS.name, lossy_error=error)
    assert jls_near(bytes(encoded.data)) == error
    difference = np.abs(codecs.decode(encoded).data.astype(np.int64) - native.data.astype(np.int64))
    assert 0 < difference.max() <= error


def test_jpeg_xl_recompression_holds_the_jpeg_it_was_made_from(codecs: CodecManager) -> None:
    """.111: libjxl gives back the baseline JPEG byte for byte; libjpeg decodes it."""
    require_backend(JPEGXL)
    imagecodecs = pytest.importorskip("imagecodecs")
    libjpeg = pytest.importorskip("libjpeg")
    native = smooth_frame("u1", 3)
    encoded = codecs.encode(native, "JPEGXLJPEGRecompression", quality=85)
    jpeg = bytes(imagecodecs.jpegxl_decode_jpeg(bytes(encoded.data), numthreads=1))
    assert jpeg_parameters(jpeg).precision == 8
    baseline = codecs.encode(native, "JPEGBaseline8Bit", quality=85)
    assert jpeg == bytes(baseline.data)  # the same libjpeg-turbo stream, kept losslessly
    ours = codecs.decode(encoded).array.astype(np.int64)
    theirs = codecs.decode(baseline, codec=JPEG.name).array.astype(np.int64)
    assert np.abs(ours - theirs).max() <= 8  # libjxl reconstructs the DCT more precisely
    assert libjpeg.decode(jpeg).shape == native.array.shape


# -- interoperability -----------------------------------------------------------------------------
INTEROP = [
    (JPEG, "JPEGLossless", "pylibjpeg"),
    (JPEG, "JPEGLosslessSV1", "pylibjpeg"),
    (JPEGLS, "JPEGLSLossless", "pylibjpeg"),
    (JPEGLS, "JPEGLSLossless", "pyjpegls"),
    (J2K, "JPEG2000Lossless", "pylibjpeg"),
    (HTJ2K, "HTJ2KLossless", "pylibjpeg"),
    (HTJ2K, "HTJ2KLosslessRPCL", "pylibjpeg"),
]


@pytest.mark.parametrize(("codec", "syntax", "decoder"), INTEROP, ids=case_id)
@pytest.mark.parametrize(("dtype", "samples", "bits"), VARIANTS, ids=str)
def test_other_decoders_read_our_lossless_streams(
    codecs: CodecManager,
    *,
    codec: Codec,
    syntax: str,
    decoder: str,
    dtype: str,
    samples: int,
    bits: int | None,
) -> None:
    """pydicom 3 with another library reads our streams back exactly, under its own sign,
    precision and colour rules (YBR_RCT included)."""
    require_backend(codec)
    pytest.importorskip("libjpeg" if syntax.startswith("JPEG") else "openjpeg")
    native = make_frame(dtype, samples, bits=bits, shape=(31, 17))
    encoded = codecs.encode(native, syntax, codec=codec.name)
    np.testing.assert_array_equal(decode_with_pydicom(encoded, decoder), native.array)


LOSSY_JPEG_LAYOUTS = [
    ("JPEGBaseline8Bit", ("u1", 1, None)),
    ("JPEGBaseline8Bit", ("u1", 3, None)),
    ("JPEGExtended12Bit", ("u2", 1, 12)),
    ("JPEGExtended12Bit", ("u2", 1, 6)),
    ("JPEGExtended12Bit", ("u1", 3, None)),
]
# Pillow decodes 8-bit JPEG only: the 12-bit streams are read by pylibjpeg alone.
LOSSY_JPEG_READERS = [
    (syntax, layout, decoder)
    for syntax, layout in LOSSY_JPEG_LAYOUTS
    for decoder in ("pylibjpeg", "pillow")
    if decoder == "pylibjpeg" or layout[0] == "u1"
]


@pytest.mark.parametrize(("syntax", "layout", "decoder"), LOSSY_JPEG_READERS)
def test_other_decoders_read_our_lossy_jpeg(
    codecs: CodecManager, syntax: str, layout: tuple[str, int, int | None], decoder: str
) -> None:
    require_backend(JPEG)
    pytest.importorskip("libjpeg" if decoder == "pylibjpeg" else "PIL")
    dtype, samples, bits = layout
    native = smooth_frame(dtype, samples, bits=bits)
    # The tolerances of the module docstring were measured at quality 90; at the default (95)
    # one RGB sample in 3,000 differs by 4.
    encoded = codecs.encode(native, syntax, quality=90)
    theirs = decode_with_pydicom(encoded, decoder, as_rgb=True)
    _assert_close(codecs.decode(encoded).array, theirs, 3, mean=0.5)


def test_pyjpegls_and_imagecodecs_read_each_other(codecs: CodecManager) -> None:
    require_backend(JPEGLS)
    require_backend(jpegls.PYJPEGLS)
    codecs.register(jpegls, "jpegls")
    for dtype, bits in (("i2", 12), ("u2", 16), ("u1", 8)):
        native = make_frame(dtype, bits=bits, shape=(31, 17))
        for writer, reader in ((JPEGLS, jpegls.PYJPEGLS), (jpegls.PYJPEGLS, JPEGLS)):
            encoded = codecs.encode(native, "JPEGLSLossless", codec=writer.name)
            decoded = codecs.decode(encoded, codec=reader.name)
            np.testing.assert_array_equal(decoded.data, native.data)


def test_signed_jpeg_ls_is_written_at_the_container_precision(codecs: CodecManager) -> None:
    """imagecodecs sets P from the container: signed patterns fill it, so P-based sign
    extension (pydicom's rule) gives the values back."""
    require_backend(JPEGLS)
    native = make_frame("i2", bits=12, shape=(20, 20))
    encoded = codecs.encode(native, "JPEGLSLossless", codec=JPEGLS.name)
    assert jpeg_parameters(bytes(encoded.data)).precision == 16
    narrow = codecs.encode(make_frame("i2", bits=8), "JPEGLSLossless", codec=JPEGLS.name)
    assert jpeg_parameters(bytes(narrow.data)).precision == 8  # at most 8 bits: 8-bit samples


# -- JPEG 2000 and HTJ2K codestreams --------------------------------------------------------------
def test_j2k_codestream_describes_the_frame(codecs: CodecManager) -> None:
    require_backend(J2K)
    native = make_frame("i2", bits=13, shape=(31, 17))
    encoded = codecs.encode(native, "JPEG2000Lossless")
    stream = j2k_parameters(bytes(encoded.data))
    assert not stream.jp2  # a bare codestream (PS3.5 A.4.4)
    assert (stream.rows, stream.columns, stream.precision, stream.signed) == (31, 17, 13, True)


@pytest.mark.parametrize(
    ("codec", "syntax", "use_mct", "photometric"),
    [
        (J2K, "JPEG2000Lossless", True, "YBR_RCT"),
        (J2K, "JPEG2000Lossless", False, "RGB"),
        (J2K, "JPEG2000", True, "YBR_ICT"),
        (HTJ2K, "HTJ2KLossless", True, "YBR_RCT"),
        (HTJ2K, "HTJ2KLosslessRPCL", False, "RGB"),
        (HTJ2K, "HTJ2K", True, "YBR_ICT"),
    ],
)
def test_mct_is_said_in_the_photometric(
    with_openjpeg: CodecManager, codec: Codec, syntax: str, use_mct: bool, photometric: str
) -> None:
    require_backend(codec)
    native = smooth_frame("u1", 3)
    encoded = with_openjpeg.encode(native, syntax, codec=codec.name, use_mct=use_mct)
    assert encoded.info.photometric_interpretation == photometric
    assert j2k_parameters(bytes(encoded.data)).mct == use_mct
    decoded = with_openjpeg.decode(encoded)
    assert decoded.info.photometric_interpretation == "RGB"


def _main_header(data: bytes) -> tuple[int, int, bool]:
    """(progression order, decompositions, TLM present), read independently of the codec."""
    offset, found = 2, (-1, -1, False)
    while data[offset : offset + 2] not in (b"\xff\x90", b"\xff\x93", b""):
        marker = data[offset + 1]
        if marker == 0x52:
            found = (data[offset + 5], data[offset + 9], found[2])
        elif marker == 0x55:
            found = (found[0], found[1], True)
        offset += 2 + int.from_bytes(data[offset + 2 : offset + 4], "big")
    return found


@pytest.mark.parametrize("shape", [(13, 7), (512, 300), (4100, 9)], ids=str)
def test_htj2k_rpcl_meets_ps3_5(codecs: CodecManager, shape: tuple[int, int]) -> None:
    """PS3.5 10.18: RPCL order, TLM markers, a base resolution of at most 64x64."""
    require_backend(HTJ2K)
    native = make_frame("u2", bits=12, shape=shape)
    encoded = codecs.encode(native, "HTJ2KLosslessRPCL")
    order, levels, tlm = _main_header(bytes(encoded.data))
    assert (order, tlm) == (2, True)
    assert max(-(-shape[0] // 2**levels), -(-shape[1] // 2**levels)) <= 64
    plain = codecs.encode(native, "HTJ2KLossless")
    assert _main_header(bytes(plain.data))[2] is False  # TLM only where it is required
    np.testing.assert_array_equal(codecs.decode(encoded).data, native.data)


# -- refusals -------------------------------------------------------------------------------------
# Limits of the target syntax are declared (encode_check): the codec declines up front.
# Limits of the options or the stream are found while encoding: the codec fails.
@pytest.mark.parametrize(
    ("syntax", "native", "options", "message", "outcome"),
    [
        ("JPEGBaseline8Bit", make_frame("u2", bits=12), {}, "8-bit samples", "declined"),
        ("JPEGBaseline8Bit", make_frame("u2", bits=8), {}, "8-bit samples", "declined"),
        ("JPEGExtended12Bit", make_frame("u2", bits=16), {}, "12-bit samples", "declined"),
        ("JPEGBaseline8Bit", make_frame("i1"), {}, "signed samples", "declined"),
        ("JPEGLossless", make_frame("u1"), {"predictor": 9}, "predictor must be 1..7", "failed"),
        (
            "JPEGBaseline8Bit",
            make_frame("u1", 3),
            {"subsampling": "411"},
            "'422' or '444'",
            "failed",
        ),
        ("JPEGBaseline8Bit", make_frame("u1"), {"quality": 0}, "quality must be 1..100", "failed"),
        (
            "JPEG2000",
            make_frame("u1", photometric="PALETTE COLOR"),
            {},
            "palette indices must be stored losslessly",
            "failed",
        ),
        ("JPEGXLJPEGRecompression", make_frame("u2", bits=12), {}, "8-bit samples", "declined"),
        (
            "JPEGLSLossless",
            make_frame("u1"),
            {"lossy_error": 1},
            "use JPEGLSNearLossless",
            "failed",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_syntax_limits_fail_with_a_reason(
    codecs: CodecManager,
    syntax: str,
    native: NativeFrame,
    options: dict[str, Any],
    message: str,
    outcome: str,
) -> None:
    with pytest.raises(NoCodecError, match=message) as caught:
        codecs.encode(native, syntax, **options)
    assert [a.outcome for a in caught.value.attempts] == [outcome]


@pytest.mark.parametrize(
    ("codec", "info", "encoding", "reason"),
    [
        (
            JPEGXL,
            FrameInfo(rows=8, columns=8, bits_allocated=16, bits_stored=16, pixel_representation=1),
            True,
            None,  # JPEG XL Lossless stores signed values as patterns (test_jpegxl.py)
        ),
        (
            J2K,
            FrameInfo(rows=8, columns=8, samples_per_pixel=3, photometric_interpretation="YBR_ICT"),
            True,
            "Photometric Interpretation YBR_ICT not supported",
        ),
        (
            JPEG,
            FrameInfo(rows=8, columns=8, bits_allocated=32, bits_stored=32),
            False,
            "Bits Allocated 32 not in [8, 16]",
        ),
        (
            HTJ2K,
            FrameInfo(rows=8, columns=8, samples_per_pixel=4, photometric_interpretation="ARGB"),
            False,
            "Samples per Pixel 4 not in [1, 3]",
        ),
        (
            J2K,
            FrameInfo(rows=8, columns=8, bits_allocated=32, bits_stored=32),
            True,
            "Bits Allocated 32 not in [8, 16]",
        ),
        (J2K, FrameInfo(rows=8, columns=8, bits_allocated=32, bits_stored=24), False, None),
    ],
)
def test_capabilities_decline_with_reasons(
    codec: Codec, info: FrameInfo, encoding: bool, reason: str | None
) -> None:
    require_backend(codec)  # extra_check imports imagecodecs
    assert codec.why_not(info, encoding=encoding) == reason


@pytest.mark.parametrize(
    ("codec", "feature", "reason"),
    [
        (HTJ2K, "HTJ2K", "the installed imagecodecs was built without HTJ2K (OpenJPH)"),
        (JPEGXL, "JPEGXL", "the installed imagecodecs was built without JPEG XL (libjxl)"),
        (JPEG, "JPEG8", "the installed imagecodecs was built without JPEG (libjpeg-turbo)"),
    ],
)
def test_a_library_missing_from_the_build_declines(
    codecs: CodecManager, monkeypatch: pytest.MonkeyPatch, codec: Codec, feature: str, reason: str
) -> None:
    require_backend(codec)
    imagecodecs = pytest.importorskip("imagecodecs")
    monkeypatch.setattr(getattr(imagecodecs, feature), "available", False)
    uid = sorted(codec.transfer_syntaxes)[0]
    frame = EncapsulatedFrame([b"\x00"], FrameInfo(rows=8, columns=8, transfer_syntax_uid=uid))
    with pytest.raises(NoCodecError) as caught:
        codecs.decode(frame)
    assert [(a.codec, a.outcome, a.reason) for a in caught.value.attempts] == [
        (codec.name, "declined", reason)
    ]


def test_twelve_bits_without_libjpeg_turbo_3_declines(monkeypatch: pytest.MonkeyPatch) -> None:
    require_backend(JPEG)
    imagecodecs = pytest.importorskip("imagecodecs")
    monkeypatch.setattr(imagecodecs.JPEG8, "all_precisions", False)
    info = FrameInfo(rows=8, columns=8, bits_allocated=16, bits_stored=12, high_bit=11)
    assert "needs libjpeg-turbo 3" in (JPEG.why_not(info) or "")
    assert JPEG.why_not(FrameInfo(rows=8, columns=8)) is None


def test_corrupt_stream_fails_with_a_decode_error(codecs: CodecManager) -> None:
    require_backend(J2K)
    info = FrameInfo(rows=8, columns=8, transfer_syntax_uid="1.2.840.10008.1.2.4.90")
    with pytest.raises(NoCodecError, match="imagecodecs-j2k") as caught:
        codecs.decode(EncapsulatedFrame([b"\xff\x4f\xff\x51\x00"], info))
    assert isinstance(caught.value.attempts[0].error, dcf.DecodeError)


# -- conformance and facts ------------------------------------------------------------------------
# Capabilities hold per codec, not per syntax: the syntaxes with narrower limits (lossy JPEG:
# unsigned, 8 or 12 bits; .111: 8 bits) refuse some of check_codec's sample frames in encode.
CONFORMANCE = [
    (JPEG, {"1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"}),
    (JPEGLS, None),
    (J2K, None),
    (HTJ2K, HTJ2K_SYNTAXES - {"1.2.840.10008.1.2.4.203"}),  # lossy: pylibjpeg-openjpeg decodes
    (JPEGXL, {"1.2.840.10008.1.2.4.110", "1.2.840.10008.1.2.4.112"}),
]


@pytest.mark.parametrize(("codec", "syntaxes"), CONFORMANCE, ids=case_id)
def test_conformance(codec: Codec, syntaxes: set[str] | None) -> None:
    require_backend(codec)
    if syntaxes is not None:
        chosen = frozenset(syntaxes)
        codec = dataclasses.replace(codec, transfer_syntaxes=chosen, encode_syntaxes=chosen)
    report = check_codec(codec)
    assert report.round_trips


def test_codec_facts() -> None:
    # the RLE encoder: test_rle.py; the lossless JPEG decoder: test_imagecodecs_ljpeg.py
    assert plugin.dicomframe_codecs() == [*ALL, plugin.RLE, plugin.LJPEG]
    assert plugin.RLE.modules == ("imagecodecs",)
    assert plugin.RLE.requires == ("imagecodecs>=2024.1.1",)
    assert [c.name for c in ALL] == [
        "imagecodecs-jpeg",
        "imagecodecs-jpegls",
        "imagecodecs-j2k",
        "imagecodecs-htj2k",
        "imagecodecs-jpegxl",
    ]
    for codec in ALL:
        assert codec.priority == 1
        assert codec.modules == ("imagecodecs",)
        assert codec.requires == ("imagecodecs>=2024.1.1",)
        assert codec.extra_check is not None
    progressive = {"1.2.840.10008.1.2.4.53", "1.2.840.10008.1.2.4.55"}
    assert JPEG.transfer_syntaxes == JPEG_SYNTAXES | progressive
    assert JPEG.encode_syntaxes == JPEG_SYNTAXES  # the progressive processes: decoding only
    assert J2K.transfer_syntaxes == J2K_SYNTAXES
    assert HTJ2K.transfer_syntaxes == HTJ2K_SYNTAXES
    assert {s[-3:] for s in JPEGXL.transfer_syntaxes} == {"110", "111", "112"}


def test_pyjpegls_is_tried_before_imagecodecs(codecs: CodecManager) -> None:
    require_backend(jpegls.PYJPEGLS)
    codecs.register(jpegls, "jpegls")
    frame = read_quietly(_reference("MR_small_jpeg_ls_lossless.dcm")).pixel_data[0]
    _, used = codecs.decode_with(frame)
    assert used == "pyjpegls"
    codecs.block("pyjpegls")
    assert codecs.decode_with(frame)[1] == JPEGLS.name


def test_importing_the_plugin_imports_no_backend() -> None:
    code = (
        "import sys, dicomframe.codecs.imagecodecs as m; m.dicomframe_codecs(); "
        "print('imagecodecs' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
