"""pylibjpeg-openjpeg and pylibjpeg-libjpeg: every JPEG / JPEG 2000 / JPEG-LS reference file
against pydicom 3, round trips, sign and precision rules, photometric truth, declines.

Oracle: ``pydicom.pixels.pixel_array(path, index=i, decoding_plugin="pylibjpeg", as_rgb=...)``.
pydicom's pylibjpeg plugin calls the same two backends, so every comparison is EXACT
(``assert_array_equal``), with as_rgb both True (pydicom's default: YBR_FULL/YBR_FULL_422 ->
RGB) and False (the components as libjpeg decodes them).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dicomframe.codecs import pylibjpeg
from dicomframe.codecs._common import HTJ2K_SYNTAXES, J2K_SYNTAXES, j2k_parameters
from dicomframe.core.frame import EncapsulatedFrame, NativeFrame
from dicomframe.core.frame_info import FrameInfo
from dicomframe.errors import CodecUnavailableError, NoCodecError
from dicomframe.plugins import Codec, CodecManager, hookimpl
from dicomframe.testing import check_codec
from tests.codecs.common import case_id, read_quietly, references, require_backend

OPENJPEG, LIBJPEG = pylibjpeg.OPENJPEG, pylibjpeg.LIBJPEG
EXPLICIT_LE = "1.2.840.10008.1.2.1"

# Files no decoder can read, pydicom's included: the assertion is that both refuse them.
UNDECODABLE = {
    # Its SIZ marker holds an embedded (FFFE,E0DD): the image size reads as 4278181344 x 0.
    "JPEG2000-embedded-sequence-delimiter.dcm",
    # libjpeg: "scan start must be zero and scan stop must be 63 for the sequential modes".
    "JPEG-lossy.dcm",
}


REFERENCES = references()
CASES = [(c, p) for c in (OPENJPEG, LIBJPEG) for p, uid in REFERENCES if uid in c.transfer_syntaxes]


@pytest.fixture
def codecs(manager: CodecManager) -> CodecManager:
    manager.register(pylibjpeg, "pylibjpeg")
    return manager


def oracle(path: Path, index: int, *, as_rgb: bool) -> np.ndarray[Any, Any]:
    """pydicom's frame, decoded by its pylibjpeg plugin (the same backends)."""
    import pydicom
    from pydicom.pixels.utils import pixel_array

    options: dict[str, Any] = {"index": index, "decoding_plugin": "pylibjpeg", "as_rgb": as_rgb}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pixel_array(path, **options)
        except ValueError:
            # SC_rgb_jpeg.dcm says Explicit VR but is Implicit: pydicom reads it only as a dataset.
            return pixel_array(pydicom.dcmread(path), **options)


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


# -- every reference file -----------------------------------------------------------------
@pytest.mark.parametrize(("codec", "path"), CASES, ids=case_id)
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
    for index in range(len(pixels)):
        for as_rgb in (True, False):
            frame = codecs.decode(pixels[index], codec=codec.name, as_rgb=as_rgb)
            assert_truthful(frame, pixels.info)
            expected = oracle(path, index, as_rgb=as_rgb)
            assert frame.array.dtype == expected.dtype
            np.testing.assert_array_equal(frame.array, expected)


@pytest.mark.parametrize(
    ("name", "as_rgb", "photometric"),
    [
        # YBR_FULL_422 JPEG: libjpeg upsamples the chroma; RGB, or full-size YBR, never _422.
        ("SC_rgb_dcmtk_+eb+cy+np.dcm", True, "RGB"),
        ("SC_rgb_dcmtk_+eb+cy+np.dcm", False, "YBR_FULL"),
        ("examples_ybr_color.dcm", False, "YBR_FULL"),
        ("SC_rgb_jpeg_dcmtk.dcm", True, "RGB"),
        ("SC_rgb_jpeg_dcmtk.dcm", False, "YBR_FULL"),
        # RGB components with an Adobe APP14 (transform 0) or no marker: RGB either way.
        ("SC_rgb_jpeg_app14_dcmd.dcm", False, "RGB"),
        ("SC_jpeg_no_color_transform.dcm", False, "RGB"),
        # J2K with the reversible MCT: OpenJPEG undoes it.
        ("examples_jpeg2k.dcm", False, "RGB"),
        ("GDCMJ2K_TextGBR.dcm", True, "RGB"),
        ("MR_small_jp2klossless.dcm", True, "MONOCHROME2"),
    ],
)
def test_photometric_says_what_was_decoded(
    codecs: CodecManager, name: str, as_rgb: bool, photometric: str
) -> None:
    path = next(p for p, _ in REFERENCES if p.name == name)
    pixels = read_quietly(path).pixel_data
    codec = OPENJPEG if pixels.info.transfer_syntax_uid in J2K_SYNTAXES else LIBJPEG
    require_backend(codec)
    frame = codecs.decode(pixels[0], as_rgb=as_rgb)
    assert frame.info.photometric_interpretation == photometric
    assert_truthful(frame, pixels.info)


# -- JPEG 2000 sign and precision -----------------------------------------------------------
def _j2k(values: np.ndarray[Any, Any], bits: int, *, signed: bool) -> bytes:
    """A JPEG 2000 codestream of ``values`` with the given precision and signedness."""
    from openjpeg.utils import encode_buffer

    rows, columns = values.shape[:2]
    samples = values.shape[2] if values.ndim == 3 else 1
    return bytes(encode_buffer(values.tobytes(), columns, rows, samples, bits, signed))


def _encapsulated(data: bytes, **info: Any) -> EncapsulatedFrame:
    info.setdefault("transfer_syntax_uid", "1.2.840.10008.1.2.4.90")
    return EncapsulatedFrame([data], FrameInfo(**info))


def test_unsigned_stream_with_signed_dataset_is_sign_extended(codecs: CodecManager) -> None:
    require_backend(OPENJPEG)
    signed = np.array([[-2000, -1, 0, 1895] * 8] * 32, dtype=np.int16)
    patterns = (signed.astype(np.int32) & 0x1FFF).astype(np.uint16)  # 13-bit two's complement
    stream = _j2k(patterns, 13, signed=False)
    assert not j2k_parameters(stream).signed
    frame = codecs.decode(
        _encapsulated(
            stream,
            rows=32,
            columns=32,
            bits_allocated=16,
            bits_stored=13,
            high_bit=12,
            pixel_representation=1,
        )
    )
    assert frame.data.dtype == np.int16
    np.testing.assert_array_equal(frame.array, signed)


def test_signed_stream_with_unsigned_dataset_keeps_the_bit_patterns(codecs: CodecManager) -> None:
    require_backend(OPENJPEG)
    signed = np.array([[-2000, -1, 0, 2047] * 8] * 32, dtype=np.int16)
    stream = _j2k(signed, 12, signed=True)
    assert j2k_parameters(stream).signed
    frame = codecs.decode(
        _encapsulated(stream, rows=32, columns=32, bits_allocated=16, bits_stored=12, high_bit=11)
    )
    assert frame.data.dtype == np.uint16
    np.testing.assert_array_equal(frame.array, signed.astype(np.int32) & 0xFFF)


def test_narrow_stream_widens_to_bits_allocated(codecs: CodecManager) -> None:
    require_backend(OPENJPEG)
    values = np.arange(32 * 40, dtype=np.uint16).reshape(32, 40) % 256
    stream = _j2k(values.astype(np.uint8), 8, signed=False)
    frame = codecs.decode(
        _encapsulated(stream, rows=32, columns=40, bits_allocated=16, bits_stored=8, high_bit=7)
    )
    assert frame.data.dtype == np.uint16
    np.testing.assert_array_equal(frame.array, values)


def test_stream_wider_than_bits_allocated_fails_and_says_why(codecs: CodecManager) -> None:
    require_backend(OPENJPEG)
    stream = _j2k(np.full((32, 32), 1000, dtype=np.uint16), 16, signed=False)
    with pytest.raises(NoCodecError, match="precision 16 exceeds Bits Allocated 8"):
        codecs.decode(_encapsulated(stream, rows=32, columns=32))


def test_stream_of_another_size_fails_and_says_why(codecs: CodecManager) -> None:
    require_backend(OPENJPEG)
    stream = _j2k(np.zeros((32, 40), dtype=np.uint8), 8, signed=False)
    with pytest.raises(NoCodecError, match="codestream is 40x32; the dataset says 40x33"):
        codecs.decode(_encapsulated(stream, rows=33, columns=40))


# -- HTJ2K ----------------------------------------------------------------------------------
@pytest.mark.parametrize("uid", sorted(HTJ2K_SYNTAXES))
@pytest.mark.parametrize(
    ("dtype", "samples"), [("u1", 1), ("i1", 1), ("u2", 1), ("i2", 1), ("u1", 3)]
)
def test_htj2k_decodes_bit_exact(codecs: CodecManager, uid: str, dtype: str, samples: int) -> None:
    """HTJ2K streams made by OpenJPH (through imagecodecs), decoded by OpenJPEG."""
    require_backend(OPENJPEG)
    imagecodecs = pytest.importorskip("imagecodecs")
    if not imagecodecs.HTJ2K.available:
        pytest.skip("imagecodecs was built without HTJ2K")
    limits = np.iinfo(dtype)
    shape = (20, 30, samples) if samples > 1 else (20, 30)
    values = np.random.default_rng(7).integers(limits.min, limits.max, shape, endpoint=True)
    values = values.astype(dtype)
    bits = values.dtype.itemsize * 8
    frame = codecs.decode(
        _encapsulated(
            bytes(imagecodecs.htj2k_encode(values, reversible=True)),
            rows=20,
            columns=30,
            samples_per_pixel=samples,
            bits_allocated=bits,
            bits_stored=bits,
            high_bit=bits - 1,
            pixel_representation=int(dtype[0] == "i"),
            photometric_interpretation="RGB" if samples == 3 else "MONOCHROME2",
            transfer_syntax_uid=uid,
        )
    )
    np.testing.assert_array_equal(frame.array, values)


# -- encoding -------------------------------------------------------------------------------
def _native(dtype: str, samples: int, *, bits: int | None = None, rows: int = 40) -> NativeFrame:
    kind = np.dtype(dtype)
    allocated = kind.itemsize * 8
    stored = bits or allocated
    signed = kind.kind == "i"
    low, high = (
        (-(1 << (stored - 1)), (1 << (stored - 1)) - 1) if signed else (0, (1 << stored) - 1)
    )
    info = FrameInfo(
        rows=rows,
        columns=37,
        samples_per_pixel=samples,
        bits_allocated=allocated,
        bits_stored=stored,
        high_bit=stored - 1,
        pixel_representation=int(signed),
        photometric_interpretation="RGB" if samples == 3 else "MONOCHROME2",
    )
    rng = np.random.default_rng(stored * samples)
    data = rng.integers(low, high, info.values_per_frame, endpoint=True).astype(info.dtype)
    return NativeFrame(data, info)


LOSSLESS = [
    (dtype, samples, bits)
    for dtype in ("u1", "i1", "u2", "i2")
    for samples in (1, 3)
    for bits in (None, 12)
    if not (bits and dtype.endswith("1"))
] + [("u4", 1, 24), ("i4", 1, 24), ("i4", 3, 20)]


@pytest.mark.parametrize(("dtype", "samples", "bits"), LOSSLESS)
@pytest.mark.parametrize("use_mct", [True, False])
def test_j2k_lossless_round_trip_is_bit_exact(
    codecs: CodecManager, dtype: str, samples: int, bits: int | None, use_mct: bool
) -> None:
    require_backend(OPENJPEG)
    native = _native(dtype, samples, bits=bits)
    encoded = codecs.encode(native, "JPEG2000Lossless", use_mct=use_mct)
    assert encoded.info.transfer_syntax_uid == "1.2.840.10008.1.2.4.90"
    stream = j2k_parameters(bytes(encoded.data))
    assert (stream.precision, stream.signed) == (native.info.bits_stored, dtype[0] == "i")
    expected = "YBR_RCT" if samples == 3 and use_mct else native.info.photometric_interpretation
    assert encoded.info.photometric_interpretation == expected
    assert stream.mct == (expected == "YBR_RCT")
    decoded = codecs.decode(encoded)
    assert decoded.info.photometric_interpretation == native.info.photometric_interpretation
    assert_truthful(decoded, native.info)
    np.testing.assert_array_equal(decoded.data, native.data)


def test_planar_input_is_interleaved_before_encoding(codecs: CodecManager) -> None:
    require_backend(OPENJPEG)
    native = _native("u1", 3)
    planar = NativeFrame(
        np.ascontiguousarray(native.array.transpose(2, 0, 1)).reshape(-1),
        native.info.replace(planar_configuration=1),
    )
    decoded = codecs.decode(codecs.encode(planar, "JPEG2000Lossless"))
    np.testing.assert_array_equal(decoded.array, native.array)


def _psnr(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any], peak: float) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


def _smooth_rgb(rows: int = 96, columns: int = 128) -> NativeFrame:
    y, x = np.mgrid[0:rows, 0:columns]
    rgb = np.stack([x * 2, y * 2, x + y], axis=-1).astype(np.uint8)
    info = FrameInfo(
        rows=rows, columns=columns, samples_per_pixel=3, photometric_interpretation="RGB"
    )
    return NativeFrame(rgb.reshape(-1), info)


@pytest.mark.parametrize(
    "options", [{}, {"compression_ratios": [20]}, {"signal_noise_ratios": [40.0]}], ids=str
)
def test_j2k_lossy_round_trip_says_ybr_ict(codecs: CodecManager, options: dict[str, Any]) -> None:
    require_backend(OPENJPEG)
    native = _smooth_rgb()
    encoded = codecs.encode(native, "JPEG2000", **options)
    assert encoded.info.photometric_interpretation == "YBR_ICT"
    assert len(encoded) < native.info.bytes_per_frame / 5
    decoded = codecs.decode(encoded)
    assert decoded.info.photometric_interpretation == "RGB"
    assert _psnr(decoded.array, native.array, 255) > 30


def test_j2k_lossless_refuses_lossy_options(codecs: CodecManager) -> None:
    require_backend(OPENJPEG)
    with pytest.raises(NoCodecError, match="use JPEG2000"):
        codecs.encode(_native("u1", 1), "JPEG2000Lossless", compression_ratios=[10])


@pytest.mark.parametrize(
    ("syntax", "rows", "message", "outcomes"),
    [
        # OpenJPEG decodes HTJ2K but does not claim to encode it: nothing to try.
        ("HTJ2KLossless", 40, "no installed codec handles HTJ2KLossless", []),
        # Its encoder's minimum size is declared, so it declines with the reason.
        ("JPEG2000Lossless", 16, "frames under 32x32 not supported", ["declined"]),
    ],
)
def test_encode_limits_are_declared(
    codecs: CodecManager, syntax: str, rows: int, message: str, outcomes: list[str]
) -> None:
    require_backend(OPENJPEG)
    with pytest.raises(NoCodecError, match=message) as caught:
        codecs.encode(_native("u1", 1, rows=rows), syntax)
    assert [a.outcome for a in caught.value.attempts] == outcomes


def test_encode_refuses_values_outside_bits_stored(codecs: CodecManager) -> None:
    require_backend(OPENJPEG)
    info = FrameInfo(rows=32, columns=32, bits_allocated=16, bits_stored=12, high_bit=11)
    frame = NativeFrame(np.full(32 * 32, 5000, dtype=np.uint16), info)
    with pytest.raises(NoCodecError, match=r"do not fit Bits Stored 12"):
        codecs.encode(frame, "JPEG2000Lossless")


# -- capabilities, availability, blocking -------------------------------------------------
@pytest.mark.parametrize(
    ("codec", "info", "encoding", "reason"),
    [
        (
            LIBJPEG,
            FrameInfo(rows=8, columns=8, bits_allocated=32, bits_stored=32),
            False,
            "Bits Allocated 32 not in [8, 16]",
        ),
        (
            LIBJPEG,
            FrameInfo(rows=8, columns=8, samples_per_pixel=4, photometric_interpretation="ARGB"),
            False,
            "Samples per Pixel 4 not in [1, 3]",
        ),
        (
            OPENJPEG,
            FrameInfo(rows=8, columns=8, bits_allocated=32, bits_stored=32),
            True,
            "Bits Stored 32 above 24",
        ),
        (
            OPENJPEG,
            FrameInfo(
                rows=8, columns=8, samples_per_pixel=3, photometric_interpretation="YBR_FULL_422"
            ),
            True,
            "Photometric Interpretation YBR_FULL_422 not supported",
        ),
        (OPENJPEG, FrameInfo(rows=8, columns=8, bits_allocated=32, bits_stored=32), False, None),
    ],
)
def test_capabilities_decline_with_reasons(
    codec: Codec, info: FrameInfo, encoding: bool, reason: str | None
) -> None:
    assert codec.why_not(info, encoding=encoding) == reason


def test_declined_frame_is_listed_in_no_codec_error(codecs: CodecManager) -> None:
    info = FrameInfo(
        rows=8,
        columns=8,
        bits_allocated=32,
        bits_stored=32,
        transfer_syntax_uid="1.2.840.10008.1.2.4.70",
    )
    with pytest.raises(NoCodecError) as caught:
        codecs.decode(EncapsulatedFrame([b"\xff\xd8\xff\xd9"], info))
    assert [(a.codec, a.outcome) for a in caught.value.attempts] == [(LIBJPEG.name, "declined")]
    assert "Bits Allocated 32 not in [8, 16]" in str(caught.value)


def _j2k_reference() -> EncapsulatedFrame:
    path = next(p for p, _ in REFERENCES if p.name == "MR_small_jp2klossless.dcm")
    return read_quietly(path).pixel_data[0]  # type: ignore[no-any-return]


def test_blocked_backend_is_listed_in_no_codec_error(codecs: CodecManager) -> None:
    codecs.block(OPENJPEG.name)
    with pytest.raises(NoCodecError) as caught:
        codecs.decode(_j2k_reference())
    error = caught.value
    assert [(a.codec, a.outcome) for a in error.attempts] == [(OPENJPEG.name, "blocked")]
    assert "pylibjpeg-openjpeg  blocked" in str(error)
    assert "JPEG2000Lossless (1.2.840.10008.1.2.4.90)" in str(error)


def test_blocked_per_call_by_plugin_name(codecs: CodecManager) -> None:
    with pytest.raises(NoCodecError) as caught:
        codecs.decode(_j2k_reference(), block=["pylibjpeg"])
    assert [a.outcome for a in caught.value.attempts] == ["blocked"]


class _Missing:
    """The pylibjpeg codecs as they look where their backends are not installed."""

    @hookimpl
    def dicomframe_codecs(self) -> list[Codec]:
        return [
            dataclasses.replace(c, modules=(f"{c.modules[0]}_not_installed",))
            for c in (OPENJPEG, LIBJPEG)
        ]


def test_missing_backend_gives_the_install_hint(manager: CodecManager) -> None:
    manager.register(_Missing(), "pylibjpeg")
    with pytest.raises(NoCodecError) as caught:
        manager.decode(_j2k_reference())
    error = caught.value
    assert [(a.codec, a.outcome) for a in error.attempts] == [(OPENJPEG.name, "unavailable")]
    assert 'pip install "pylibjpeg-openjpeg>=2.3"' in str(error)
    assert "install one of: pylibjpeg-openjpeg>=2.3" in str(error)
    with pytest.raises(CodecUnavailableError) as named:
        manager.decode(_j2k_reference(), codec=OPENJPEG.name)
    assert named.value.requires == ("pylibjpeg-openjpeg>=2.3",)


def test_codec_facts() -> None:
    assert (OPENJPEG.priority, LIBJPEG.priority) == (0, -10)  # GPL libjpeg goes last
    assert OPENJPEG.requires == ("pylibjpeg-openjpeg>=2.3",)
    assert LIBJPEG.requires == ("pylibjpeg-libjpeg>=2.1",)
    assert LIBJPEG.encode is None
    assert "GPL-3.0" in (pylibjpeg.__doc__ or "")
    assert pylibjpeg.dicomframe_codecs() == [OPENJPEG, LIBJPEG]


def test_importing_the_plugin_imports_no_backend() -> None:
    code = (
        "import sys, dicomframe.codecs.pylibjpeg as m; m.dicomframe_codecs(); "
        "print(sorted(n for n in ('openjpeg', 'libjpeg', 'pylibjpeg', 'PIL') if n in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- dicomframe.testing.check_codec -------------------------------------------------------
def test_libjpeg_passes_the_conformance_checks() -> None:
    require_backend(LIBJPEG)
    samples = [
        read_quietly(p).pixel_data[0]
        for p, uid in REFERENCES
        if uid in LIBJPEG.transfer_syntaxes and p.name not in UNDECODABLE
    ]
    report = check_codec(LIBJPEG, samples=samples)
    assert len(report.decoded) == len(samples) > 20


def test_openjpeg_passes_the_conformance_checks() -> None:
    require_backend(OPENJPEG)
    check_codec(OPENJPEG)
