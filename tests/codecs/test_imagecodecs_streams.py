"""The imagecodecs codecs where the backend's own behaviour needs our help.

- JPEG Lossless of YCbCr samples: libjpeg-turbo writes untransformed samples with
  R G B component IDs and an Adobe marker, which says RGB; the codec relabels the
  stream (IDs 1 2 3, no APP14) as DCMTK and GDCM write YBR_FULL, and a lossless
  YCbCr stream decodes without asking libjpeg-turbo for a colour conversion it
  cannot make in the lossless process.
- HTJ2K without the colour transform: OpenJPH gives the components as planes.
- Lossy HTJ2K: OpenJPH wraps the 9-7 wavelet's overshoot at the container's
  edges (255 + 1 -> 0), so the codec refuses irreversible codestreams and the
  registry moves on to pylibjpeg-openjpeg.
- Lossy JPEG of samples narrower than P (6 bits coded at P = 8): a decoded value a step
  above the largest one is clipped, not re-read at Bits Stored (64 would wrap to 0), and
  YCbCr is converted at P, as libjpeg-turbo converts it (codecs/_jpeg.py).

Files made by DCMTK (``dcmcjpeg``) and GDCM (``gdcmconv``) are decoded next to our own.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import dicomframe as dcf
from dicomframe.codecs import imagecodecs as plugin
from dicomframe.codecs import pillow, pylibjpeg
from dicomframe.codecs._common import j2k_parameters, jpeg_parameters
from dicomframe.codecs.imagecodecs.jpeg import as_ycbcr
from dicomframe.color import ybr_to_rgb
from dicomframe.core.frame import NativeFrame
from dicomframe.errors import DecodeError, NoCodecError
from dicomframe.plugins import CodecManager
from tests.codecs.common import require_backend
from tests.codecs.test_jpegls import make_frame, psnr, smooth_frame
from tests.reference import require_tool

JPEG, HTJ2K = plugin.JPEG, plugin.HTJ2K
LIBJPEG, OPENJPEG = pylibjpeg.LIBJPEG, pylibjpeg.OPENJPEG


@pytest.fixture
def codecs(manager: CodecManager) -> CodecManager:
    manager.register(plugin, "imagecodecs")
    manager.register(pylibjpeg, "pylibjpeg")
    return manager


def ybr_frame(dtype: str = "u1", bits: int | None = None, shape: tuple[int, int] = (13, 7)) -> Any:
    return make_frame(dtype, 3, bits=bits, shape=shape, noise=True, photometric="YBR_FULL")


# -- JPEG Lossless of YCbCr ---------------------------------------------------------------
YBR_LAYOUTS = [("u1", None), ("u2", 12), ("u2", 16)]


@pytest.mark.parametrize("syntax", ["JPEGLossless", "JPEGLosslessSV1"])
@pytest.mark.parametrize(("dtype", "bits"), YBR_LAYOUTS, ids=str)
def test_lossless_ycbcr_is_labelled_ycbcr(
    codecs: CodecManager, syntax: str, dtype: str, bits: int | None
) -> None:
    require_backend(JPEG)
    source = ybr_frame(dtype, bits)
    encoded = codecs.encode(source, syntax, codec=JPEG.name)
    stream = jpeg_parameters(bytes(encoded.data))
    assert stream.lossless
    assert stream.component_ids == (1, 2, 3)
    assert stream.adobe_transform is None
    assert encoded.info.photometric_interpretation == "YBR_FULL"
    for decoder in (JPEG, LIBJPEG):
        require_backend(decoder)
        kept = codecs.decode(encoded, codec=decoder.name, as_rgb=False)
        assert kept.info.photometric_interpretation == "YBR_FULL"
        np.testing.assert_array_equal(kept.array, source.array)
        converted = codecs.decode(encoded, codec=decoder.name)
        assert converted.info.photometric_interpretation == "RGB"
        expected = ybr_to_rgb(source.array, bits=source.info.bits_stored)
        np.testing.assert_array_equal(converted.array, expected)


def test_lossless_rgb_keeps_its_rgb_markers(codecs: CodecManager) -> None:
    require_backend(JPEG)
    source = make_frame("u1", 3, noise=True)
    encoded = codecs.encode(source, "JPEGLosslessSV1", codec=JPEG.name)
    stream = jpeg_parameters(bytes(encoded.data))
    assert stream.component_ids == tuple(b"RGB")
    assert stream.adobe_transform == 0
    decoded = codecs.decode(encoded, codec=LIBJPEG.name)
    assert decoded.info.photometric_interpretation == "RGB"
    np.testing.assert_array_equal(decoded.array, source.array)


def test_relabelling_keeps_the_entropy_coded_data() -> None:
    imagecodecs = pytest.importorskip("imagecodecs")
    values = ybr_frame().array
    stream = bytes(
        imagecodecs.jpeg8_encode(
            values, lossless=True, colorspace="RGB", outcolorspace="RGB", bitspersample=8
        )
    )
    relabelled = as_ycbcr(stream)
    app14 = stream.index(b"\xff\xee")
    app14_size = 2 + int.from_bytes(stream[app14 + 2 : app14 + 4], "big")
    assert len(relabelled) == len(stream) - app14_size
    scan = stream.index(b"\xff\xda")
    scan_header = 2 + int.from_bytes(stream[scan + 2 : scan + 4], "big")
    entropy = stream[scan + 2 + scan_header :]
    assert relabelled.endswith(entropy)
    assert jpeg_parameters(relabelled).component_ids == (1, 2, 3)


def _native_ybr_file(path: Path, source: NativeFrame) -> Path:
    ds = dcf.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.set_pixel_data(source.array, "ExplicitVRLittleEndian", photometric_interpretation="YBR_FULL")
    dcf.write(ds, path)
    return path


PEERS = {
    "dcmcjpeg": lambda src, dst: [require_tool("dcmcjpeg"), "+e1", src, dst],
    "gdcmconv": lambda src, dst: [require_tool("gdcmconv"), "-J", src, dst],
}


@pytest.mark.parametrize("peer", PEERS)
def test_peer_lossless_ycbcr_decodes(codecs: CodecManager, peer: str, tmp_path: Path) -> None:
    """DCMTK and GDCM write YBR_FULL as IDs 1 2 3; every decoder keeps or converts it alike."""
    require_backend(JPEG)
    require_backend(LIBJPEG)
    source = ybr_frame(shape=(16, 24))
    native = _native_ybr_file(tmp_path / "native.dcm", source)
    out = tmp_path / "peer.dcm"
    subprocess.run(PEERS[peer](str(native), str(out)), check=True, capture_output=True)
    frame = dcf.read(out).pixel_data[0]
    assert dcf.TransferSyntax.resolve(frame.info.transfer_syntax_uid).keyword.startswith("JPEGL")
    assert jpeg_parameters(bytes(frame.data)).component_ids == (1, 2, 3)
    ours = codecs.decode(frame, codec=JPEG.name)
    theirs = codecs.decode(frame, codec=LIBJPEG.name)
    assert ours.info.photometric_interpretation == theirs.info.photometric_interpretation == "RGB"
    np.testing.assert_array_equal(ours.array, theirs.array)
    kept = codecs.decode(frame, codec=JPEG.name, as_rgb=False)
    np.testing.assert_array_equal(kept.array, source.array)


# -- HTJ2K without the colour transform -------------------------------------------------------
@pytest.mark.parametrize("photometric", ["YBR_FULL", "RGB"])
@pytest.mark.parametrize("shape", [(13, 7), (3, 3), (3, 5)], ids=str)
def test_htj2k_without_mct_decodes_interleaved(
    codecs: CodecManager, photometric: str, shape: tuple[int, int]
) -> None:
    require_backend(HTJ2K)
    source = make_frame("u1", 3, shape=shape, noise=True, photometric=photometric)
    encoded = codecs.encode(source, "HTJ2KLossless", codec=HTJ2K.name, use_mct=False)
    assert not j2k_parameters(bytes(encoded.data)).mct
    for decoder in (HTJ2K, OPENJPEG):
        require_backend(decoder)
        decoded = codecs.decode(encoded, codec=decoder.name, as_rgb=False)
        np.testing.assert_array_equal(decoded.array, source.array)


# -- lossy HTJ2K at the edges of the sample range ---------------------------------------------
def _checkerboard(dtype: str, bits: int) -> NativeFrame:
    """Squares of the lowest and highest value: the 9-7 wavelet overshoots both."""
    frame = make_frame(dtype, bits=bits, shape=(64, 64))
    rows, columns = np.mgrid[0:64, 0:64]
    high = (1 << bits) - 1
    values = np.where((rows // 8 + columns // 8) % 2 == 0, high, 0).astype(frame.data.dtype)
    return NativeFrame(values.reshape(-1), frame.info)


@pytest.mark.parametrize(("dtype", "bits"), [("u1", 8), ("u2", 12), ("u2", 16)], ids=str)
def test_lossy_htj2k_goes_to_openjpeg(codecs: CodecManager, dtype: str, bits: int) -> None:
    require_backend(HTJ2K)
    require_backend(OPENJPEG)
    source = _checkerboard(dtype, bits)
    encoded = codecs.encode(source, "HTJ2K", codec=HTJ2K.name)
    assert not j2k_parameters(bytes(encoded.data)).reversible
    with pytest.raises(NoCodecError) as caught:
        codecs.decode(encoded, codec=HTJ2K.name)
    (attempt,) = caught.value.attempts
    assert isinstance(attempt.error, DecodeError)
    assert "wraps" in str(attempt.error)
    decoded, used = codecs.decode_with(encoded)
    assert used == OPENJPEG.name
    error = np.abs(decoded.array.astype(np.int64) - source.array.astype(np.int64))
    assert error.max() <= 1 << (bits - 6)  # near, never wrapped round


# -- lossy JPEG below the stream's precision ---------------------------------------------------
@pytest.mark.parametrize("decoder", ["imagecodecs-jpeg", "pillow", "pylibjpeg-libjpeg"])
def test_lossy_overshoot_is_clipped_to_bits_stored(codecs: CodecManager, decoder: str) -> None:
    codecs.register(pillow, "pillow")
    require_backend(JPEG)
    x = np.mgrid[0:32, 0:40][1]
    values = np.where(x < 20, 63, np.clip(x * 3, 0, 63)).astype(np.uint8)
    values[::4, ::4] = 0  # edges next to the largest value: the IDCT overshoots them
    native = make_frame("u1", bits=6, shape=(32, 40))
    native = NativeFrame(values.reshape(-1), native.info)
    encoded = codecs.encode(native, "JPEGBaseline8Bit", codec=JPEG.name)
    decoded = codecs.decode(encoded, codec=decoder).array.astype(np.int64)
    assert decoded.max() == 63
    assert np.abs(decoded - values).max() <= 8  # masked at 6 bits, 64 came back as 0


@pytest.mark.parametrize("decoder", ["imagecodecs-jpeg", "pillow", "pylibjpeg-libjpeg"])
def test_narrow_rgb_is_converted_at_the_stream_precision(
    codecs: CodecManager, decoder: str
) -> None:
    """6-bit RGB coded at P = 8 is YCbCr around 128 (T.871): every decoder converts it so."""
    codecs.register(pillow, "pillow")
    require_backend(JPEG)
    native = smooth_frame("u1", 3, bits=6)
    encoded = codecs.encode(native, "JPEGBaseline8Bit", codec=JPEG.name)
    assert jpeg_parameters(bytes(encoded.data)).precision == 8
    decoded = codecs.decode(encoded, codec=decoder)
    assert decoded.info.photometric_interpretation == "RGB"
    assert psnr(decoded.array, native.array, 6) >= 30
