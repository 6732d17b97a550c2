"""JPEG XL Lossless of signed frames and of PALETTE COLOR indices (``imagecodecs-jpegxl``).

Round trips are EXACT. The stream is also checked as another library's decoder sees it:
libjxl's own output, read without dicomframe's codec, holds each signed value as its Bits
Stored-bit two's complement pattern (the scheme in
:mod:`dicomframe.codecs.imagecodecs.jpegxl`), which both rules other DICOM toolkits apply
give back: sign extension from Bits Stored (pydicom's rule for JPEG, dicomframe's), and,
where Bits Stored fills the container, the container's bit pattern as it is. No second JPEG
XL decoder is installed, so that is as independent as the check can be here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.codecs import imagecodecs as plugin
from dicomframe.core.frame import NativeFrame
from dicomframe.errors import EncodeError, NoCodecError
from dicomframe.plugins import CodecManager
from tests.codecs.common import read_quietly, require_backend
from tests.codecs.test_jpegls import REFERENCES, assert_truthful, make_frame

Array = np.ndarray[Any, Any]
JPEGXL = plugin.JPEGXL_CODEC
SIGNED = [("i1", None), ("i1", 6), ("i2", None), ("i2", 12), ("i2", 8), ("i2", 2)]
SHAPES = [(13, 7), (1, 1), (31, 17)]


@pytest.fixture
def codecs(manager: CodecManager) -> CodecManager:
    manager.register(plugin, "imagecodecs")
    return manager


def libjxl_samples(data: bytes) -> Array:
    """The samples as libjxl gives them to any caller: no DICOM rule applied."""
    import imagecodecs

    samples = imagecodecs.jpegxl_decode(data)
    return samples[..., 0] if samples.ndim == 3 and samples.shape[-1] == 1 else samples


def sign_extended(patterns: Array, bits: int, dtype: np.dtype[Any]) -> Array:
    """Patterns read as Pixel Representation 1 says, from Bits Stored (pydicom's JPEG rule)."""
    wide = patterns.astype(np.int64)
    return np.where(wide >= 1 << (bits - 1), wide - (1 << bits), wide).astype(dtype)


# -- signed frames ----------------------------------------------------------------------------
@pytest.mark.parametrize(("dtype", "bits"), SIGNED, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_signed_frames_round_trip_exactly(
    codecs: CodecManager, dtype: str, bits: int | None, shape: tuple[int, int]
) -> None:
    require_backend(JPEGXL)
    native = make_frame(dtype, bits=bits, shape=shape)
    assert native.data.min() < 0  # the frame crosses zero
    encoded = codecs.encode(native, "JPEGXLLossless", codec=JPEGXL.name)
    decoded = codecs.decode(encoded, codec=JPEGXL.name)
    assert_truthful(decoded, native.info)
    assert decoded.data.dtype == native.data.dtype
    np.testing.assert_array_equal(decoded.data, native.data)


@pytest.mark.parametrize(("dtype", "bits"), SIGNED, ids=str)
def test_the_stream_holds_two_complement_patterns(
    codecs: CodecManager, dtype: str, bits: int | None
) -> None:
    require_backend(JPEGXL)
    native = make_frame(dtype, bits=bits, shape=(31, 17))
    stored = native.info.bits_stored
    encoded = codecs.encode(native, "JPEGXLLossless", codec=JPEGXL.name)
    samples = libjxl_samples(bytes(encoded.data))
    assert samples.dtype.kind == "u"
    unsigned = native.array.view(native.array.dtype.str.replace("i", "u"))
    np.testing.assert_array_equal(samples, unsigned & ((1 << stored) - 1))
    np.testing.assert_array_equal(sign_extended(samples, stored, native.info.dtype), native.array)
    if stored == native.info.bits_allocated:  # the container's bit pattern is the value
        np.testing.assert_array_equal(samples.view(native.info.dtype), native.array)


@pytest.mark.parametrize("name", ["ct_explicit_le.dcm", "MR_small.dcm", "693_J2KI.dcm"])
def test_signed_files_transcode_losslessly(name: str, tmp_path: Path) -> None:
    require_backend(JPEGXL)
    path = next(p for p, _ in REFERENCES if p.name == name)
    source = read_quietly(path)
    expected = source.pixel_array
    assert source.pixel_data.info.pixel_representation == 1
    result = dcf.transcode(source, "JPEGXLLossless")  # verified against the source as well
    dcf.write(result, tmp_path / "jxl.dcm")
    back = dcf.read(tmp_path / "jxl.dcm")
    assert back.transfer_syntax == dcf.TransferSyntax.resolve("JPEGXLLossless")
    assert int(back.PixelRepresentation) == 1
    np.testing.assert_array_equal(back.pixel_array, expected)


# -- PALETTE COLOR ------------------------------------------------------------------------------
@pytest.mark.parametrize(("dtype", "bits"), [("u1", None), ("u2", None), ("u2", 12)], ids=str)
def test_palette_indices_round_trip_as_indices(
    codecs: CodecManager, dtype: str, bits: int | None
) -> None:
    require_backend(JPEGXL)
    native = make_frame(dtype, bits=bits, shape=(31, 17), photometric="PALETTE COLOR")
    encoded = codecs.encode(native, "JPEGXLLossless", codec=JPEGXL.name)
    assert encoded.info.photometric_interpretation == "PALETTE COLOR"
    np.testing.assert_array_equal(libjxl_samples(bytes(encoded.data)), native.array)  # grey
    decoded = codecs.decode(encoded, codec=JPEGXL.name)
    assert decoded.info.photometric_interpretation == "PALETTE COLOR"
    np.testing.assert_array_equal(decoded.data, native.data)


def test_a_palette_file_transcodes_with_its_palette(tmp_path: Path) -> None:
    require_backend(JPEGXL)
    path = next(p for p, _ in REFERENCES if p.name == "examples_palette.dcm")
    source = read_quietly(path)
    result = dcf.transcode(source, "JPEGXLLossless")
    dcf.write(result, tmp_path / "palette.dcm")
    back = dcf.read(tmp_path / "palette.dcm")
    assert back.PhotometricInterpretation == "PALETTE COLOR"
    for keyword in ("RedPaletteColorLookupTableData", "RedPaletteColorLookupTableDescriptor"):
        assert back[keyword].value == source[keyword].value
    np.testing.assert_array_equal(back.pixel_array, source.pixel_array)


# -- what the lossy syntaxes refuse ---------------------------------------------------------------
REFUSALS = [
    ("JPEGXL", make_frame("i2", bits=12), "signed samples are stored as two's complement"),
    ("JPEGXLJPEGRecompression", make_frame("i1"), "signed samples cannot be lossy JPEG"),
    ("JPEGXL", make_frame("u1", photometric="PALETTE COLOR"), "palette indices"),
    ("JPEGXLJPEGRecompression", make_frame("u1", photometric="PALETTE COLOR"), "palette indices"),
]


@pytest.mark.parametrize(("syntax", "native", "message"), REFUSALS)
def test_lossy_syntaxes_decline_signed_and_palette_frames(
    codecs: CodecManager, syntax: str, native: NativeFrame, message: str
) -> None:
    require_backend(JPEGXL)
    with pytest.raises(NoCodecError, match=message) as caught:
        codecs.encode(native, syntax)
    assert [a.outcome for a in caught.value.attempts] == ["declined"]
    assert JPEGXL.encode is not None
    with pytest.raises(EncodeError, match=message):  # called directly, the codec refuses too
        JPEGXL.encode(native, dcf.TransferSyntax.resolve(syntax))
